"""The bridge between the training engine (on its own QThread) and the GUI.

The engine is a plain object; here a small worker ``QObject`` is moved to a ``QThread`` and
calls ``Engine.run()`` there (the superqt / napari worker pattern: ``moveToThread`` →
``started`` → work → ``done`` → ``quit``). The engine writes its records into a thread-safe
``QueueSink``; the GUI thread drains that queue on a timer (20 Hz), never through one signal
per step, and hands each batch to the views as one ``RunUpdate``. Failures of any kind — a
data error, a diverged run, running out of memory, an unexpected exception — end as a
``RunEndRecord`` with status "failed" and a message, and the bridge is ready for the next run.

Control (``pause``, ``resume``, ``stop``) goes straight to the engine, which is thread-safe
and checks its flags once per step. ``shutdown`` stops cooperatively and waits for the thread,
which is what closing the window needs: a ``QThread`` destroyed while running aborts Python.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ...train.config import TrainConfig
from ...train.records import (
    DiagnosisRecord,
    EpochRecord,
    PreviewRecord,
    RunEndRecord,
    RunStartRecord,
    StateRecord,
    StepRecord,
)
from ...train.sinks import QueueSink

DRAIN_MS = 50
MAX_RECORDS_PER_DRAIN = 5000  # bounds the work of one timer tick after a burst

if TYPE_CHECKING:  # the engine (torch) is imported when a run starts
    from ...train import Engine

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"


@dataclass
class RunUpdate:
    """The records that arrived since the last drain, sorted by kind (order kept)."""

    start: RunStartRecord | None = None
    steps: list[StepRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    diagnoses: list[DiagnosisRecord] = field(default_factory=list)
    preview: PreviewRecord | None = None  # the latest only: each replaces the one before
    state: str | None = None
    end: RunEndRecord | None = None

    def add(self, record: Any) -> None:
        if isinstance(record, StepRecord):
            self.steps.append(record)
        elif isinstance(record, EpochRecord):
            self.epochs.append(record)
        elif isinstance(record, StateRecord):
            self.state = record.state
        elif isinstance(record, RunStartRecord):
            self.start = record
        elif isinstance(record, RunEndRecord):
            self.end = record
        elif isinstance(record, DiagnosisRecord):
            self.diagnoses.append(record)
        elif isinstance(record, PreviewRecord):
            self.preview = record

    def __bool__(self) -> bool:
        return bool(self.start or self.steps or self.epochs or self.state or self.end
                    or self.diagnoses or self.preview)


class _Worker(QObject):
    """Runs one engine on the thread it was moved to; ``done(end, error)`` when it returns."""

    done = Signal(object, str)

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    @Slot()
    def run(self) -> None:
        end, error = None, ""
        try:
            end = self.engine.run()
        # Anything the engine did not turn into a failed run (a bug, a broken sink).
        except Exception as exc:
            error = describe_exception(exc)
        finally:
            try:
                self.engine.close()
            except Exception as exc:  # closing sinks must not hide the run's end
                error = error or describe_exception(exc)
        self.done.emit(end, error)
        QThread.currentThread().quit()  # from the worker itself: no round trip through the GUI


def describe_exception(exc: BaseException) -> str:
    """A one-paragraph message for an unexpected exception, with where it happened."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (in {Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
    return f"Training stopped by an unexpected error: {type(exc).__name__}: {exc}{where}."


class TrainingBridge(QObject):
    """Starts and controls one training run at a time.

    Signals
    -------
    updated(RunUpdate)
        New records, at most every ``DRAIN_MS`` milliseconds.
    finished(RunEndRecord)
        The run ended (finished, stopped or failed) and its thread is gone.
    state_changed(str)
        idle, starting, running, paused or stopping.
    """

    updated = Signal(object)
    finished = Signal(object)
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None, drain_ms: int = DRAIN_MS):
        super().__init__(parent)
        self.engine: Engine | None = None
        self.sink = QueueSink()
        self.suggested_lr: float | None = None  # the LR finder's, for the "lr far" diagnosis
        self.state = IDLE
        self.last_end: RunEndRecord | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._worker_result: tuple[Any, str] | None = None
        self._timer = QTimer(self, interval=drain_ms)
        self._timer.timeout.connect(self.drain)

    # ----- control ----------------------------------------------------------------------------
    def start(self, network: Any, config: TrainConfig, run_dir: str | Path | None = None,
              resume_from: str | Path | None = None) -> Engine:
        """Make an engine and run it on a new thread. Raises ``ConfigError`` (and the
        engine's other set-up errors) at once, before any thread exists."""
        if self.is_active():
            raise RuntimeError("a training run is already in progress")
        from ...train.engine import Engine

        self.sink = QueueSink()
        self.engine = Engine(network, config, [self.sink], run_dir, resume_from=resume_from,
                             suggested_lr=self.suggested_lr)
        self._worker_result = None
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self._worker = _Worker(self.engine)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.done.connect(self._on_worker_done)
        self._thread.finished.connect(self._on_thread_finished)
        self._set_state(STARTING)
        self._timer.start()
        self._thread.start()
        return self.engine

    def pause(self) -> None:
        if self.engine is not None and self.state in (STARTING, RUNNING):
            self.engine.pause()

    def resume(self) -> None:
        if self.engine is not None and self.state == PAUSED:
            self.engine.resume()

    def stop(self) -> None:
        if self.engine is not None and self.is_active():
            self.engine.stop()
            self._set_state(STOPPING)

    def is_active(self) -> bool:
        """True from ``start`` until ``finished`` (the thread may still be winding down)."""
        return self._thread is not None

    def shutdown(self) -> None:
        """Stop the run, wait for its thread and deliver what is left (closing the window)."""
        if self._thread is None:
            return
        self.stop()
        self._thread.wait()
        self._on_thread_finished()

    # ----- records ----------------------------------------------------------------------------
    @Slot()
    def drain(self, limit: int | None = MAX_RECORDS_PER_DRAIN) -> RunUpdate:
        """Take what has arrived (at most ``limit`` records) and announce it."""
        update = RunUpdate()
        for record in self.sink.drain(limit):
            update.add(record)
        if update.start is not None and self.state == STARTING:
            self._set_state(RUNNING)
        if update.state is not None and self.state != STOPPING:
            self._set_state(PAUSED if update.state == "paused" else RUNNING)
        if update:
            self.updated.emit(update)
        return update

    def _on_worker_done(self, end: Any, error: str) -> None:
        self._worker_result = (end, error)

    @Slot()
    def _on_thread_finished(self) -> None:
        """Deliver every remaining record, then the end of the run (once per run: after
        ``shutdown`` the queued signal of the same thread finds nothing left to do)."""
        sender = self.sender()
        thread = self._thread
        if thread is None or (isinstance(sender, QThread) and sender is not thread):
            return
        self._thread = None
        thread.wait()  # finished is emitted just before the thread really ends
        self._timer.stop()
        last = RunUpdate()
        while True:
            update = self.drain(limit=None)
            last = update if update.end is not None else last
            if not update:
                break
        end = last.end or self._end_without_record()
        error = self._worker_result[1] if self._worker_result else ""
        if error:  # the worker's message says where the unexpected error happened
            end = dataclasses.replace(end, status="failed", message=error)
        self.last_end = end
        if self._worker is not None:
            self._worker.deleteLater()
        self._worker = None
        thread.deleteLater()
        self._set_state(IDLE)
        self.finished.emit(end)

    def _end_without_record(self) -> RunEndRecord:
        """The engine sent no end record (it raised before its own error handling)."""
        end, error = self._worker_result or (None, "")
        if isinstance(end, RunEndRecord):
            return end
        engine = self.engine
        return RunEndRecord("failed", error or "Training ended without a result.",
                            engine.step if engine else 0, engine.epoch if engine else 0)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
