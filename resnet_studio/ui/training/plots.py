"""Live curves of a run: loss, accuracy and learning rate against the optimiser step.

Training values arrive per step and are drawn twice: raw (faint) and smoothed by an
exponential moving average (bold); validation values arrive per epoch and are drawn as
markers joined by a line. Every curve is backed by a ``Series`` whose buffers grow by
doubling, and is updated with ``setData`` on slices of them; the plots use peak
downsampling and clip-to-view so that a hundred thousand steps draw as fast as a thousand.
``skipFiniteCheck`` stays off: a diverging run sends NaN and infinities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...train.records import EpochRecord, StepRecord
from ..spin_boxes import DoubleSpinBox
from . import plotstyle as style
from .series import Series, ema

DEFAULT_SMOOTHING = 0.9  # the EMA keeps this share of the past at each step
CROSSHAIR_HZ = 30


class MetricCurves:
    """One plot's curves: raw training values, their moving average and validation values."""

    def __init__(self, plot: pg.PlotItem, colour, validation: bool = True):
        self.plot = plot
        self.raw, self.smooth, self.val = Series(), Series(), Series()
        self._ema_state: float | None = None
        self.raw_item = plot.plot(pen=pg.mkPen(style.faint(colour), width=1), name="train")
        self.smooth_item = plot.plot(pen=pg.mkPen(colour, width=2.2), name="train, smoothed")
        self.val_item = None
        if validation:
            self.val_item = plot.plot(pen=pg.mkPen(style.VALIDATION, width=2), symbol="o",
                                      symbolSize=6, symbolBrush=style.VALIDATION,
                                      symbolPen=None, name="validation")

    def add(self, steps: np.ndarray, values: np.ndarray, alpha: float) -> None:
        smooth = ema(values, alpha, self._ema_state)
        if len(smooth):
            self._ema_state = float(smooth[-1])
        self.raw.extend(steps, values)
        self.smooth.extend(steps, smooth)

    def add_validation(self, steps: np.ndarray, values: np.ndarray) -> None:
        self.val.extend(steps, values)

    def redraw(self) -> None:
        self.raw_item.setData(self.raw.x, self.raw.y)
        self.smooth_item.setData(self.smooth.x, self.smooth.y)
        if self.val_item is not None:
            self.val_item.setData(self.val.x, self.val.y)

    def resmooth(self, alpha: float) -> None:
        smooth = ema(self.raw.y, alpha)
        self._ema_state = float(smooth[-1]) if len(smooth) else None
        self.smooth.clear()
        self.smooth.extend(self.raw.x, smooth)

    def clear(self) -> None:
        for series in (self.raw, self.smooth, self.val):
            series.clear()
        self._ema_state = None
        self.redraw()


class MetricPlots(QWidget):
    """Loss, accuracy and learning rate, side by side, with a crosshair read-out."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self.loss_plot = style.style_plot(self.view.addPlot(0, 0), "Loss", "step",
                                          "cross-entropy")
        self.acc_plot = style.style_plot(self.view.addPlot(0, 1), "Accuracy", "step", "top-1")
        self.lr_plot = style.style_plot(self.view.addPlot(0, 2), "Learning rate", "step", "lr")
        # Where the curves usually are not: top right for a falling loss, top left for a
        # rising accuracy.
        for plot, offset in ((self.loss_plot, (-6, 6)), (self.acc_plot, (6, 6))):
            style.add_legend(plot, offset)
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.loss = MetricCurves(self.loss_plot, style.TRAIN)
        self.accuracy = MetricCurves(self.acc_plot, style.TRAIN)
        self.lr = Series()
        self.dirty = False  # buffers hold points the curves do not show yet
        self.lr_item = self.lr_plot.plot(pen=pg.mkPen(style.LR, width=2))
        self.smoothing = DoubleSpinBox(self, minimum=0.0, maximum=0.999, singleStep=0.05,
                                       decimals=3, value=DEFAULT_SMOOTHING)
        self.smoothing.setToolTip("Share of the past kept by the moving average at each step "
                                  "(0: no smoothing).")
        self.smoothing.valueChanged.connect(self._on_smoothing_changed)
        self.log_loss = QCheckBox("Log-scale loss", self)
        self.log_loss.toggled.connect(self.set_log_loss)
        self.readout = QLabel(self)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self._crosshairs = [self._crosshair(p) for p in (self.loss_plot, self.acc_plot,
                                                         self.lr_plot)]
        self._proxy = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=CROSSHAIR_HZ,
                                     slot=self._on_mouse_moved)
        self._lay_out()

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        bar.addWidget(self.readout, 1)
        bar.addWidget(QLabel("Smoothing", self))
        bar.addWidget(self.smoothing)
        bar.addWidget(self.log_loss)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def _crosshair(self, plot: pg.PlotItem) -> pg.InfiniteLine:
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(style.AXIS, width=1,
                                                                     style=Qt.PenStyle.DashLine))
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        return line

    # ----- data -------------------------------------------------------------------------------
    @property
    def alpha(self) -> float:
        return 1.0 - self.smoothing.value()

    @property
    def points(self) -> int:
        return self.loss.raw.size

    def clear(self) -> None:
        self.loss.clear()
        self.accuracy.clear()
        self.lr.clear()
        self.lr_item.setData([], [])
        self.readout.setText("")

    def add_steps(self, steps: Sequence[StepRecord], draw: bool = True) -> None:
        if not steps:
            return
        n = len(steps)
        self.add_step_arrays(np.fromiter((r.step for r in steps), np.float64, n),
                             np.fromiter((r.loss for r in steps), np.float64, n),
                             np.fromiter((r.accuracy for r in steps), np.float64, n),
                             np.fromiter((r.lr for r in steps), np.float64, n), draw)

    def add_step_arrays(self, x: np.ndarray, loss: np.ndarray, accuracy: np.ndarray,
                        lr: np.ndarray, draw: bool = True) -> None:
        """Append per-step values; ``draw=False`` leaves the drawing to a later ``redraw``
        (the controller draws at most ten times a second, whatever the record rate)."""
        self.loss.add(x, loss, self.alpha)
        self.accuracy.add(x, accuracy, self.alpha)
        self.lr.extend(x, lr)
        self._drawn(draw)

    def add_epochs(self, epochs: Sequence[EpochRecord], draw: bool = True) -> None:
        if not epochs:
            return
        self.add_epoch_arrays(np.array([e.step for e in epochs], np.float64),
                              np.array([e.val_loss for e in epochs], np.float64),
                              np.array([e.val_acc for e in epochs], np.float64), draw)

    def add_epoch_arrays(self, x: np.ndarray, val_loss: np.ndarray, val_acc: np.ndarray,
                         draw: bool = True) -> None:
        self.loss.add_validation(x, val_loss)
        self.accuracy.add_validation(x, val_acc)
        self._drawn(draw)

    def _drawn(self, draw: bool) -> None:
        if draw:
            self.redraw()
        else:
            self.dirty = True

    def redraw(self) -> None:
        self.dirty = False
        self.loss.redraw()
        self.accuracy.redraw()
        self.lr_item.setData(self.lr.x, self.lr.y)
        finite = self.lr.y[np.isfinite(self.lr.y)]
        if finite.size:  # from zero: a constant rate should read as a flat line, not noise
            self.lr_plot.setYRange(0.0, float(finite.max()) * 1.08 or 1.0, padding=0)
        style.settle_ranges(self.loss_plot, self.acc_plot, self.lr_plot)

    # ----- options ----------------------------------------------------------------------------
    def set_log_loss(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.getAxis("left").setLabel("cross-entropy (log)" if on else "cross-entropy",
                                                color=style.AXIS.name())

    def _on_smoothing_changed(self, value: float) -> None:
        self.loss.resmooth(self.alpha)
        self.accuracy.resmooth(self.alpha)
        self.redraw()

    # ----- crosshair --------------------------------------------------------------------------
    def _on_mouse_moved(self, event: tuple) -> None:
        position = event[0]
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            if plot.sceneBoundingRect().contains(position):
                self.show_readout(plot.vb.mapSceneToView(position).x())
                return

    def show_readout(self, step: float) -> str:
        """Put the crosshair at ``step`` and describe the nearest values; returns the text."""
        near = self.loss.raw.nearest(step)
        if near is None:
            return ""
        x = near[0]
        for line in self._crosshairs:
            line.setPos(x)
            line.setVisible(True)
        parts = [f"<b>step {x:,.0f}</b>"]
        for name, curves in (("loss", self.loss), ("accuracy", self.accuracy)):
            raw, smooth = curves.raw.nearest(x), curves.smooth.nearest(x)
            parts.append(f"{name} {raw[1]:.4g} (smoothed {smooth[1]:.4g})")
            val = curves.val.nearest(x)
            if val is not None:
                parts.append(f"val {name} {val[1]:.4g} @ {val[0]:,.0f}")
        lr = self.lr.nearest(x)
        parts.append(f"lr {lr[1]:.3g}")
        text = " · ".join(parts)
        self.readout.setText(text)
        return text
