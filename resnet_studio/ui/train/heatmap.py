"""Per-layer gradient norms: one heatmap of layers × steps and a bar chart of the latest step.

All layers live in one ``pg.ImageItem`` (not one curve per layer), coloured by log₁₀ of the
norm with a colour bar; the history is a ``LayerHistory`` with a fixed number of columns, so
a long run neither slows the view down nor grows its memory. Hovering over either chart reads
out the layer, the step(s) and the value. Vanishing gradients (a layer's norm a millionth of
the largest layer's or less) and exploding ones (not finite, or above ``EXPLODING``) are named
in words above the charts — the comparison a plain network and its residual twin are for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...train.history import RunHistory
from ..widgets.empty_state import EmptyState
from . import plotstyle as style
from .series import HEATMAP_COLUMNS, LayerHistory

VANISHING = 1e-6   # relative to the largest layer's norm at the same step
EXPLODING = 1e3    # absolute: gradient norms of a healthy run are far below this
FLOOR = 1e-12      # log of zero: shown as this, the bottom of every colour scale
MAX_TICKS = 40     # label every layer up to this many; every k-th beyond


def log_norms(values: np.ndarray) -> np.ndarray:
    """log₁₀ of gradient norms for display; non-finite norms become +inf (see ``display``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.maximum(values, FLOOR))
    out[~np.isfinite(values)] = np.inf
    return out


def gradient_alerts(names: Sequence[str], norms: np.ndarray) -> list[str]:
    """Sentences naming the layers whose latest gradients vanish or explode (none: [])."""
    norms = np.asarray(norms, dtype=np.float64)
    finite = np.isfinite(norms)
    alerts = []
    broken = [n for n, ok in zip(names, finite) if not ok]
    huge = [n for n, v, ok in zip(names, norms, finite) if ok and v > EXPLODING]
    if broken or huge:
        what = []
        if broken:
            what.append(f"not finite in {_names(broken)}")
        if huge:
            what.append(f"above {EXPLODING:g} in {_names(huge)}")
        alerts.append("Exploding gradients: the norm is " + " and ".join(what) + ".")
    if finite.any():
        top = float(norms[finite].max())
        tiny = [n for n, v, ok in zip(names, norms, finite) if ok and v <= VANISHING * top]
        if tiny and top > 0:
            alerts.append(f"Vanishing gradients in {_names(tiny)}: a millionth of the largest "
                          "layer's norm or less, so these layers hardly learn.")
    return alerts


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


GRADIENTS_HINT = ("Each layer's gradient norm is drawn here as a run trains: a heatmap over "
                  "the steps and bars for the latest step.\nPress Train to start a run.")


class GradientView(QWidget):
    """The heatmap, its colour bar, the latest-norms bar chart, the read-out and alerts."""

    def __init__(self, parent: QWidget | None = None, columns: int = HEATMAP_COLUMNS):
        super().__init__(parent)
        self.columns = columns
        self.names: tuple[str, ...] = ()
        self.history = LayerHistory(0, columns)  # the heatmap's columns, a bounded summary
        self.source: RunHistory | None = None  # the history followed, and how much is taken
        self._taken = 0
        self.latest = np.zeros(0)
        self.latest_step = 0
        self.dirty = False
        self.alerts = QLabel(self, wordWrap=True)
        self.alerts.setStyleSheet("color: #b42318; font-weight: 600; padding: 2px 6px;")
        self.readout = QLabel("Hover over the heatmap for a layer's gradient norm.", self)
        self.readout.setStyleSheet("color: #5f6b76; padding: 0 6px;")
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self._make_heatmap()
        self._make_bars()
        self._proxy = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._on_mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.alerts)
        layout.addWidget(self.readout)
        self.stack = EmptyState(self.view, GRADIENTS_HINT, self)
        layout.addWidget(self.stack, 1)
        self.alerts.hide()

    def _make_heatmap(self) -> None:
        plot = style.style_plot(self.view.addPlot(0, 0), "Gradient norm per layer",
                                "step", "", grid=False)
        plot.invertY(True)  # the first layer on top, as in the editor
        plot.setMouseEnabled(x=True, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-6, 0), colorMap=style.colour_map(),
                                          label="log₁₀ ‖g‖", interactive=False,
                                          width=14)
        self.colour_bar.setImageItem(self.image, insert_in=plot)
        self.heat_plot = plot

    def _make_bars(self) -> None:
        plot = style.style_plot(self.view.addPlot(0, 1), "Latest step", "log₁₀ ‖gradient‖", "",
                                grid=True)
        plot.invertY(True)
        plot.setMouseEnabled(x=False, y=False)
        plot.setYLink(self.heat_plot)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        plot.addItem(self.bars)
        self.view.ci.layout.setColumnStretchFactor(0, 2)  # the bars carry labels too
        self.view.ci.layout.setColumnStretchFactor(1, 1)
        self.bar_plot = plot

    # ----- data -------------------------------------------------------------------------------
    def start(self, names: Sequence[str]) -> None:
        """A new run (or a run read from disk) with these layers."""
        self.names = tuple(names)
        self.history = LayerHistory(len(self.names), self.columns)
        self.latest = np.zeros(len(self.names))
        self.latest_step = 0
        self.image.clear()
        self.bars.setOpts(x0=[], y=[], width=[], brushes=[])
        self.stack.set_empty(True)
        self.readout.hide()
        self._label_layers()
        self.alerts.hide()

    def _label_layers(self) -> None:
        """The layer names beside the heatmap's rows and the bars (each may be read alone)."""
        every = max(1, -(-len(self.names) // MAX_TICKS))
        ticks = [(i + 0.5, name) for i, name in enumerate(self.names) if i % every == 0]
        for plot in (self.heat_plot, self.bar_plot):
            plot.getAxis("left").setTicks([ticks, []])
        self.heat_plot.setYRange(0, max(len(self.names), 1), padding=0)

    def follow(self, history: RunHistory, draw: bool = True) -> None:
        """Take in the gradient norms ``history`` gained since the last call (all of them for
        another history, or when its layers changed)."""
        if history is not self.source or history.layer_names != self.names \
                or history.grad_norms.size < self._taken:
            self.source, self._taken = history, 0
            self.start(history.layer_names)
        norms, end = history.grad_norms.array, history.grad_norms.size
        if end > self._taken:
            self.add_step_arrays(history.steps[self._taken:end], norms[:, self._taken:end].T,
                                 draw)
        self._taken = end

    def add_step_arrays(self, steps: np.ndarray, norms: np.ndarray, draw: bool = True) -> None:
        """One row of per-layer norms per step (norms: steps × layers); ``draw=False``
        leaves the drawing to a later ``redraw``."""
        if len(steps) == 0 or not self.names or norms.shape[1] != len(self.names):
            return  # no layers recorded (telemetry off): the hint stays
        self.history.append(steps, norms)
        self.latest, self.latest_step = norms[-1], int(steps[-1])
        if draw:
            self.redraw()
        else:
            self.dirty = True

    def redraw(self) -> None:
        self.dirty = False
        h = self.history
        self.stack.set_empty(h.used == 0)
        self.readout.setVisible(h.used > 0)
        if h.used == 0:
            self._show_latest()
            return
        shown = log_norms(h.matrix)
        low, high = self._levels(shown)
        shown[np.isposinf(shown)] = high  # an exploding layer is the hottest colour
        self.image.setImage(shown, autoLevels=False)
        self.colour_bar.setLevels((low, high))
        self.image.setRect(QRectF(h.first_step - 0.5, 0, h.used * h.stride, len(self.names)))
        self._show_latest()
        style.settle_ranges(self.heat_plot, self.bar_plot)

    @staticmethod
    def _levels(shown: np.ndarray) -> tuple[float, float]:
        finite = shown[np.isfinite(shown)]
        if finite.size == 0:
            return -6.0, 0.0
        low, high = np.percentile(finite, (1, 100))
        low = min(low, high - 1.0)  # at least one decade, so flat runs do not look noisy
        return float(np.floor(low * 2) / 2), float(np.ceil(high * 2) / 2)

    def _show_latest(self) -> None:
        if not len(self.latest):
            return
        values = log_norms(np.asarray(self.latest, dtype=np.float64))
        low, high = self.colour_bar.levels()
        finite = np.isfinite(values)
        ends = np.where(finite, values, high)
        span = max(high - low, 1e-9)
        brushes = [pg.mkBrush(style.map_colour((v - low) / span) if ok else style.VALIDATION)
                   for v, ok in zip(ends, finite)]
        self.bars.setOpts(x0=np.full(len(ends), low), y=np.arange(len(ends)) + 0.5,
                          width=ends - low, brushes=brushes)
        self.bar_plot.setXRange(low, high, padding=0.02)
        alerts = gradient_alerts(self.names, self.latest)
        self.alerts.setText(" ".join(alerts) + (f" (step {self.latest_step:,})" if alerts else ""))
        self.alerts.setVisible(bool(alerts))

    # ----- read-out ---------------------------------------------------------------------------
    def _on_mouse_moved(self, event: tuple) -> None:
        position = event[0]
        for plot, in_history in ((self.heat_plot, True), (self.bar_plot, False)):
            if plot.sceneBoundingRect().contains(position):
                point = plot.vb.mapSceneToView(position)
                self.describe(point.x(), point.y(), in_history)
                return

    def describe(self, x: float, y: float, in_history: bool = True) -> str:
        """Read out the value under (x = step, y = layer row); returns the text shown."""
        row = int(np.floor(y))
        if not 0 <= row < len(self.names):
            return ""
        if in_history:
            text = self._describe_history(x, row)
        else:
            text = (f"{self.names[row]} · step {self.latest_step:,} · ‖gradient‖ = "
                    f"{self.latest[row]:.3g}" if len(self.latest) else "")
        if text:
            self.readout.setText(text)
        return text

    def _describe_history(self, x: float, row: int) -> str:
        h = self.history
        column = int(np.floor((x - h.first_step + 0.5) / h.stride))
        if not 0 <= column < h.used:
            return ""
        first, last = h.column_steps(column)
        steps = f"step {first:,}" if first == last else f"steps {first:,}–{last:,} (mean)"
        return f"{self.names[row]} · {steps} · ‖gradient‖ = {h.matrix[row, column]:.3g}"
