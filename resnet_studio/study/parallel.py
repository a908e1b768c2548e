"""Several trials at once on this machine, each in a child process of its own.

    executor = Parallel(2)                          # two trials at once, CPU threads halved
    executor = Parallel(4, gpus_per_trial=0.25)     # four small networks on one GPU
    StudyQueue(study, directory, executor=executor).run()

Each slot is a worker process (``spawn``: a fresh interpreter, so that CUDA and the thread
pools start clean in every child) that trains one trial after another with
``trial.run_trial``: the normal run directory is written by the child, and each telemetry
record goes back to the driver over the worker's pipe. The driver calls the ``TrialEvents``
on the thread that called ``run``. A pipe per worker, not one queue shared by all: a child
killed while it writes can break only its own channel (a shared queue's write lock would
stay held by the dead process and block the others).

A worker's devices are fixed before torch is first imported in it: ``CUDA_VISIBLE_DEVICES``
by slot when ``gpus_per_trial`` is given (0.25: slots 0–3 share GPU 0, slots 4–7 GPU 1; 2:
slot 0 has GPUs 0 and 1), and the CPU threads divided between the slots
(``torch.set_num_threads``). Cancel asks every child to stop after its current step (each
keeps its ``last.pt``); a child that dies mid-trial (killed, out of memory) is replaced and
its trial goes on from its ``last.pt``, at most ``restarts`` times, after which the trial
fails with a message saying so.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .trial import FAILED, STOPPED, Trial, TrialEnd, TrialEvents, run_trial

RESTARTS = 2
POLL_SECONDS = 0.2  # how soon the driver notices a cancel while no child reports
QUIT_SECONDS = 10.0  # what a child gets to exit once told to before it is terminated
MAX_READ = 1000  # messages handed on before the other children are looked at again


class ParallelError(ValueError):
    """Settings that cannot run in parallel here (one sentence naming the setting)."""


@dataclass(frozen=True)
class SlotShare:
    """What one slot's child may use: ``cuda`` the value of CUDA_VISIBLE_DEVICES (None: as
    the driver has it), ``threads`` torch's intra-op threads."""

    cuda: str | None
    threads: int


def check_settings(slots: int, gpus_per_trial: float | None = None,
                   gpus: int | None = None) -> None:
    """ParallelError when ``slots`` or ``gpus_per_trial`` cannot be used (``gpus`` on the
    machine: counted when needed and not given)."""
    if slots < 1:
        raise ParallelError(f"--parallel must be at least 1 (got {slots}).")
    if gpus_per_trial is None:
        return
    f = gpus_per_trial
    if not (0 < f <= 1 or (f > 1 and f == int(f))):
        raise ParallelError(f"--gpus-per-trial must be a fraction in (0, 1] or a whole "
                            f"number (got {f:g}).")
    count = gpu_count() if gpus is None else gpus
    needed = math.ceil(slots * f) if f <= 1 else slots * int(f)
    if count < needed:
        raise ParallelError(f"--gpus-per-trial {f:g} with --parallel {slots} needs {needed} "
                            f"GPU{'s' * (needed != 1)}; this machine has {count}.")


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def shares(slots: int, gpus_per_trial: float | None = None,
           threads_per_trial: int | None = None, cpus: int | None = None) -> list[SlotShare]:
    """Each slot's devices and threads (see the module's text)."""
    cpus = cpus or os.cpu_count() or 1
    threads = threads_per_trial or max(1, cpus // slots)
    out = []
    for slot in range(slots):
        if gpus_per_trial is None:
            cuda = None
        elif gpus_per_trial <= 1:
            cuda = str(slot // max(1, math.floor(1 / gpus_per_trial + 1e-9)))
        else:
            whole = int(gpus_per_trial)
            cuda = ",".join(str(slot * whole + i) for i in range(whole))
        out.append(SlotShare(cuda, threads))
    return out


# ----- the child ------------------------------------------------------------------------------
def child_main(conn: Connection, share: SlotShare, train: Callable[..., TrialEnd]) -> None:
    """A worker: its devices set before torch loads, then trials until told to quit, each
    trained by ``train`` (``run_trial``'s signature)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it cancels
    torch_early = "torch" in sys.modules
    if share.cuda is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = share.cuda
    os.environ["OMP_NUM_THREADS"] = str(share.threads)
    import torch

    torch.set_num_threads(share.threads)
    conn.send(("ready", {"pid": os.getpid(), "torch_early": torch_early,
                         "threads": torch.get_num_threads()}))
    control = _ChildControl()
    inbox: queue.SimpleQueue[Trial | None] = queue.SimpleQueue()
    threading.Thread(target=_listen, args=(conn, inbox, control), daemon=True).start()
    while (trial := inbox.get()) is not None:
        end = train(trial, lambda record: conn.send(("record", record)),
                    control.is_stopped, control.hold)
        control.hold(None)
        conn.send(("end", end))
    conn.close()


class _ChildControl:
    """The child's stop flag and the engine it stops (its listener calls ``stop``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._engine: Any = None

    def hold(self, engine: Any) -> None:
        with self._lock:
            self._engine = engine

    def is_stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._engine is not None:
                self._engine.stop()


def _listen(conn: Connection, inbox: queue.SimpleQueue, control: _ChildControl) -> None:
    """The child's inbox: trials, ``stop`` and the final None (also when the driver is gone)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = None
        if message == "stop":
            control.stop()
            continue
        if message is None:
            control.stop()
        inbox.put(message)
        if message is None:
            return


# ----- the driver -----------------------------------------------------------------------------
class _Worker:
    """The driver's side of one slot: its process, pipe and the trial it trains."""

    def __init__(self, context: Any, slot: int, share: SlotShare,
                 train: Callable[..., TrialEnd]):
        self.slot = slot
        self.conn, child = context.Pipe()
        self.began = time.monotonic()
        # Not a daemon: a run streaming an image folder decodes in DataLoader processes of
        # its own, which a daemon may not start. A child whose driver is gone sees its pipe
        # close and stops after its step (keeping last.pt), so none outlives it for long.
        self.process = context.Process(target=child_main, args=(child, share, train),
                                       name=f"trial-slot-{slot}", daemon=False)
        self.process.start()
        child.close()
        self.trial: Trial | None = None
        self.info: dict[str, Any] = {}
        self.stop_sent = False

    def send(self, message: Any) -> bool:
        try:
            self.conn.send(message)
            return True
        except OSError:  # the child is gone; its sentinel says so
            return False

    def close(self, timeout: float) -> None:
        self.send(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


class Parallel:
    """Trains up to ``slots`` trials at once in child processes (see the module's text);
    ``threads_per_trial`` defaults to the CPUs divided between the slots, ``restarts`` is
    how often a trial whose process died is started again from its ``last.pt``. ``train``
    is what each child trains a trial with (``trial.run_trial``; another function of its
    signature, picklable, to inject faults in tests). ``children`` collects what each child
    said when it started: its pid, its torch threads, whether torch was loaded before its
    devices were set (it must not be), and the seconds from its spawn to then."""

    def __init__(self, slots: int, *, gpus_per_trial: float | None = None,
                 threads_per_trial: int | None = None, restarts: int = RESTARTS,
                 gpus: int | None = None, train: Callable[..., TrialEnd] = run_trial):
        check_settings(slots, gpus_per_trial, gpus)
        self.slots = slots
        self.shares = shares(slots, gpus_per_trial, threads_per_trial)
        self.restarts, self.train = restarts, train
        self.children: list[dict[str, Any]] = []
        self.workers: dict[int, _Worker] = {}
        self.deaths: dict[int, list[int | None]] = {}  # trial index → exit codes
        self._cancelled = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def cancel(self) -> None:
        """Any thread: every child stops after its current step; no trial starts."""
        self._cancelled.set()

    def run(self, trials: Iterator[Trial], events: TrialEvents) -> None:
        exhausted = False
        try:
            while True:
                if self._cancelled.is_set():
                    self._stop_all()
                elif not exhausted:
                    exhausted = self._fill(trials, events)
                if not self._busy() and (exhausted or self._cancelled.is_set()):
                    return
                self._wait(events)
        finally:
            for worker in self.workers.values():
                worker.close(QUIT_SECONDS)
            self.workers = {}

    # ----- slots ------------------------------------------------------------------------------
    def _busy(self) -> list[_Worker]:
        return [w for w in self.workers.values() if w.trial is not None]

    def _fill(self, trials: Iterator[Trial], events: TrialEvents) -> bool:
        """Give each free slot the next trial; True once the iterator is exhausted."""
        for slot in range(self.slots):
            worker = self.workers.get(slot)
            if worker is not None and worker.trial is not None:
                continue
            trial = next(trials, None)
            if trial is None:
                return True
            if self._cancelled.is_set():  # cancelled while the iterator reported skips
                return True
            events.started(trial)
            self._assign(slot, trial)
        return False

    def _assign(self, slot: int, trial: Trial) -> None:
        worker = self.workers.get(slot)
        if worker is None:
            worker = self.workers[slot] = _Worker(self._context, slot, self.shares[slot],
                                                     self.train)
        worker.trial = trial
        worker.send(trial)

    def _stop_all(self) -> None:
        for worker in self._busy():
            if not worker.stop_sent:
                worker.stop_sent = worker.send("stop")

    # ----- what the children say -------------------------------------------------------------
    def _wait(self, events: TrialEvents) -> None:
        busy = self._busy()
        handles: dict[Any, tuple[_Worker, bool]] = {}
        for worker in busy:
            handles[worker.conn] = (worker, False)
            handles[worker.process.sentinel] = (worker, True)
        for handle in wait(list(handles), POLL_SECONDS):
            worker, died = handles[handle]
            if self.workers.get(worker.slot) is not worker:
                continue  # already replaced (its pipe and its sentinel both woke the wait)
            if not self._read(worker, events) or died:
                self._check_exit(worker, events)

    def _read(self, worker: _Worker, events: TrialEvents) -> bool:
        """Hand on what ``worker`` sent; False when its pipe broke (the child is gone)."""
        messages, whole = [], True
        try:
            while len(messages) < MAX_READ and worker.conn.poll():
                messages.append(worker.conn.recv())
        except Exception:  # closed, or a message cut short by the child's death
            whole = False
        for kind, value in messages:
            self._on_message(worker, kind, value, events)
        return whole

    def _on_message(self, worker: _Worker, kind: str, value: Any, events: TrialEvents) -> None:
        if kind == "ready":
            worker.info = {**value, "startup_seconds": time.monotonic() - worker.began}
            self.children.append(worker.info)
        elif kind == "record" and worker.trial is not None:
            events.record(worker.trial, value)
        elif kind == "end" and worker.trial is not None:
            trial, worker.trial, worker.stop_sent = worker.trial, None, False
            events.ended(trial, value)

    def _check_exit(self, worker: _Worker, events: TrialEvents) -> None:
        """A child that is gone: its trial (if any) goes on in a new child, or fails."""
        worker.process.join(QUIT_SECONDS)
        if worker.process.is_alive():
            return  # the pipe broke but the child lives on: it will be seen again
        self._read(worker, events)  # what it sent before it died
        trial = worker.trial
        worker.conn.close()
        del self.workers[worker.slot]
        if trial is None:
            return
        codes = self.deaths.setdefault(trial.index, [])
        codes.append(worker.process.exitcode)
        if self._cancelled.is_set():  # it keeps its last.pt, as a stopped trial does
            events.ended(trial, TrialEnd(STOPPED, _death_message(codes)))
            return
        if len(codes) > self.restarts:
            events.ended(trial, TrialEnd(FAILED, _death_message(codes, self.restarts)))
            return
        resume = (Path(trial.folder) / "last.pt").exists()
        self._assign(worker.slot, replace(trial, resume=resume))


def _death_message(codes: list[int | None], restarts: int | None = None) -> str:
    how = ", ".join(_exit_text(c) for c in codes)
    died = f"the process training it died {len(codes)} time{'s' * (len(codes) != 1)} ({how})"
    if restarts is None:
        return f"{died} while the study was being stopped; resuming goes on from its last.pt."
    return (f"{died}, after {restarts} restart{'s' * (restarts != 1)} from its last "
            "checkpoint; train it again with --retry-failed (it goes on from its last.pt).")


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
