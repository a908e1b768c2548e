"""A study on a worker thread: ``StudyQueue.run()`` on a ``QThread``, its progress reports
as queued signals, cancel, and a cooperative shutdown for closing the window.

The queue is a plain object; here a small ``QObject`` is moved to a ``QThread`` and calls
``run()`` there (``moveToThread`` → ``started`` → work → ``quit``, as ``training.bridge``
does). The queue's progress callback runs on the worker thread and only emits a signal, which
Qt queues to the GUI thread. The running run's telemetry records go into a thread-safe queue
that the GUI thread drains on a timer (as ``training.bridge`` does, never one signal per
record) and hands on as ``recorded(name, records)``, for the view's live curves. With
several runs at once (``start(..., at_once=N)``) the records of each come, tagged with its
name, through the same queue; so do a Ray cluster's (``start(..., cluster=ADDRESS)``).
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ...locks import LockBusy, hold
from ...study.plan import RunSpec, Study, StudyError
from ...study.queue import LOCK_HINT, Outcome, StudyQueue
from ...train.sinks import CallbackSink
from ..train.bridge import describe_exception

DRAIN_MS = 100


def make_executor(at_once: int, cluster: str | None = None,
                  directory: Path | None = None) -> Any:
    """In-process for one run at a time, else child processes (``study.parallel``); on the
    Ray cluster at address ``cluster`` (``at_once`` then caps the runs training together),
    a Ray Tune experiment whose own files go to ``directory/.tune`` meanwhile."""
    if cluster is not None:
        return OnCluster(cluster, at_once, None if directory is None else directory / ".tune")
    if at_once <= 1:
        return None
    from ...study.parallel import Parallel

    return Parallel(at_once)


class OnCluster:
    """``study.cluster.RayTune``, made on the thread that runs the study: importing Ray
    takes seconds and connecting to a cluster more (a silent address up to
    ``ray_support.CONNECT_SECONDS``), and neither may hold the GUI thread. A bad address, or
    Ray missing, ends the study with a ``StudyError`` of one line."""

    def __init__(self, address: str, slots: int, storage: Path | None):
        self.address, self.slots, self.storage = address, slots, storage
        self._executor: Any = None
        self._cancelled = False

    def run(self, trials: Any, events: Any) -> None:
        try:
            from ...study.cluster import RayTune
        except ImportError as exc:
            if (exc.name or "").split(".")[0] not in ("ray", "optuna"):
                raise
            raise StudyError("Running on a Ray cluster needs Ray: "
                             "pip install 'resnet-studio[cluster]'") from None
        self._executor = RayTune(self.address, slots=self.slots, storage=self.storage)
        if self._cancelled:
            self._executor.cancel()
        self._executor.run(trials, events)

    def cancel(self) -> None:
        self._cancelled = True
        if self._executor is not None:
            self._executor.cancel()


class _Runner(QObject):
    """Runs one queue on the thread it was moved to; the result is kept on the object, so
    that ``shutdown`` finds it right after ``wait()`` without a round trip of signals."""

    progressed = Signal(object)

    def __init__(self, queue: StudyQueue):
        super().__init__()
        self.queue = queue
        self.outcome: Outcome | None = None
        self.error = ""
        queue.on_progress = self.progressed.emit  # from the worker thread: queued to the GUI

    @Slot()
    def run(self) -> None:
        try:
            self.outcome = self.queue.run()
        except (LockBusy, StudyError) as exc:  # another process runs this study; a
            self.error = str(exc)                 # cluster that cannot be reached
        except Exception as exc:  # the queue itself broke; tell the GUI
            self.error = describe_exception(exc)
        QThread.currentThread().quit()


class StudyWorker(QObject):
    """Runs one study at a time.

    Signals
    -------
    progressed(Progress)
        A report of the queue (run start, step, end, skip), on the GUI thread.
    recorded(str, list)
        The telemetry records of run ``name`` that arrived since the last drain, in order.
    finished(Outcome | None, str)
        The study ended (all done, cancelled, or broken with the message) and its thread
        is gone.
    """

    progressed = Signal(object)
    recorded = Signal(str, object)
    finished = Signal(object, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.queue: StudyQueue | None = None
        self.directory: Path | None = None
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        self._records: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._drain_timer = QTimer(self, interval=DRAIN_MS)
        self._drain_timer.timeout.connect(self.drain)

    def is_active(self) -> bool:
        """True from ``start`` until ``finished`` is emitted."""
        return self._thread is not None

    def start(self, study: Study, directory: Path, estimates: dict[str, Any] | None = None,
              retry_failed: bool = False, at_once: int = 1, cluster: str | None = None
              ) -> None:
        """Run ``study`` in ``directory``, ``at_once`` runs at the same time (each then in a
        process of its own, ``study.parallel``), or on the Ray cluster at ``cluster``."""
        if self.is_active():
            raise RuntimeError("a study is already running")
        self.directory = Path(directory)
        with hold(self.directory, hint=LOCK_HINT):  # LockBusy: another process runs it
            study.save(self.directory)
        self.queue = StudyQueue(study, self.directory, estimates=estimates,
                                retry_failed=retry_failed, sinks=self._sinks,
                                executor=make_executor(at_once, cluster, self.directory))
        self._runner = _Runner(self.queue)
        self._thread = QThread(self)
        self._thread.setObjectName("study")
        self._runner.moveToThread(self._thread)
        self._runner.progressed.connect(self.progressed)
        self._thread.started.connect(self._runner.run)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()
        self._drain_timer.start()

    def _sinks(self, spec: RunSpec) -> list[Any]:
        """Each run's records into the queue the GUI thread drains (on the engine's thread)."""
        return [CallbackSink(lambda record, name=spec.name: self._records.put((name, record)))]

    def drain(self) -> None:
        """Emit what arrived, one ``recorded`` per run and drain."""
        batches: list[tuple[str, list[Any]]] = []
        while True:
            try:
                name, record = self._records.get_nowait()
            except queue.Empty:
                break
            if not batches or batches[-1][0] != name:
                batches.append((name, []))
            batches[-1][1].append(record)
        for name, records in batches:
            self.recorded.emit(name, records)

    def cancel(self) -> None:
        """Stop after the current step (the run keeps a resumable last.pt); start no more."""
        if self.queue is not None and self.is_active():
            self.queue.cancel()

    def shutdown(self) -> None:
        """Cancel and wait for the thread (closing: a running QThread aborts Python)."""
        if self._thread is None:
            return
        self.cancel()
        self._thread.wait()
        self._on_thread_finished()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, runner = self._thread, self._runner
        sender = self.sender()
        if thread is None or runner is None or (isinstance(sender, QThread)
                                                and sender is not thread):
            return  # already delivered by ``shutdown`` (or a previous study's late signal)
        self._thread = self._runner = None
        thread.wait()  # finished is emitted just before the thread really ends
        self._drain_timer.stop()
        self.drain()
        runner.deleteLater()
        thread.deleteLater()
        self.finished.emit(runner.outcome, runner.error)
