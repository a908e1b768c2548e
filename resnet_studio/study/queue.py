"""The study queue: trains a study's runs with the training engine, one after another or,
with another executor (``trial``), several at once.

    queue = StudyQueue(study, "studies/degradation", on_progress=print)
    outcome = queue.run()           # blocks; queue.cancel() from another thread stops it

Resumable: what each run came to is kept in ``state.json`` and in its run directory, so a
second ``run()`` (after a crash, a cancel or closing the app) skips finished runs, resumes an
interrupted one from its ``last.pt`` and starts the others. A failed run is recorded with
its error and the queue goes on; it is tried again only with ``retry_failed``. Progress
reports carry the study's progress as one number (``study.progress``: it never moves back
on Stop or Resume) and the run's and the whole study's estimated time left.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_text_atomic
from ..locks import hold
from .plan import STATE_FILE, RunSpec, Study, run_dir
from .progress import StudyProgress
from .trial import FAILED, FINAL, STOPPED, Executor, InProcess, Trial, TrialEnd

DONE, SKIPPED = "finished", "existing"
LOCK_HINT = "wait for it, or give the study another directory (--out)"


@dataclass(frozen=True)
class Progress:
    """One progress report. ``event`` is start | step | end | skip; ``status`` the run's
    status after an end (finished, failed, stopped); ETAs in seconds, None while unknown."""

    event: str
    index: int
    count: int
    name: str
    label: str
    step: int = 0
    total_steps: int = 0
    run_eta: float | None = None
    study_eta: float | None = None
    status: str = ""
    message: str = ""
    fraction: float = 0.0  # of the whole study's work (``StudyProgress.fraction``)


@dataclass(frozen=True)
class Outcome:
    """What ``run()`` did: each run's status, and whether a cancel ended it early."""

    statuses: dict[str, str]
    cancelled: bool

    @property
    def failed(self) -> list[str]:
        return [name for name, status in self.statuses.items() if status == FAILED]


class StudyQueue:
    """Runs ``study`` in ``directory``. ``estimates`` (seconds per run name, from
    ``estimate.estimate``) make the whole-study ETA available before a run's own pace is
    known; ``sinks`` is a function giving extra sinks for each run (a progress line), fed on
    the queue's thread; ``executor`` runs the trials (``trial.InProcess`` when not given)."""

    def __init__(self, study: Study, directory: str | Path, *,
                 on_progress: Callable[[Progress], None] | None = None,
                 estimates: dict[str, float | None] | None = None,
                 retry_failed: bool = False,
                 sinks: Callable[[RunSpec], list[Any]] | None = None,
                 executor: Executor | None = None):
        self.study, self.directory = study, Path(directory)
        self.on_progress = on_progress or (lambda progress: None)
        self.estimates = dict(estimates or {})
        self.retry_failed = retry_failed
        self.extra_sinks = sinks or (lambda spec: [])
        self.executor: Executor = executor or InProcess()
        self._cancel = threading.Event()
        self._sinks: dict[str, list[Any]] = {}
        self._began: dict[str, float] = {}
        self._statuses: dict[str, str] = {}
        self.state = self._read_state()
        self.progress: StudyProgress | None = None  # made by run(), from the state

    # ----- control ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop after the current step (the run keeps a resumable last.pt) and start no more."""
        self._cancel.set()
        self.executor.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # ----- state ------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any]:
        from ..train.rundir import read_json  # numpy: not on the way to --help

        data = read_json(self.directory / STATE_FILE)  # guarded; None when unreadable
        runs = data.get("runs") if isinstance(data, dict) else None
        measured = data.get("measured") if isinstance(data, dict) else None
        return {"runs": runs if isinstance(runs, dict) else {},
                "measured": measured if isinstance(measured, dict) else {}}

    def _record(self, name: str, **values: Any) -> None:
        self.state["runs"].setdefault(name, {}).update(values)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.directory / STATE_FILE, json.dumps(self.state, indent=1) + "\n")

    def status(self, spec: RunSpec) -> str:
        """pending, existing, finished, failed, stopped (resumable), or stopped early / not
        searched (a sweep's on a cluster: final) for one run."""
        if spec.existing:
            return SKIPPED
        recorded = self.state["runs"].get(spec.name, {}).get("status")
        if recorded in FINAL:
            return recorded
        folder = run_dir(self.directory, spec)
        if recorded == DONE and _run_status(folder) == DONE:
            return DONE
        if recorded == FAILED:
            return FAILED
        return STOPPED if (folder / "last.pt").exists() else "pending"

    # ----- the queue --------------------------------------------------------------------------
    def run(self) -> Outcome:
        """Train every run that is not done yet, in plan order. A queue once cancelled stays
        cancelled (a cancel may arrive before the thread running this starts); make a new
        queue to go on. The study directory is locked meanwhile (each run also locks its own
        directory): a study another process is running raises ``LockBusy`` naming it."""
        with hold(self.directory, hint=LOCK_HINT):
            self.state = self._read_state()  # as the previous holder left it
            self.progress = StudyProgress.of(
                self.study, self.state, {s.name: self.status(s) for s in self.study.runs},
                self.directory, estimates=self.estimates, slots=self.executor.slots)
            return self._run_all()

    def _run_all(self) -> Outcome:
        statuses: dict[str, str] = {}
        self._began: dict[str, float] = {}
        self._statuses = statuses
        try:
            self.executor.run(self._trials(statuses), self)
        except KeyboardInterrupt:
            for name in self._began:
                self._record(name, status=STOPPED, error="")
            raise
        for spec in self.study.runs:  # those a cancel left untouched
            statuses.setdefault(spec.name, self.status(spec))
        return Outcome(statuses, self.cancelled)

    def _trials(self, statuses: dict[str, str]) -> Iterator[Trial]:
        """The runs still to train, as trials, in plan order; a run that is done (or failed,
        without ``retry_failed``) is reported as skipped instead."""
        for index, spec in enumerate(self.study.runs):
            if self.cancelled:
                return
            status = self.status(spec)
            if status in (DONE, SKIPPED, *FINAL) or (status == FAILED
                                                      and not self.retry_failed):
                statuses[spec.name] = status
                self._report("skip", index, spec, status=status,
                             message=self.state["runs"].get(spec.name, {}).get("error", ""))
                continue
            yield Trial(index, spec.name, spec.label, spec.graph, spec.config,
                        str(run_dir(self.directory, spec)), resume=status == STOPPED,
                        values=dict(spec.values))

    # ----- the executor's events (on the thread running the queue) ----------------------------
    def started(self, trial: Trial) -> None:
        from ..train.sinks import CallbackSink  # numpy: not on the way to --help

        spec = self.study.runs[trial.index]
        self._began[trial.name] = time.monotonic()
        self._sinks[trial.name] = [CallbackSink(self._step_watcher(trial.index, spec)),
                                   *self.extra_sinks(spec)]
        self.progress.began(spec.name)
        self._report("start", trial.index, spec, message="resuming" if trial.resume else "")

    def record(self, trial: Trial, record: Any) -> None:
        for sink in self._sinks.get(trial.name, ()):
            sink.on_record(record)

    def ended(self, trial: Trial, end: TrialEnd) -> None:
        spec = self.study.runs[trial.index]
        for sink in self._sinks.pop(trial.name, ()):
            sink.close()
        elapsed = time.monotonic() - self._began.pop(trial.name, time.monotonic())
        self.progress.ended(spec.name, end.status, end.step)
        self.state["measured"] = self.progress.measured()
        self._record(spec.name, status=end.status,
                     error=end.message if end.status == FAILED else "",
                     seconds=round(elapsed, 1), step=self.progress.runs[spec.name].done)
        self._statuses[spec.name] = end.status
        self._report("end", trial.index, spec, status=end.status, message=end.message)

    # ----- progress ---------------------------------------------------------------------------
    def _step_watcher(self, index: int, spec: RunSpec) -> Callable[[Any], None]:
        from ..train.records import RunStartRecord, StepRecord

        progress = self.progress
        total = {"steps": 0}

        def watch(record: Any) -> None:
            if isinstance(record, RunStartRecord):
                total["steps"] = record.total_steps
                progress.started(spec.name, record.resumed_step, record.total_steps)
            elif isinstance(record, StepRecord) and total["steps"]:
                progress.stepped(spec.name, record.step)
                self._report("step", index, spec, step=record.step, total_steps=total["steps"],
                             run_eta=progress.run_eta(spec.name))
        return watch

    def _report(self, event: str, index: int, spec: RunSpec, **values: Any) -> None:
        progress = self.progress
        if progress is not None:
            values.setdefault("study_eta", progress.study_eta())
            values.setdefault("fraction", progress.fraction)
        self.on_progress(Progress(event, index, len(self.study.runs), spec.name, spec.label,
                                  **values))


def progress_of(study: Study, directory: str | Path,
                macs: dict[str, float] | None = None) -> StudyProgress:
    """The progress of ``study`` as its directory holds it (what a queue would start from);
    ``macs`` per run as ``StudyProgress.of`` takes them."""
    queue = StudyQueue(study, directory)
    return StudyProgress.of(study, queue.state, {s.name: queue.status(s) for s in study.runs},
                            queue.directory, macs)


def _run_status(folder: Path) -> str | None:
    from ..train.rundir import read_json

    data = read_json(folder / "status.json")
    return data.get("status") if isinstance(data, dict) else None
