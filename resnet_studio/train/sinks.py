"""Sinks: where telemetry records go. A sink is any object with ``on_record(record)`` and
``close()``; the engine calls them from its own thread, in order, on rank 0 only. A sink that
keeps records on disk also has ``sync()``, which the engine calls before each checkpoint.

- ``CallbackSink`` calls a function (the CLI's progress line, tests).
- ``QueueSink`` queues records for another thread (the GUI drains it on a timer).
- ``RunDirSink`` writes the run directory: config.json (with the data spec, see
  ``data/spec.py``), graph.json, metrics.csv (one row per epoch), steps.jsonl (one JSON
  object per step, per-layer arrays as lists), confusion.json (the latest validation
  confusion matrix), status.json and, for a dense task, preview.npz (the latest
  ``PreviewRecord``, see ``preview_file.py``). metrics.csv gets one column per key of
  ``EpochRecord.metrics`` after the fixed ``METRIC_COLUMNS`` (a classifier's has none).
- ``TensorBoardSink`` logs scalars for TensorBoard when the optional package is installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..data.spec import SPEC_KEY
from ..files import out_of_space, write_text_atomic
from .preview_file import PREVIEW, write_preview
from .records import (
    EpochRecord,
    PreviewRecord,
    Record,
    RunEndRecord,
    RunStartRecord,
    StepRecord,
)

METRIC_COLUMNS = ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                  "best", "duration")


class SinkError(RuntimeError):
    """A sink that cannot be set up (missing optional package, unwritable folder)."""


@runtime_checkable
class Sink(Protocol):
    def on_record(self, record: Record) -> None: ...

    def close(self) -> None: ...


class CallbackSink:
    """Calls ``callback(record)`` for every record, on the engine's thread."""

    def __init__(self, callback: Callable[[Record], None]):
        self.callback = callback

    def on_record(self, record: Record) -> None:
        self.callback(record)

    def close(self) -> None:
        pass


class QueueSink:
    """A thread-safe queue of records; ``drain()`` takes whatever has arrived."""

    def __init__(self, maxsize: int = 0):
        self.queue: queue.Queue[Record] = queue.Queue(maxsize)
        self.closed = False

    def on_record(self, record: Record) -> None:
        self.queue.put(record)

    def drain(self, limit: int | None = None) -> list[Record]:
        out: list[Record] = []
        while limit is None or len(out) < limit:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self.closed = True


# ----- run directory --------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    """A record field as strict JSON: arrays become lists, NaN and infinities become null."""
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


class RunDirSink:
    """Writes the run directory. A resumed run first drops the rows after the checkpoint it
    resumed from, so metrics.csv and steps.jsonl read as one uninterrupted run."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self._steps = None
        self._metrics = None
        self._columns: tuple[str, ...] = METRIC_COLUMNS  # metrics.csv's header

    def on_record(self, record: Record) -> None:
        try:
            if isinstance(record, StepRecord):
                self._write_step(record)
            elif isinstance(record, EpochRecord):
                self._write_epoch(record)
            elif isinstance(record, RunStartRecord):
                self._start(record)
            elif isinstance(record, PreviewRecord):
                write_preview(self.run_dir / PREVIEW, record)
            elif isinstance(record, RunEndRecord):
                self._end(record)
        except OSError as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: OSError) -> SinkError:
        if out_of_space(exc, self.run_dir):
            return SinkError(f"no space left on device while writing the run directory "
                             f"{self.run_dir}")
        return SinkError(f"cannot write the run directory {self.run_dir}: {exc}")

    def _start(self, record: RunStartRecord) -> None:
        self.close()
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create the run directory {self.run_dir}: {exc}") from None
        info = {"config": record.config, "data": json_value(record.data),
                SPEC_KEY: record.data_spec, "device": record.device,
                "world_size": record.world_size, "layers": list(record.layer_names),
                "precision": record.precision}
        write_text_atomic(self.run_dir / "config.json", json.dumps(info, indent=2) + "\n")
        if record.graph is not None:
            write_text_atomic(self.run_dir / "graph.json",
                              json.dumps(record.graph, indent=2, ensure_ascii=False) + "\n")
        self._truncate(record.resumed_step, record.resumed_epoch)
        # Both files stay open for the run (closed at its end record, or by close()).
        self._steps = open(self.run_dir / "steps.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        metrics = self.run_dir / "metrics.csv"
        fresh = not metrics.exists() or metrics.stat().st_size == 0
        self._columns = METRIC_COLUMNS if fresh else _header(metrics)
        self._metrics = open(metrics, "a", encoding="utf-8", newline="")  # noqa: SIM115
        if fresh:
            csv.writer(self._metrics).writerow(METRIC_COLUMNS)

    def _truncate(self, resumed_step: int, resumed_epoch: int) -> None:
        """Keep what the checkpoint covers: steps up to ``resumed_step``, epochs up to
        ``resumed_epoch`` (a kill can fall between a step's checkpoint and the rows written
        after it, or leave a last line half written)."""
        if resumed_step == 0:
            for name in ("steps.jsonl", "metrics.csv"):
                (self.run_dir / name).unlink(missing_ok=True)
            return
        steps = self.run_dir / "steps.jsonl"
        if steps.exists():
            keep = [line for line in steps.read_text(encoding="utf-8").splitlines()
                    if _count_in(_json_row(line), "step") <= resumed_step]
            write_text_atomic(steps, "".join(line + "\n" for line in keep))
        metrics = self.run_dir / "metrics.csv"
        if metrics.exists():
            rows = list(csv.reader(metrics.read_text(encoding="utf-8").splitlines()))
            width = len(rows[0]) if rows else len(METRIC_COLUMNS)
            keep_rows = rows[:1] + [r for r in rows[1:] if len(r) == width
                                    and _count(r[0]) <= resumed_epoch
                                    and _count(r[1]) <= resumed_step]
            write_text_atomic(metrics, "".join(",".join(r) + "\n" for r in keep_rows))

    def _write_step(self, r: StepRecord) -> None:
        row = {"step": r.step, "epoch": r.epoch, "loss": r.loss, "accuracy": r.accuracy,
               "lr": r.lr, "images_per_s": r.images_per_s, "grad_norms": r.grad_norms,
               "weight_norms": r.weight_norms, "update_ratios": r.update_ratios}
        self._steps.write(json.dumps({k: json_value(v) for k, v in row.items()}) + "\n")

    def _write_epoch(self, r: EpochRecord) -> None:
        self._steps.flush()
        self._add_columns(r.metrics)
        values = [r.epoch, r.step, r.train_loss, r.train_acc, r.val_loss, r.val_acc, r.lr,
                  int(r.best), round(r.duration, 3)]
        values += [float(r.metrics.get(k, math.nan)) for k in self._columns[len(values):]]
        csv.writer(self._metrics).writerow(values)
        self._metrics.flush()
        confusion = {"epoch": r.epoch, "val_acc": json_value(r.val_acc),
                     "matrix": np.asarray(r.confusion).astype(int).tolist()}
        write_text_atomic(self.run_dir / "confusion.json", json.dumps(confusion) + "\n")

    def _add_columns(self, metrics: dict[str, float]) -> None:
        """Give metrics.csv a column for each new metric key: the header is rewritten, and
        rows already written get "nan" in it (once per run, at its first dense epoch)."""
        new = tuple(k for k in metrics if k not in self._columns)
        if not new:
            return
        path = self.run_dir / "metrics.csv"
        self._metrics.close()
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        self._columns = (*(rows[0] if rows else METRIC_COLUMNS), *new)
        out = [list(self._columns)] + [r + ["nan"] * len(new) for r in rows[1:]]
        write_text_atomic(path, "".join(",".join(r) + "\n" for r in out))
        self._metrics = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def _end(self, record: RunEndRecord) -> None:
        status = {"status": record.status, "message": record.message, "step": record.step,
                  "epoch": record.epoch, "best_epoch": record.best_epoch,
                  "best_val_acc": json_value(record.best_val_acc)}
        write_text_atomic(self.run_dir / "status.json", json.dumps(status, indent=2) + "\n")
        self.close()

    def sync(self) -> None:
        """Make every record received so far durable. The engine calls it before writing a
        checkpoint, so that the run files never lag behind the checkpoint that covers them
        (a kill after the checkpoint would otherwise lose the steps it covers)."""
        try:
            for handle in (self._steps, self._metrics):
                if handle is not None:
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            raise self._write_error(exc) from None

    def close(self) -> None:
        for handle in (self._steps, self._metrics):
            if handle is not None:
                handle.close()
        self._steps = self._metrics = None


def _header(path: Path) -> tuple[str, ...]:
    """The column names of an existing metrics.csv (the fixed ones if it has no header)."""
    with open(path, encoding="utf-8", newline="") as stream:
        header = next(csv.reader(stream), None)
    return tuple(header) if header else METRIC_COLUMNS


_UNREADABLE = 1 << 62  # the count of a torn or foreign row: more than any checkpoint's


def _json_row(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:
        return {}
    return row if isinstance(row, dict) else {}


def _count_in(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else _UNREADABLE


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return _UNREADABLE


# ----- TensorBoard ----------------------------------------------------------------------------
def tensorboard_writer(log_dir: str | Path) -> Any:
    """A ``SummaryWriter``, or a SinkError saying how to install the optional package."""
    try:
        import tensorboard  # noqa: F401  (torch's writer needs it; import it to fail clearly)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SinkError("TensorBoard logging needs the optional ‘tensorboard’ package: "
                        "pip install 'resnet-studio[tensorboard]'.") from None
    return SummaryWriter(log_dir=str(log_dir))


class TensorBoardSink:
    """Scalars per step (loss, accuracy, lr, images/s, per-layer gradient norms) and per epoch
    (validation loss and accuracy, a dense task's metrics). ``writer`` defaults to a
    ``SummaryWriter`` in ``log_dir``."""

    def __init__(self, log_dir: str | Path, writer: Any = None):
        self.writer = writer if writer is not None else tensorboard_writer(log_dir)
        self.layers: tuple[str, ...] = ()

    def on_record(self, record: Record) -> None:
        w = self.writer
        if isinstance(record, RunStartRecord):
            self.layers = record.layer_names
        elif isinstance(record, StepRecord):
            for tag, value in (("train/loss", record.loss), ("train/accuracy", record.accuracy),
                               ("train/lr", record.lr),
                               ("train/images_per_s", record.images_per_s)):
                w.add_scalar(tag, value, record.step)
            for name, norm in zip(self.layers, record.grad_norms):
                w.add_scalar(f"grad_norm/{name}", float(norm), record.step)
        elif isinstance(record, EpochRecord):
            for tag, value in (("val/loss", record.val_loss), ("val/accuracy", record.val_acc),
                               ("epoch/train_loss", record.train_loss),
                               ("epoch/train_accuracy", record.train_acc)):
                w.add_scalar(tag, value, record.step)
            for key, value in record.metrics.items():  # a dense task's: val/map_50, val/miou
                w.add_scalar(f"val/{key}", value, record.step)
        elif isinstance(record, RunEndRecord):
            w.flush()

    def close(self) -> None:
        self.writer.close()
