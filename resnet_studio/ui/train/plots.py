"""Live curves of a run: loss, accuracy and learning rate against the optimiser step.

Training values arrive per step and are drawn twice: raw (faint) and smoothed by an
exponential moving average (bold); validation values arrive per epoch and are drawn as
markers joined by a line. Every curve is backed by a ``Series`` whose buffers grow by
doubling, and is updated with ``setData`` on slices of them; the plots use peak
downsampling and clip-to-view so that a hundred thousand steps draw as fast as a thousand.
``skipFiniteCheck`` stays off: a diverging run sends NaN and infinities.

For a dense run the accuracy plot shows its task metrics instead: ``val_acc`` holds the main
one (mAP@0.5, or mean IoU), the others are curves beside it, and the step "accuracy" is a
segmenter's pixel accuracy (a detector has none, and its training curves go).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...train.history import (
    DEFAULT_SMOOTHING,
    MAIN_METRIC,
    METRIC_LABELS,
    RunHistory,
    Series,
    Smoothed,
)
from ..widgets.empty_state import EmptyState
from ..widgets.spin_boxes import DoubleSpinBox
from . import plotstyle as style

CROSSHAIR_HZ = 30
# The accuracy plot's title and unit, by task: a dense run's val_acc is not an accuracy.
ACC_TITLES = {"classification": ("Accuracy", "top-1"), "detection": ("mAP", "mAP (COCO)"),
              "segmentation": ("Mean IoU", "IoU, share of pixels")}
# A detector's loss is the sum of its head's losses (classifier, box, RPN), not one entropy.
LOSS_UNITS = {"detection": "sum of losses"}
METRIC_COLOURS = ("#7b3294", "#1a7f37", "#e69f00")  # further task metrics, in order


class MetricCurves:
    """One plot's curves of a history: raw training values, their moving average and
    validation values (the history holds the points; this draws them)."""

    def __init__(self, plot: pg.PlotItem, colour, validation: bool = True):
        self.plot = plot
        self.raw_item = plot.plot(pen=pg.mkPen(style.faint(colour), width=1), name="train")
        self.smooth_item = plot.plot(pen=pg.mkPen(colour, width=2.2), name="smoothed")
        self.val_item = None
        if validation:
            self.val_item = plot.plot(pen=pg.mkPen(style.VALIDATION, width=2), symbol="o",
                                      symbolSize=6, symbolBrush=style.VALIDATION,
                                      symbolPen=None, name="validation")
        self.show(Smoothed(), Series())

    def show(self, series: Smoothed, val: Series) -> None:
        self.series, self.val = series, val

    @property
    def raw(self) -> Series:
        return self.series.raw

    @property
    def smooth(self) -> Series:
        return self.series.smooth

    def redraw(self) -> None:
        self.raw_item.setData(self.raw.x, self.raw.y)
        self.smooth_item.setData(self.smooth.x, self.smooth.y)
        if self.val_item is not None:
            self.val_item.setData(self.val.x, self.val.y)


CURVES_HINT = ("A run's loss, accuracy and learning rate are drawn here as it trains.\n"
               "Press Train to start one, or pick a finished run in the Runs tab.")


class MetricPlots(QWidget):
    """Loss, accuracy and learning rate of a ``RunHistory``, side by side, with a crosshair
    read-out. The smoothing box sets the history's moving average."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self.loss_plot = style.style_plot(self.view.addPlot(0, 0), "Loss", "step",
                                          "cross-entropy")
        self.acc_plot = style.style_plot(self.view.addPlot(0, 1), "Accuracy", "step", "top-1")
        self.lr_plot = style.style_plot(self.view.addPlot(0, 2), "Learning rate", "step", "lr")
        self.legends = [style.add_legend(plot, self.view.ci, 1, col)
                        for col, plot in enumerate((self.loss_plot, self.acc_plot))]
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.loss = MetricCurves(self.loss_plot, style.TRAIN)
        self.accuracy = MetricCurves(self.acc_plot, style.TRAIN)
        self.history = RunHistory()
        self.metric_items: dict[str, pg.PlotDataItem] = {}  # task metrics besides val_acc
        self._task_key: tuple = ("classification", ())
        self.loss_unit = "cross-entropy"
        self.dirty = False  # the history holds points the curves do not show yet
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
        self.stack = EmptyState(self.view, CURVES_HINT, self)
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
        layout.addWidget(self.stack, 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        style.fit_legends(self.view, self.legends, event.size().width())

    def _crosshair(self, plot: pg.PlotItem) -> pg.InfiniteLine:
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(style.AXIS, width=1,
                                                                     style=Qt.PenStyle.DashLine))
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        return line

    # ----- data -------------------------------------------------------------------------------
    @property
    def lr(self) -> Series:
        return self.history.lr

    @property
    def points(self) -> int:
        return len(self.history)

    def show_history(self, history: RunHistory, draw: bool = True) -> None:
        """Draw ``history`` from now on (with this view's smoothing)."""
        self.history = history
        if history.smoothing != self.smoothing.value():
            history.set_smoothing(self.smoothing.value())
        self.loss.show(history.loss, history.val_loss)
        self.accuracy.show(history.accuracy, history.val_acc)
        self.readout.setText("")
        self.fit_task()
        self.changed(draw)

    def clear(self) -> None:
        self.show_history(RunHistory())

    def changed(self, draw: bool = True) -> None:
        """The history grew; ``draw=False`` leaves the drawing to a later ``redraw`` (the
        controller draws at most ten times a second, whatever the record rate)."""
        if draw:
            self.redraw()
        else:
            self.dirty = True

    def redraw(self) -> None:
        self.dirty = False
        self.stack.set_empty(len(self.history) == 0)
        self.fit_task()
        self.loss.redraw()
        self.accuracy.redraw()
        for key, item in self.metric_items.items():
            series = self.history.task_metrics[key]
            item.setData(series.x, series.y)
        self.lr_item.setData(self.lr.x, self.lr.y)
        finite = self.lr.y[np.isfinite(self.lr.y)]
        if finite.size:  # from zero: a constant rate should read as a flat line, not noise
            self.lr_plot.setYRange(0.0, float(finite.max()) * 1.08 or 1.0, padding=0)
        style.settle_ranges(self.loss_plot, self.acc_plot, self.lr_plot)

    def fit_task(self) -> None:
        """Title, unit, legend and task-metric curves of the accuracy plot for the history's
        task (its metrics are known after the first epoch, a run without a graph's task too)."""
        h = self.history
        key = (h.task, tuple(h.task_metrics))
        if key == self._task_key:
            return
        self._task_key = key
        self.loss_unit = LOSS_UNITS.get(h.task, "cross-entropy")
        self.set_log_loss(self.log_loss.isChecked())
        title, unit = ACC_TITLES.get(h.task, ACC_TITLES["classification"])
        self.acc_plot.setTitle(title, color=style.TEXT.name(), size="10pt")
        self.acc_plot.getAxis("left").setLabel(unit, color=style.AXIS.name())
        for item in self.metric_items.values():
            self.acc_plot.removeItem(item)
        legend, curves, train = self.legends[1], self.accuracy, h.train_acc_label
        legend.clear()
        if train is not None and h.dense:  # faint and bold: the loss plot's legend says so
            legend.addItem(curves.smooth_item, f"train {_short(train)}")
        elif train is not None:
            legend.addItem(curves.raw_item, "train")
            legend.addItem(curves.smooth_item, "smoothed")
        curves.raw_item.setVisible(train is not None)
        curves.smooth_item.setVisible(train is not None)
        legend.addItem(curves.val_item, f"val {h.val_acc_label}" if h.dense else "validation")
        others = [k for k in h.task_metrics if k != MAIN_METRIC.get(h.task)]
        self.metric_items = {k: self.acc_plot.plot(
            pen=pg.mkPen(colour, width=2), symbol="s", symbolSize=6, symbolBrush=colour,
            symbolPen=None, name=f"val {_short(METRIC_LABELS.get(k, k))}")
            for k, colour in zip(others, METRIC_COLOURS)}
        style.fit_legends(self.view, self.legends, self.width())

    # ----- options ----------------------------------------------------------------------------
    def set_log_loss(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        unit = self.loss_unit
        self.loss_plot.getAxis("left").setLabel(f"{unit} (log)" if on else unit,
                                                color=style.AXIS.name())

    def _on_smoothing_changed(self, value: float) -> None:
        self.history.set_smoothing(value)
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
        h = self.history
        for name, val_name, curves in (("loss", "loss", self.loss),
                                       (h.train_acc_label, h.val_acc_label, self.accuracy)):
            if name is not None:
                raw, smooth = curves.raw.nearest(x), curves.smooth.nearest(x)
                parts.append(f"{name} {raw[1]:.4g} (smoothed {smooth[1]:.4g})")
            val = curves.val.nearest(x)
            if val is not None:
                parts.append(f"val {val_name} {val[1]:.4g} @ {val[0]:,.0f}")
        for key in self.metric_items:
            val = h.task_metrics[key].nearest(x)
            if val is not None:
                parts.append(f"val {METRIC_LABELS.get(key, key)} {val[1]:.4g}")
        lr = self.lr.nearest(x)
        parts.append(f"lr {lr[1]:.3g}")
        text = " · ".join(parts)
        self.readout.setText(text)
        return text


def _short(label: str) -> str:
    """A metric's name for a legend under a narrow plot."""
    return label.replace("accuracy", "acc.")
