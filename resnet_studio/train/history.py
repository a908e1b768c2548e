"""The history of a run: what every view renders, what exports write and what studies compare.

A ``RunHistory`` holds a run's per-step series (loss, accuracy, learning rate, images/s, the
epoch of each step), their moving averages, the per-epoch series (training and validation
loss and accuracy; for a dense task also its metrics, ``task_metrics``), the per-layer
gradient norms as one layers × steps array, the latest confusion matrix and, for a dense task,
the latest predictions (``preview``). It grows from telemetry records while a run trains
(``append``) and is read from a run directory once it is written (``load``, through
``rundir``) — a run written by ``resnet-studio train`` and one written by the app give the
same history.

Series keep their points in arrays whose capacity doubles when full (amortised O(1) appends,
memory at most twice the data; a view calls ``setData`` on slices, as pyqtgraph's
``examples/scrollingPlots.py`` does).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.task import CLASSIFICATION, DETECTION, SEGMENTATION, task_of_project
from .preview_file import PREVIEW, read_preview
from .records import EpochRecord, PreviewRecord, RunEndRecord, RunStartRecord, StepRecord
from .rundir import (
    MAIN_METRIC,
    Confusion,
    RunReadError,
    read_config,
    read_confusion,
    read_graph,
    read_metrics,
    read_status,
    read_steps,
    require_run_dir,
    task_of_metrics,
)
from .sinks import METRIC_COLUMNS

INITIAL_CAPACITY = 1024
DEFAULT_SMOOTHING = 0.9  # the moving average keeps this share of the past at each step
CSV_COLUMNS = ("step", "loss", "loss_smoothed", "accuracy", "accuracy_smoothed", "lr",
               "val_loss", "val_acc")
# What the task metrics (``EpochRecord.metrics``) are called where people read them.
METRIC_LABELS = {"map": "mAP", "map_50": "mAP@0.5", "miou": "mean IoU",
                 "pixel_acc": "pixel accuracy"}
# What a dense run's training "accuracy" is (None: it has none).
TRAIN_ACCURACY = {CLASSIFICATION: "accuracy", DETECTION: None, SEGMENTATION: "pixel accuracy"}


class Series:
    """Points (x, y) appended in order, in buffers that grow by doubling."""

    def __init__(self, capacity: int = INITIAL_CAPACITY):
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    @property
    def capacity(self) -> int:
        return len(self._x)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        n = len(xs)
        if n == 0:
            return
        self._reserve(self.size + n)
        self._x[self.size: self.size + n] = xs
        self._y[self.size: self.size + n] = ys
        self.size += n

    def _reserve(self, needed: int) -> None:
        if needed <= self.capacity:
            return
        capacity = 1 << math.ceil(math.log2(needed))
        for name in ("_x", "_y"):
            grown = np.empty(capacity, dtype=np.float64)
            grown[: self.size] = getattr(self, name)[: self.size]
            setattr(self, name, grown)

    def clear(self) -> None:
        self.size = 0

    def nearest(self, x: float) -> tuple[float, float] | None:
        """The point whose x is closest to ``x`` (None when empty); x must be sorted."""
        if self.size == 0:
            return None
        xs = self.x
        i = int(np.clip(np.searchsorted(xs, x), 1, self.size - 1)) if self.size > 1 else 0
        if i > 0 and abs(xs[i - 1] - x) <= abs(xs[i] - x):
            i -= 1
        return float(xs[i]), float(self._y[i])


def ema(values: np.ndarray, alpha: float, start: float | None = None) -> np.ndarray:
    """Exponential moving average ``s = (1 - alpha) s + alpha v``, skipping non-finite values
    (a diverging step must not turn the smoothed curve into NaN for ever). ``start`` is the
    average before ``values`` (None: begin at the first finite value)."""
    out = np.empty(len(values), dtype=np.float64)
    state = start
    for i, v in enumerate(values):  # a few dozen points per timer tick: a loop is fine
        if math.isfinite(v):
            state = v if state is None or not math.isfinite(state) else state + alpha * (v - state)
        out[i] = np.nan if state is None else state
    return out


class Smoothed:
    """A series with its moving average kept up to date as points arrive."""

    def __init__(self) -> None:
        self.raw, self.smooth = Series(), Series()
        self._state: float | None = None

    def extend(self, steps: np.ndarray, values: np.ndarray, alpha: float) -> None:
        smooth = ema(values, alpha, self._state)
        if len(smooth):
            self._state = float(smooth[-1])
        self.raw.extend(steps, values)
        self.smooth.extend(steps, smooth)

    def resmooth(self, alpha: float) -> None:
        smooth = ema(self.raw.y, alpha)
        self._state = float(smooth[-1]) if len(smooth) else None
        self.smooth.clear()
        self.smooth.extend(self.raw.x, smooth)


class LayerNorms:
    """Per-layer values over steps: a layers × steps array that grows by doubling."""

    def __init__(self, layers: int = 0):
        self._data = np.full((layers, INITIAL_CAPACITY), np.nan)
        self.size = 0

    @property
    def layers(self) -> int:
        return self._data.shape[0]

    @property
    def array(self) -> np.ndarray:
        """layers × steps (a view; copy before keeping it)."""
        return self._data[:, : self.size]

    def extend(self, rows: np.ndarray) -> None:
        """Add one row of per-layer values per step (rows: steps × layers; short rows are
        padded with NaN, long ones cut to the layer count)."""
        n = len(rows)
        if n == 0:
            return
        if self.size + n > self._data.shape[1]:
            grown = np.full((self.layers, 1 << math.ceil(math.log2(self.size + n))), np.nan)
            grown[:, : self.size] = self.array
            self._data = grown
        width = min(self.layers, rows.shape[1]) if rows.ndim == 2 else 0
        self._data[:, self.size: self.size + n] = np.nan
        self._data[:width, self.size: self.size + n] = rows[:, :width].T
        self.size += n


class RunHistory:
    """Series, per-layer gradient norms and smoothing of one run (see the module docstring).

    ``smoothing`` is the share of the past the moving average keeps at each step (0: none).
    Per-step series have the optimiser step as x; per-epoch series the step the epoch ended.
    """

    def __init__(self, layer_names: Sequence[str] = (), smoothing: float = DEFAULT_SMOOTHING):
        self.smoothing = smoothing
        self.loss, self.accuracy = Smoothed(), Smoothed()
        self.lr, self.images_per_s, self.epoch = Series(), Series(), Series()
        self.val_loss, self.val_acc = Series(), Series()
        self.train_loss, self.train_acc = Series(), Series()
        self.start(layer_names)
        self.class_names: list[str] = []
        self.data: dict[str, Any] = {}
        self.confusion: Confusion | None = None
        self.status = ""
        self.task = CLASSIFICATION
        # Per-epoch task metrics by key, each aligned with ``val_acc`` (x: the step the epoch
        # ended; NaN for an epoch that did not report the key).
        self.task_metrics: dict[str, Series] = {}
        self.preview: PreviewRecord | None = None
        self.preview_problem = ""  # one line naming a damaged preview.npz

    def start(self, layer_names: Sequence[str]) -> None:
        """Name the layers; the gradient norms start afresh (the series are kept)."""
        self.layer_names = tuple(layer_names)
        self.grad_norms = LayerNorms(len(self.layer_names))

    @property
    def alpha(self) -> float:
        return 1.0 - self.smoothing

    @property
    def steps(self) -> np.ndarray:
        return self.loss.raw.x

    @property
    def epoch_steps(self) -> np.ndarray:
        return self.val_loss.x

    def __len__(self) -> int:
        return self.loss.raw.size

    @property
    def dense(self) -> bool:
        return self.task != CLASSIFICATION

    @property
    def val_acc_label(self) -> str:
        """What ``val_acc`` holds: top-1 accuracy, or a dense task's main metric."""
        return METRIC_LABELS[MAIN_METRIC[self.task]] if self.dense else "accuracy"

    @property
    def train_acc_label(self) -> str | None:
        """What the per-step ``accuracy`` holds (None for detection: nothing)."""
        return TRAIN_ACCURACY.get(self.task, "accuracy")

    def set_smoothing(self, smoothing: float) -> None:
        self.smoothing = smoothing
        self.loss.resmooth(self.alpha)
        self.accuracy.resmooth(self.alpha)

    # ----- growing ----------------------------------------------------------------------------
    def append(self, records: Iterable[Any]) -> None:
        """Take telemetry records in order (a live run); consecutive steps go in as one batch."""
        steps: list[StepRecord] = []
        for record in records:
            if isinstance(record, StepRecord):
                steps.append(record)
                continue
            self._append_steps(steps)
            steps = []
            if isinstance(record, EpochRecord):
                self._append_epoch(record)
            elif isinstance(record, PreviewRecord):
                self.preview, self.preview_problem = record, ""
                self.task = record.task
            elif isinstance(record, RunStartRecord):
                self.on_start(record)
            elif isinstance(record, RunEndRecord):
                self.status = record.status
        self._append_steps(steps)

    def on_start(self, record: RunStartRecord) -> None:
        """A (re)started run: its layers and data; a resumed run keeps the earlier steps."""
        if record.layer_names != self.layer_names or not len(self):
            self.start(record.layer_names)
        self.data = dict(record.data)
        self.class_names = [str(n) for n in record.data.get("class_names") or []]
        self.task = task_of_project(record.graph)

    def _append_steps(self, records: Sequence[StepRecord]) -> None:
        if not records:
            return
        n = len(records)

        def column(name: str) -> np.ndarray:
            return np.fromiter((getattr(r, name) for r in records), np.float64, n)

        norms = (np.stack([np.asarray(r.grad_norms, np.float64) for r in records])
                 if self.layer_names else None)
        self.extend_steps(column("step"), column("loss"), column("accuracy"), column("lr"),
                          column("images_per_s"), column("epoch"), norms)

    def _append_epoch(self, r: EpochRecord) -> None:
        self.extend_epochs(np.array([r.step], np.float64), np.array([r.val_loss]),
                           np.array([r.val_acc]), np.array([r.train_loss]),
                           np.array([r.train_acc]),
                           {k: np.array([v], np.float64) for k, v in r.metrics.items()})
        self.task = self.task if self.dense else task_of_metrics(r.metrics, self.task)
        self.confusion = Confusion(np.asarray(r.confusion, np.int64), r.epoch, r.val_acc)

    def extend_steps(self, steps: np.ndarray, loss: np.ndarray, accuracy: np.ndarray,
                     lr: np.ndarray, images_per_s: np.ndarray | None = None,
                     epochs: np.ndarray | None = None,
                     grad_norms: np.ndarray | None = None) -> None:
        """Append per-step values (arrays of one length; grad_norms: steps × layers)."""
        if not len(steps):  # a run that failed before its first step: nothing to shape
            return
        nan = np.full(len(steps), np.nan)
        self.loss.extend(steps, loss, self.alpha)
        self.accuracy.extend(steps, accuracy, self.alpha)
        self.lr.extend(steps, lr)
        self.images_per_s.extend(steps, nan if images_per_s is None else images_per_s)
        self.epoch.extend(steps, nan if epochs is None else epochs)
        self.grad_norms.extend(np.full((len(steps), 0), np.nan) if grad_norms is None
                               else np.asarray(grad_norms, np.float64).reshape(len(steps), -1))

    def extend_epochs(self, steps: np.ndarray, val_loss: np.ndarray, val_acc: np.ndarray,
                      train_loss: np.ndarray | None = None,
                      train_acc: np.ndarray | None = None,
                      task_metrics: dict[str, np.ndarray] | None = None) -> None:
        """Append per-epoch values; x is the step each epoch ended at. A task metric seen
        for the first time gets NaN for the epochs before it; one missing here gets NaN."""
        nan = np.full(len(steps), np.nan)
        task_metrics = task_metrics or {}
        for key in task_metrics:
            if key not in self.task_metrics:
                self.task_metrics[key] = Series()
                self.task_metrics[key].extend(self.val_acc.x, np.full(self.val_acc.size,
                                                                      np.nan))
        for key, series in self.task_metrics.items():
            series.extend(steps, task_metrics.get(key, nan))
        self.val_loss.extend(steps, val_loss)
        self.val_acc.extend(steps, val_acc)
        self.train_loss.extend(steps, nan if train_loss is None else train_loss)
        self.train_acc.extend(steps, nan if train_acc is None else train_acc)

    # ----- reading a run directory ------------------------------------------------------------
    @classmethod
    def load(cls, run: Path, up_to_step: int | None = None,
             smoothing: float = DEFAULT_SMOOTHING) -> RunHistory:
        """The history of a run directory (steps after ``up_to_step`` left out); RunReadError
        when ``run`` is no run directory."""
        history = cls(smoothing=smoothing)
        history.extend_from(require_run_dir(run), up_to_step)
        return history

    def extend_from(self, run: Path, up_to_step: int | None = None) -> None:
        """Append what ``run`` holds (a resumed run first shows its earlier steps)."""
        info = read_config(run)
        rows = read_steps(run, up_to_step)
        layers = tuple(info.get("layers") or ())
        width = len(layers) or max((len(r.get("grad_norms") or ()) for r in rows), default=0)
        self.start(layers or tuple(f"layer {i}" for i in range(width)))
        data = info.get("data") if isinstance(info.get("data"), dict) else {}
        self.data, self.class_names = data, [str(n) for n in data.get("class_names") or []]
        norms = np.full((len(rows), width), np.nan)
        for i, row in enumerate(rows):
            values = [np.nan if v is None else v for v in (row.get("grad_norms") or ())][:width]
            norms[i, : len(values)] = values
        self.extend_steps(*(_column(rows, key) for key in ("step", "loss", "accuracy", "lr",
                                                           "images_per_s", "epoch")), norms)
        metrics = read_metrics(run, up_to_step)
        keys = [k for k in (metrics[0] if metrics else {}) if k not in METRIC_COLUMNS]
        self.extend_epochs(*(_column(metrics, key) for key in ("step", "val_loss", "val_acc",
                                                               "train_loss", "train_acc")),
                           {k: _column(metrics, k) for k in keys})
        confusion = read_confusion(run)
        if confusion is not None and (up_to_step is None or not len(metrics)
                                      or confusion.epoch <= metrics[-1]["epoch"]):
            self.confusion = confusion
        self.status = str(read_status(run).get("status") or "")
        self.task = task_of_project(read_graph(run))
        self.task = self.task if self.dense else task_of_metrics(dict.fromkeys(keys), self.task)
        self._read_preview(run, up_to_step)

    def _read_preview(self, run: Path, up_to_step: int | None) -> None:
        """The run's latest predictions (those after ``up_to_step`` left out); a damaged
        file is left out, and ``preview_problem`` says so in one line."""
        try:
            preview = read_preview(run / PREVIEW)
        except RunReadError as exc:
            self.preview, self.preview_problem = None, str(exc)
            return
        if preview is not None and (up_to_step is None or preview.step <= up_to_step):
            self.preview, self.preview_problem = preview, ""
            self.task = preview.task

    # ----- what views and exports ask -----------------------------------------------------------
    def best_epoch(self) -> tuple[int, float] | None:
        """(1-based epoch, accuracy) of the best validation accuracy; None before any."""
        acc = self.val_acc.y
        if not np.isfinite(acc).any():
            return None
        best = int(np.nanargmax(acc))
        return best + 1, float(acc[best])

    def to_csv(self) -> str:
        """One row per step: raw and smoothed training values, the learning rate, and the
        validation values (with a dense task's metrics after them) on the steps where an
        epoch ended (empty elsewhere)."""
        epoch_series = [self.val_loss, self.val_acc, *self.task_metrics.values()]
        val_at = {float(s): row for s, *row in zip(self.val_loss.x,
                                                   *(e.y for e in epoch_series))}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow((*CSV_COLUMNS, *self.task_metrics))
        columns = (self.loss.raw.y, self.loss.smooth.y, self.accuracy.raw.y,
                   self.accuracy.smooth.y, self.lr.y)
        blank = [""] * len(epoch_series)
        for i, step in enumerate(self.steps):
            values = val_at.get(float(step), blank)
            writer.writerow([int(step), *(_cell(c[i]) for c in columns),
                             *(_cell(v) for v in values)])
        return out.getvalue()


def _column(rows: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else r[key] for r in rows], np.float64)


def _cell(value: object) -> str:
    if value == "" or value is None:
        return ""
    number = float(value)
    return repr(number) if np.isfinite(number) else ("nan" if np.isnan(number) else
                                                     ("inf" if number > 0 else "-inf"))
