"""Trials and executors: where a study's runs train.

A ``Trial`` is one run of a plan as plain data (picklable: it can go to another process or
another machine). ``run_trial`` trains it with the engine wherever it is called, writing the
normal run directory ``trial.folder`` and passing each telemetry record to ``emit``.

An executor runs trials. The queue (``queue.StudyQueue``) hands it the trials still to train
and a ``TrialEvents``; the executor pulls the next trial from the iterator whenever it has a
free slot and reports back through the events, always from the thread that called ``run``:

    class Executor(Protocol):
        slots: int                     # trials at once
        def run(self, trials: Iterator[Trial], events: TrialEvents) -> None: ...
        def cancel(self) -> None: ...  # any thread: stop every trial (each keeps its last.pt)
                                       # and take no more from the iterator

``InProcess`` is the embedded default: one trial after another, in this thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

FINISHED, FAILED, STOPPED = "finished", "failed", "stopped"
# A sweep's runs on a cluster (``study.search``): ended by ASHA before their last epoch, or
# taken by no trial of a TPE search. Both are final: a resumed study does not train them.
EARLY, UNSEARCHED = "stopped early", "not searched"
FINAL = (EARLY, UNSEARCHED)


@dataclass(frozen=True)
class Trial:
    """One run of a study: ``graph`` and ``config`` as project JSON, ``folder`` its run
    directory, ``resume`` whether to go on from ``folder/last.pt``; ``index`` its place in
    the plan, ``values`` the settings it varies (a sweep's, for a search among its runs)."""

    index: int
    name: str
    label: str
    graph: dict[str, Any]
    config: dict[str, Any]
    folder: str
    resume: bool = False
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended: finished, failed or stopped; ``step`` the last step trained."""

    status: str
    message: str = ""
    step: int | None = None


class TrialEvents(Protocol):
    def started(self, trial: Trial) -> None: ...

    def record(self, trial: Trial, record: Any) -> None: ...

    def ended(self, trial: Trial, end: TrialEnd) -> None: ...


class Executor(Protocol):
    slots: int

    def run(self, trials: Iterator[Trial], events: TrialEvents) -> None: ...

    def cancel(self) -> None: ...


def make_engine(trial: Trial, emit: Callable[[Any], None]) -> Any:
    """The engine that trains ``trial``, its records going to ``emit``."""
    from pathlib import Path

    from ..blocks import CATALOGUE
    from ..graph.project import from_dict
    from ..train.config import TrainConfig
    from ..train.engine import Engine
    from ..train.sinks import CallbackSink

    network = from_dict(trial.graph, CATALOGUE, f"run ‘{trial.name}’")
    config = TrainConfig.from_dict(trial.config)
    folder = Path(trial.folder)
    return Engine(network, config, [CallbackSink(emit)], folder,
                  resume_from=folder / "last.pt" if trial.resume else None)


def finish(engine: Any) -> TrialEnd:
    """Run ``engine`` to its end and close it; any failure is a failed trial."""
    try:
        end = engine.run()
        return TrialEnd(end.status, end.message, end.step)
    except Exception as exc:  # one run's failure must not end the study
        return TrialEnd(FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        engine.close()


def run_trial(trial: Trial, emit: Callable[[Any], None],
              stopped: Callable[[], bool] = lambda: False,
              on_engine: Callable[[Any], None] = lambda engine: None) -> TrialEnd:
    """Train ``trial`` here; ``on_engine`` gets the engine (to stop it from another thread),
    and a trial ``stopped`` before it began is stopped at once (it keeps what it had)."""
    try:
        engine = make_engine(trial, emit)
    except Exception as exc:
        return TrialEnd(FAILED, f"{type(exc).__name__}: {exc}")
    on_engine(engine)
    if stopped():
        engine.stop()
    return finish(engine)


class InProcess:
    """Trains trials one after another in the calling thread (the embedded default)."""

    slots = 1

    def __init__(self) -> None:
        self._cancelled = False
        self._engine: Any = None

    def run(self, trials: Iterator[Trial], events: TrialEvents) -> None:
        for trial in trials:
            if self._cancelled:
                return
            events.started(trial)
            end = run_trial(trial, lambda record, t=trial: events.record(t, record),
                            lambda: self._cancelled, self._hold)
            self._engine = None
            events.ended(trial, end)

    def _hold(self, engine: Any) -> None:
        self._engine = engine

    def cancel(self) -> None:
        self._cancelled = True
        engine = self._engine
        if engine is not None:
            engine.stop()
