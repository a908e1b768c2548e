"""The engine's telemetry windows: when one closes, and how its steps become records.

A window is the steps between two host transfers. It closes every ``telemetry_every`` steps,
at the end of an epoch, and after ``FLUSH_SECONDS``, so that slow steps still stream. Closing
it copies the window's device buffers to the host once, emits one ``StepRecord`` per step,
adds the window to the epoch's sums and fails the run at the first loss that is not finite.

``TelemetryWindows`` is a part of ``Engine`` (a mixin kept in its own module): it works on the
engine's step counters and delivers through the engine's sinks and diagnoser.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import distributed
from .config import TrainConfig
from .diagnose import Diagnoser
from .records import Record, StepRecord
from .setup import RunFailure, Session
from .sinks import SinkError
from .telemetry import Window

# A flush also comes after this long, so that slow steps still stream twice a second or more
# (one host transfer per flush: at this interval it costs nothing measurable).
FLUSH_SECONDS = 0.4


class TelemetryWindows:
    """Closing telemetry windows and delivering records, for ``Engine``."""

    config: TrainConfig
    session: Session | None
    sinks: list[Any]
    diagnoser: Diagnoser
    epoch: int
    batch: int
    step: int
    last_checkpoint: tuple[Path, int] | None
    _stop: threading.Event
    _slot: int  # steps in the open window
    _lrs: list[float]  # the learning rate of each of them
    _window_start: float
    _step_seconds: float  # the mean step time of the last window
    _windows: list[float]  # images and seconds of all windows: the run's images/s
    _epoch_sums: list[float]
    _last_lr: float
    _last_finite: tuple[int, float] | None
    _broken: str | None

    @property
    def is_main(self) -> bool:
        return self.session is None or self.session.env.is_main

    def _flush_due(self, last_batch: int) -> bool:
        """Whether the coming step ends a telemetry window: every ``telemetry_every`` steps,
        at the end of the epoch, and after ``FLUSH_SECONDS`` — except under DDP, where every
        rank must flush at the same step (the sums are all-reduced), so steps alone count."""
        if self._slot == self.config.telemetry_every - 1 or self.batch == last_batch:
            return True
        # the coming step is expected to take as long as the last window's steps did
        elapsed = time.perf_counter() - self._window_start + self._step_seconds
        return not self.session.env.enabled and elapsed >= FLUSH_SECONDS

    def _flush(self) -> bool:
        """Deliver the pending steps' records; True when some rank asked to stop. Raises a
        failure naming the first step whose loss was not finite."""
        s, steps = self.session, self._slot
        if steps == 0:
            return self._stop.is_set()
        sums = distributed.all_reduce_sum(s.stats.packed_sums(steps, self._stop.is_set()), s.env)
        window = s.stats.drain(steps, sums)
        elapsed = max(time.perf_counter() - self._window_start, 1e-9)
        rate = float(window.count.sum()) / elapsed
        self._windows[0] += float(window.count.sum())
        self._windows[1] += elapsed
        self._step_seconds = elapsed / steps
        first = self.step - steps + 1
        for i in range(steps):
            self._emit(self._step_record(window, i, first + i, rate))
        self._epoch_sums[0] += float(np.dot(window.loss, window.count))
        self._epoch_sums[1] += float(window.correct.sum())
        self._epoch_sums[2] += float(window.count.sum())
        self._last_lr = self._lrs[-1]
        self._slot, self._lrs = 0, []
        self._window_start = time.perf_counter()
        self._check_finite(window, first)
        return window.stop_requested

    def _step_record(self, w: Window, i: int, step: int, rate: float) -> StepRecord:
        last = i == len(w.loss) - 1
        accuracy = float(w.correct[i] / max(w.count[i], 1))
        return StepRecord(step, self.epoch + 1, float(w.loss[i]), accuracy, float(self._lrs[i]),
                          rate, w.grad_norms[i], w.weight_norms if last else None,
                          w.update_ratios if last else None)

    def _check_finite(self, window: Window, first: int) -> None:
        bad = np.flatnonzero(~np.isfinite(window.loss))
        if bad.size == 0:
            self._last_finite = (first + len(window.loss) - 1, float(window.loss[-1]))
            return
        i = int(bad[0])
        if i > 0:
            self._last_finite = (first + i - 1, float(window.loss[i - 1]))
        self._fail_diverged(f"the loss became {_kind(window.loss[i])} at step {first + i} "
                            f"(epoch {self.epoch + 1})")

    def _fail_diverged(self, what: str) -> None:
        finite = self._last_finite
        last = (f"the last finite loss was {finite[1]:.4g} at step {finite[0]}"
                if finite else "no step had a finite loss")
        kept = (f"the last good checkpoint, {self.last_checkpoint[0]} (step "
                f"{self.last_checkpoint[1]}), is kept" if self.last_checkpoint
                else "no checkpoint had been written yet")
        self._broken = (f"Training diverged: {what}; {last}. The weights are no longer finite, so "
                        f"nothing was saved; {kept}. Lower the learning rate (now "
                        f"{self.config.lr:g}), add warm-up or gradient clipping, and resume.")
        raise RunFailure(self._broken)

    def _emit(self, record: Record) -> None:
        if not self.is_main:
            return
        self._deliver(record)
        for diagnosis in self.diagnoser.observe(record):
            self._deliver(diagnosis)

    def _deliver(self, record: Record) -> None:
        for sink in self.sinks:
            try:
                sink.on_record(record)
            except SinkError:
                raise
            except Exception as exc:
                raise SinkError(f"{type(sink).__name__} failed on {type(record).__name__}: "
                                f"{type(exc).__name__}: {exc}") from exc


def _kind(value: float) -> str:
    return "NaN" if math.isnan(value) else "infinite"
