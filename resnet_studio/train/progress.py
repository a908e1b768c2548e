"""A text progress display for the command line, fed by telemetry records like any sink.

On a terminal one line is redrawn in place (at most ten times a second): epoch, step, a bar,
loss, accuracy, images/s and the estimated time left. Anywhere else (a log file, a CI job)
plain lines are printed, one every ten seconds, so logs stay readable. Each epoch
ends with a line of validation results either way.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from .diagnose import diagnosis_text
from .records import (
    DiagnosisRecord,
    EpochRecord,
    Record,
    RunEndRecord,
    RunStartRecord,
    StateRecord,
    StepRecord,
)

BAR = 20


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressSink:
    """Writes progress to ``stream`` (default stderr); ``interval`` is the least time between
    step lines (default: 0.1 s on a terminal, 10 s elsewhere); ``preface`` a line printed
    when the run starts."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 interval: float | None = None, preface: str = ""):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if interval is not None else 0.1 if self.tty else 10.0
        self._last_draw = float("-inf")
        self._start: RunStartRecord | None = None
        self._began = 0.0
        self._open_line = False
        self.preface = preface

    def on_record(self, record: Record) -> None:
        if isinstance(record, RunStartRecord):
            self._start, self._began = record, time.monotonic()
            if self.preface:
                self._print(self.preface)
            self._print(f"training on {record.device}"
                        + (f" × {record.world_size} processes" if record.world_size > 1 else "")
                        + f": {record.steps_per_epoch} steps per epoch, "
                        f"{record.total_steps} in all"
                        + (f", resuming after step {record.resumed_step}"
                           if record.resumed_step else ""))
            for line in data_lines(record.data):
                self._print(line)
        elif isinstance(record, StepRecord) and self._start is not None:
            now = time.monotonic()
            if now - self._last_draw >= self.interval or record.step == self._start.total_steps:
                self._last_draw = now
                self._draw(self.step_line(record, now))
        elif isinstance(record, EpochRecord):
            self._print(self.epoch_line(record))
        elif isinstance(record, DiagnosisRecord):
            self._print(diagnosis_text(record))
        elif isinstance(record, StateRecord):
            self._print("paused" if record.state == "paused" else "going on")

    def step_line(self, r: StepRecord, now: float) -> str:
        start = self._start
        per_epoch = start.steps_per_epoch
        epochs = start.total_steps // per_epoch
        in_epoch = r.step - (r.epoch - 1) * per_epoch
        filled = BAR * in_epoch // per_epoch
        done = r.step - start.resumed_step
        left = (now - self._began) / done * (start.total_steps - r.step) if done > 0 else 0.0
        accuracy = f"acc {r.accuracy:6.1%}  " if math.isfinite(r.accuracy) else ""
        return (f"epoch {r.epoch}/{epochs} [{'#' * filled}{'.' * (BAR - filled)}] "
                f"step {r.step}/{start.total_steps}  loss {r.loss:.4f}  {accuracy}"
                f"{r.images_per_s:,.0f} img/s  ETA {format_duration(left)}")

    @staticmethod
    def epoch_line(r: EpochRecord) -> str:
        """Loss and accuracy; a dense task's metrics in place of validation accuracy, and no
        training accuracy where the task has none (detection)."""
        train = f"train loss {r.train_loss:.4f}" + (
            f" {_TRAIN_ACC.get(_task_of(r), 'acc')} {r.train_acc:.1%}"
            if math.isfinite(r.train_acc) else "")
        val = (" ".join(f"{METRIC_NAMES.get(k, k)} {v:.3f}" for k, v in r.metrics.items())
               if r.metrics else f"acc {r.val_acc:.1%}")
        return (f"epoch {r.epoch}: {train} | val loss {r.val_loss:.4f} {val}"
                f"{'  (best)' if r.best else ''}  [{format_duration(r.duration)}]")

    def _draw(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self._open_line = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _print(self, line: str) -> None:
        if self._open_line:
            self.stream.write("\r\033[K")
            self._open_line = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


#: How the epoch line names a dense task's metrics.
METRIC_NAMES = {"map": "mAP", "map_50": "mAP@0.5", "miou": "mIoU", "pixel_acc": "pixel acc"}
_TRAIN_ACC = {"segmentation": "pixel acc"}


def _task_of(r: EpochRecord) -> str:
    return "segmentation" if "miou" in r.metrics else ""


def data_lines(data: dict) -> list[str]:
    """What the run trains on and what was done to the images, then any data warnings."""
    line = (f"data: {data.get('name')}, {data.get('train_size')} training / "
            f"{data.get('val_size')} validation images")
    if data.get("fit"):
        line += f"; {data['fit']}"
    return [line] + [f"warning: {note}" for note in data.get("notes") or ()]


def summary(end: RunEndRecord, elapsed: float) -> str:
    """The closing lines of ``resnet-studio train``."""
    rate = f", {end.images_per_s:,.0f} images/s" if end.images_per_s else ""
    lines = [end.message, f"time {format_duration(elapsed)}, {end.step} steps{rate}"]
    if end.replica_digests:
        same = len(set(end.replica_digests)) == 1
        lines.append(f"{len(end.replica_digests)} processes; replicas "
                     + (f"identical (parameters sha256 {end.replica_digests[0][:16]})" if same
                        else "DIFFER: " + ", ".join(d[:16] for d in end.replica_digests)))
    return "\n".join(lines)
