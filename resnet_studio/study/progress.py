"""A study's progress as one number, and the time it has left.

Progress is work done / work planned over all runs of the study. A run's work is its
optimiser steps, each weighted by its relative cost (MACs per image × batch size, from the
plan, normalised to a mean of 1), so that the bar moves at the pace of time: a 110-layer
run's steps count for more than an 8-layer run's. A finished, failed or existing run counts
as complete; a stopped run counts the steps it trained (Resume starts from them); a pending
run counts nothing. Stop therefore leaves the number where it was, and Resume goes on from
it.

The time left is each unfinished run's steps left times its measured seconds per step (over
every run of the study so far, kept in ``state.json`` across Stop and Resume): a run not
timed yet takes the pace of the runs that were, scaled by its step cost — proportionally
while one cost has been timed, along the line through the timed runs (a fixed overhead per
step plus a share per unit of cost) once several have — plus the mean measured
set-up (from a run's start to its first step: loading data, building the network) for each
run not started yet; before anything is measured, the plan's estimate (``study.estimate``)
of what is left. Work is timed between step reports of one run, so set-up does not inflate
the pace, and a stopped study's idle time never counts.

With ``slots`` runs training at once (``study.parallel``) each run's pace is measured while
it shares the machine, and the study's time left is that of the runs laid out over the
slots: the runs in progress keep theirs, each run still to start takes the first slot that
frees (``makespan``).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .plan import RunSpec, Study, run_dir

COMPLETE = frozenset({"finished", "failed", "existing", "stopped early", "not searched"})


@dataclass
class RunWork:
    """One run's share: ``planned`` steps (None until known), ``done`` steps, its weight."""

    planned: int | None
    weight: float = 1.0
    done: int = 0
    complete: bool = False


class StudyProgress:
    """Progress and time left of ``study``; fed by the queue (``started``, ``stepped``,
    ``ended``) on whichever thread runs it. ``estimates`` are the plan's seconds per run;
    ``measured`` what a previous session measured (``measured()``); ``slots`` the runs that
    train at once; ``clock`` is for tests."""

    def __init__(self, runs: dict[str, RunWork], estimates: dict[str, float | None] | None = None,
                 measured: dict[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic, slots: int = 1):
        self.runs, self.estimates, self.slots = runs, dict(estimates or {}), max(1, slots)
        measured = measured or {}
        self.timed: dict[str, list[float]] = {  # run → [seconds, steps] timed
            name: [float(v[0]), float(v[1])] for name, v in (measured.get("runs") or {}).items()
            if name in runs and isinstance(v, list) and len(v) == 2}
        self.setup_seconds = float(measured.get("setup_seconds") or 0.0)
        self.setups = int(measured.get("setups") or 0)
        self.clock = clock
        self._last: dict[str, tuple[int, float]] = {}  # run → its last step report, when
        self._setup: dict[str, float] = {}  # the runs being set up, since when
        self.running: set[str] = set()

    # ----- building -----------------------------------------------------------------------------
    @classmethod
    def of(cls, study: Study, state: dict[str, Any] | None = None,
           statuses: dict[str, str] | None = None, directory: Path | None = None,
           macs: dict[str, float] | None = None, **kwargs: Any) -> StudyProgress:
        """The progress of ``study`` as ``state`` (the queue's ``state.json``) and
        ``statuses`` (each run's status, ``StudyQueue.status``) leave it; a stopped run's
        steps come from the state, else from its run directory under ``directory``.
        ``macs`` per run, when already counted, spare counting them again."""
        state, statuses = state or {}, statuses or {}
        weights = step_weights(study.runs, macs)
        recorded = state.get("runs", {})
        runs = {}
        for spec in study.runs:
            work = runs[spec.name] = RunWork(planned_steps(spec), weights[spec.name])
            status = statuses.get(spec.name)
            work.complete = status in COMPLETE
            step = recorded.get(spec.name, {}).get("step")
            if step is None and status == "stopped" and directory is not None:
                step = stopped_steps(run_dir(directory, spec))
            work.done = int(step or 0)
        measured = state.get("measured")
        return cls(runs, measured=measured if isinstance(measured, dict) else None, **kwargs)

    # ----- events -------------------------------------------------------------------------------
    def began(self, name: str) -> None:
        """The queue starts run ``name``: its set-up is timed until its first step report."""
        self._setup[name] = self.clock()
        self.running.add(name)

    def started(self, name: str, first_step: int, total_steps: int) -> None:
        """A run's engine starts (``first_step`` steps already trained, ``total_steps`` in
        all); the time to its first step is set-up, not training, and is not measured. (A
        failed run retried with ``retry_failed`` starts again from nothing.)"""
        run = self.runs[name]
        run.planned, run.done, run.complete = total_steps, first_step, False
        self._last.pop(name, None)

    def stepped(self, name: str, step: int) -> None:
        """A run reports ``step``; the time since its previous report is measured work."""
        now, run = self.clock(), self.runs[name]
        began = self._setup.pop(name, None)
        if began is not None:
            self.setup_seconds += now - began
            self.setups += 1
        last = self._last.get(name)
        if last is not None and step > last[0]:
            timed = self.timed.setdefault(name, [0.0, 0.0])
            timed[0] += now - last[1]
            timed[1] += step - last[0]
        self._last[name] = (step, now)
        run.done = max(run.done, step)

    def ended(self, name: str, status: str, step: int | None = None) -> None:
        """A run ends (or is skipped): complete unless stopped, when it keeps its steps."""
        run = self.runs[name]
        run.complete = status in COMPLETE
        if step is not None:
            run.done = max(run.done, step)
        self._last.pop(name, None)
        self._setup.pop(name, None)
        self.running.discard(name)

    # ----- the numbers --------------------------------------------------------------------------
    @property
    def fraction(self) -> float:
        """Work done / work planned, 0 … 1."""
        planned = done = 0.0
        for run in self.runs.values():
            steps = self._planned(run)
            planned += steps * run.weight
            done += (steps if run.complete else min(run.done, steps)) * run.weight
        return done / planned if planned else 1.0

    def study_eta(self) -> float | None:
        """Seconds left for the whole study (None while neither measured nor estimated): the
        runs left laid out over the slots, those in progress first."""
        left = self._eta(list(self.runs))
        if left is None:
            return None
        return makespan([s for n, s in left if n in self.running],
                        [s for n, s in left if n not in self.running], self.slots)

    def run_eta(self, name: str) -> float | None:
        left = self._eta([name])
        return None if left is None else sum(s for _, s in left)

    def measured(self) -> dict[str, float]:
        """What ``state.json`` keeps so that a resumed study knows its pace at once."""
        return {"runs": {name: list(v) for name, v in self.timed.items()},
                "setup_seconds": self.setup_seconds, "setups": self.setups}

    def _eta(self, names: list[str]) -> list[tuple[str, float]] | None:
        """Seconds left of each unfinished run of ``names``, in plan order."""
        left = [(name, run) for name, run in self.runs.items()
                if name in names and not run.complete]
        pace = self._pace()
        if pace is not None:
            setup = self.setup_seconds / self.setups if self.setups else 0.0
            return [(name, pace(name, run.weight) * self._left(run)
                     + (setup if run.done == 0 else 0.0)) for name, run in left]
        estimates = [self.estimates.get(name) for name, _ in left]
        if any(e is None for e in estimates):
            return None
        return [(name, e * self._left(run) / max(self._planned(run), 1))
                for e, (name, run) in zip(estimates, left)]

    def _pace(self) -> Callable[[str, float], float] | None:
        """Seconds per step of a run (by name and step cost); None while nothing is timed."""
        timed = {name: v for name, v in self.timed.items() if v[1] > 0}
        if not timed:
            return None
        own = {name: v[0] / v[1] for name, v in timed.items()}
        line = _fit([(self.runs[n].weight, own[n], v[1]) for n, v in timed.items()])
        return lambda name, weight: own.get(name, line[0] + line[1] * weight)

    def _left(self, run: RunWork) -> float:
        return max(self._planned(run) - run.done, 0)

    def _planned(self, run: RunWork) -> int:
        """A run's steps; one whose data size is known only once loaded is taken to be as
        long as the known ones (the runs of a study share their data)."""
        if run.planned is not None:
            return run.planned
        known = [r.planned for r in self.runs.values() if r.planned is not None]
        return round(sum(known) / len(known)) if known else 1


def makespan(running: Iterable[float], waiting: Iterable[float], slots: int) -> float:
    """Seconds until every run is done when ``slots`` train at once: each of the
    ``running`` keeps a slot for its seconds, each of the ``waiting`` (in order) takes the
    slot that frees first. With one slot, the sum."""
    ends = sorted(running)
    free = [0.0] * max(slots - len(ends), 0) + ends
    heapq.heapify(free)
    for seconds in waiting:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free, default=0.0)


def _fit(points: list[tuple[float, float, float]]) -> tuple[float, float]:
    """(overhead, seconds per unit of cost) of a step from (cost, seconds per step, steps)
    of the timed runs: least squares weighted by steps; through the origin while fewer
    than two costs were timed, or when the line would give a negative part."""
    steps = sum(n for _, _, n in points)
    proportional = (0.0, sum(s * n for _, s, n in points) / sum(w * n for w, _, n in points))
    if len({w for w, _, _ in points}) < 2:
        return proportional
    mean_w = sum(w * n for w, _, n in points) / steps
    mean_s = sum(s * n for _, s, n in points) / steps
    spread = sum(n * (w - mean_w) ** 2 for w, _, n in points)
    slope = sum(n * (w - mean_w) * (s - mean_s) for w, s, n in points) / spread
    overhead = mean_s - slope * mean_w
    return (overhead, slope) if slope >= 0 and overhead >= 0 else proportional


def planned_steps(spec: RunSpec) -> int | None:
    from .estimate import run_steps

    try:
        return run_steps(spec.config)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def step_weights(runs: list[RunSpec], macs: dict[str, float] | None = None
                 ) -> dict[str, float]:
    """Each run's cost of one step relative to the others (mean 1): MACs per image × batch
    (``macs`` when given, else counted). A run whose network cannot be analysed (it will
    fail when it starts) weighs the mean."""
    macs = _macs(runs) if macs is None else macs
    costs = {spec.name: macs[spec.name] * spec.config.get("batch_size", 1)
             for spec in runs if macs.get(spec.name)}
    mean = sum(costs.values()) / len(costs) if costs else 1.0
    return {spec.name: costs.get(spec.name, mean) / mean for spec in runs}


def _macs(runs: list[RunSpec]) -> dict[str, float]:
    """MACs per image of each run's network (all at once: the runs share their blocks)."""
    from .results import _costs

    try:
        return {name: float(cost[1]) for name, cost in _costs(runs).items()}
    except Exception:  # some graph does not build (that run fails on its own when started)
        out = {}
        for spec in runs:
            try:
                out[spec.name] = float(_costs([spec])[spec.name][1])
            except Exception:
                continue
        return out


def stopped_steps(folder: Path) -> int:
    """Steps a run directory holds (for a study stopped before steps were kept in state)."""
    from .results import read_run

    steps = read_run(folder).step
    return int(steps[-1]) if len(steps) else 0
