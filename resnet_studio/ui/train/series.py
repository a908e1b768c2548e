"""The gradient heatmap's bounded summary of a run's per-layer norms (NumPy only, no Qt).

A training run produces one column of norms per step for hours; the run's ``RunHistory``
keeps them all, but an image of a hundred thousand columns would be slow to draw and could
not be read. ``LayerHistory`` keeps a layers × columns matrix in a fixed number of columns:
when it is full, neighbouring columns are averaged in pairs and each column from then on
stands for twice as many steps.
"""

from __future__ import annotations

import numpy as np

HEATMAP_COLUMNS = 1024


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
