"""The study queue: trains a study's runs one after another with the training engine.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_text_atomic
from ..locks import hold
from .plan import STATE_FILE, RunSpec, Study, run_dir
from .progress import StudyProgress

DONE, FAILED, STOPPED, SKIPPED = "finished", "failed", "stopped", "existing"
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
    known; ``sinks`` is a function giving extra sinks for each run (a progress line)."""

    def __init__(self, study: Study, directory: str | Path, *,
                 on_progress: Callable[[Progress], None] | None = None,
                 estimates: dict[str, float | None] | None = None,
                 retry_failed: bool = False,
                 sinks: Callable[[RunSpec], list[Any]] | None = None):
        self.study, self.directory = study, Path(directory)
        self.on_progress = on_progress or (lambda progress: None)
        self.estimates = dict(estimates or {})
        self.retry_failed = retry_failed
        self.extra_sinks = sinks or (lambda spec: [])
        self._cancel = threading.Event()
        self._engine: Any = None
        self.state = self._read_state()
        self.progress: StudyProgress | None = None  # made by run(), from the state

    # ----- control ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop after the current step (the run keeps a resumable last.pt) and start no more."""
        self._cancel.set()
        engine = self._engine
        if engine is not None:
            engine.stop()

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
        """pending, existing, finished, failed or stopped (resumable) for one run."""
        if spec.existing:
            return SKIPPED
        recorded = self.state["runs"].get(spec.name, {}).get("status")
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
                self.directory, estimates=self.estimates)
            return self._run_all()

    def _run_all(self) -> Outcome:
        statuses: dict[str, str] = {}
        for index, spec in enumerate(self.study.runs):
            status = self.status(spec)
            if self.cancelled:
                statuses[spec.name] = status
                continue
            if status in (DONE, SKIPPED) or (status == FAILED and not self.retry_failed):
                statuses[spec.name] = status
                self._report("skip", index, spec, status=status,
                             message=self.state["runs"].get(spec.name, {}).get("error", ""))
                continue
            statuses[spec.name] = self._train(index, spec, resume=status == STOPPED)
        return Outcome(statuses, self.cancelled)

    def _train(self, index: int, spec: RunSpec, resume: bool) -> str:
        folder = run_dir(self.directory, spec)
        self.progress.began(spec.name)
        self._report("start", index, spec, message="resuming" if resume else "")
        began = time.monotonic()
        step = None
        try:
            end = self._run_engine(index, spec, folder, resume)
            status, message, step = end.status, end.message, end.step
        except KeyboardInterrupt:
            self._record(spec.name, status=STOPPED, error="")
            raise
        except Exception as exc:  # any failure of one run must not end the study
            status, message = FAILED, f"{type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - began
        self.progress.ended(spec.name, status, step)
        self.state["measured"] = self.progress.measured()
        self._record(spec.name, status=status, error=message if status == FAILED else "",
                     seconds=round(elapsed, 1), step=self.progress.runs[spec.name].done)
        self._report("end", index, spec, status=status, message=message)
        return status

    def _run_engine(self, index: int, spec: RunSpec, folder: Path, resume: bool) -> Any:
        from ..blocks import CATALOGUE
        from ..graph.project import from_dict
        from ..train.config import TrainConfig
        from ..train.engine import Engine
        from ..train.sinks import CallbackSink

        network = from_dict(spec.graph, CATALOGUE, f"run ‘{spec.name}’")
        config = TrainConfig.from_dict(spec.config)
        sinks = [CallbackSink(self._step_watcher(index, spec)), *self.extra_sinks(spec)]
        engine = Engine(network, config, sinks, folder,
                        resume_from=folder / "last.pt" if resume else None)
        self._engine = engine
        try:
            if self.cancelled:  # a cancel that arrived while the engine was being made
                engine.stop()
            return engine.run()
        finally:
            self._engine = None
            engine.close()

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
