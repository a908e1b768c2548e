"""Bounded, append-only buffers behind the live plots (NumPy only, no Qt).

A training run produces one point per step for hours; the plots must neither copy every
point on every update nor grow without bound in ways nobody can see. ``Series`` keeps its
points in arrays whose capacity doubles when full (amortised O(1) appends; the view calls
``setData`` on a slice, as pyqtgraph's ``examples/scrollingPlots.py`` does), so its memory is
at most twice the data. ``LayerHistory`` keeps a layers × columns matrix for the gradient
heatmap in a fixed number of columns: when it is full, neighbouring columns are averaged in
pairs and each column from then on stands for twice as many steps.
"""

from __future__ import annotations

import math

import numpy as np

INITIAL_CAPACITY = 1024
HEATMAP_COLUMNS = 1024


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


class LayerHistory:
    """Per-layer values over steps, in at most ``columns`` columns.

    Each column holds the mean of ``stride`` consecutive steps. ``append`` adds rows of
    per-layer values (one row per step); when every column is used, pairs are averaged so
    that half the columns are free and ``stride`` doubles. Non-finite values propagate into
    their column, so an exploding step stays visible however far it has been compressed.
    """

    def __init__(self, layers: int, columns: int = HEATMAP_COLUMNS):
        if columns < 2 or columns % 2:
            raise ValueError("columns must be an even number of at least 2")
        self.layers = layers
        self.columns = columns
        self._data = np.full((layers, columns), np.nan, dtype=np.float64)
        self._pending = np.zeros(layers, dtype=np.float64)
        self._pending_count = 0
        self.used = 0
        self.stride = 1
        self.first_step = 0
        self.last_step = 0

    @property
    def matrix(self) -> np.ndarray:
        """The filled columns, layers × used (a view; copy before keeping it)."""
        return self._data[:, : self.used]

    def append(self, steps: np.ndarray, rows: np.ndarray) -> None:
        """Add one row of per-layer values per step (rows: steps × layers)."""
        if len(steps) == 0:
            return
        if self.used == 0 and self._pending_count == 0:
            self.first_step = int(steps[0])
        rows = np.asarray(rows, dtype=np.float64).reshape(len(steps), self.layers)
        i = 0
        while i < len(rows):
            i += self._fill_pending(rows[i:]) if self._pending_count else 0
            i += self._push_whole(rows[i:])
            if i < len(rows) and len(rows) - i < self.stride:
                i += self._fill_pending(rows[i:])
        self.last_step = int(steps[-1])

    def _fill_pending(self, rows: np.ndarray) -> int:
        """Add rows to the partly filled column; push it once it holds ``stride`` steps."""
        take = rows[: self.stride - self._pending_count]
        self._pending += take.sum(axis=0)
        self._pending_count += len(take)
        if self._pending_count == self.stride:
            self._write(self._pending[None, :] / self.stride)
            self._pending = np.zeros(self.layers, dtype=np.float64)
            self._pending_count = 0
        return len(take)

    def _push_whole(self, rows: np.ndarray) -> int:
        """Write as many complete columns as fit before the next compression."""
        count = min(len(rows) // self.stride, self.columns - self.used)
        if count == 0:
            return 0
        stride = self.stride
        block = rows[: count * stride].reshape(count, stride, self.layers).mean(axis=1)
        self._write(block)
        return count * stride

    def _write(self, block: np.ndarray) -> None:
        """Store columns (given as rows of ``block``); compress as soon as all are used, so
        that every later column is accumulated at the new stride."""
        self._data[:, self.used: self.used + len(block)] = block.T
        self.used += len(block)
        if self.used == self.columns:
            half = self.columns // 2
            self._data[:, :half] = self._data.reshape(self.layers, half, 2).mean(axis=2)
            self._data[:, half:] = np.nan
            self.used = half
            self.stride *= 2

    def column_steps(self, column: int) -> tuple[int, int]:
        """The first and last step a column stands for."""
        first = self.first_step + column * self.stride
        return first, first + self.stride - 1
