"""The comparison of runs: the selected runs' curves overlaid, and how their settings and
architectures differ — for a network and its plain twin, the removed shortcuts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from ...train.compare import describe_differences
from ...train.history import RunHistory, ema
from ...train.rundir import RunReadError
from ..widgets.empty_state import EmptyState
from . import plotstyle as style
from .runs import short_name

# What the runs' val_acc holds, by their task ("mixed": runs of several tasks).
VALIDATION_TITLES = {"classification": ("Validation accuracy", "top-1"),
                     "detection": ("Validation mAP@0.5", "mAP@0.5"),
                     "segmentation": ("Validation mean IoU", "mean IoU"),
                     "mixed": ("Validation score (accuracy, mAP@0.5 or mean IoU)", "score")}
LOSS_UNITS = {"detection": "sum of losses", "mixed": "loss"}
COMPARE_HINT = ("Select two or more runs in the list (Ctrl+click or Shift+click) to overlay "
                "their curves here.")


class CompareView(QWidget):
    """Overlays the selected runs' curves and lists their differences."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self.loss_plot = style.style_plot(self.view.addPlot(0, 0), "Training loss (smoothed)",
                                          "step", "cross-entropy")
        self.acc_plot = style.style_plot(self.view.addPlot(0, 1), "Validation accuracy",
                                         "epoch", "top-1")
        for col, plot in enumerate((self.loss_plot, self.acc_plot)):
            style.add_legend(plot, self.view.ci, 1, col, columns=2)  # long run names
        # The differences are shown by the runs list (see ``RunsTab``), where there is room.
        self.differences = QPlainTextEdit(self, readOnly=True)
        self.differences.setPlaceholderText("Select two or more runs to compare them "
                                            "(Ctrl+click or Shift+click).")
        self.stack = EmptyState(self.view, COMPARE_HINT, self)
        self.shown: list[Path] = []
        self.tasks: set[str] = set()  # of the shown runs
        self.names: list[str] = []  # the legend's names of the shown runs
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def show_runs(self, paths: Sequence[Path], labels: Sequence[str] = ()) -> None:
        """Overlay ``paths``; ``labels`` (one per path) say what each is ("residual")."""
        self.loss_plot.clear()
        self.acc_plot.clear()
        self.tasks: set[str] = set()
        self.shown = list(paths)
        self.names = [f"{label}: {short_name(p)}" if label else short_name(p)
                      for p, label in zip(paths, [*labels, *[""] * len(paths)])]
        for i, path in enumerate(paths):
            colour = style.RUN_COLOURS[i % len(style.RUN_COLOURS)]
            try:
                history = RunHistory.load(path)
            except RunReadError:
                continue  # deleted since it was listed: the differences below say nothing
            self._overlay(self.names[i], history, colour)
            self.tasks.add(history.task)
        self._label_axes()
        self.differences.setPlainText(self.describe_differences(paths))
        self.stack.set_empty(not self.shown)

    def _overlay(self, name: str, history: RunHistory, colour: str) -> None:
        if len(history):
            smooth = ema(history.loss.raw.y, 0.05)
            self.loss_plot.plot(history.steps, smooth, pen=pg.mkPen(colour, width=2), name=name)
        if history.val_acc.size:
            epochs = np.arange(1, history.val_acc.size + 1, dtype=np.float64)
            self.acc_plot.plot(epochs, history.val_acc.y, pen=pg.mkPen(colour, width=2),
                               symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None,
                               name=name)

    def _label_axes(self) -> None:
        """Name what the runs' val_acc holds: accuracy, mAP@0.5 or mean IoU (runs of several
        tasks: each run's own main score)."""
        mixed = len(self.tasks) > 1
        task = "mixed" if mixed else next(iter(self.tasks), "classification")
        title, unit = VALIDATION_TITLES[task]
        self.acc_plot.setTitle(title, color=style.TEXT.name(), size="10pt")
        self.acc_plot.getAxis("left").setLabel(unit, color=style.AXIS.name())
        self.loss_plot.getAxis("left").setLabel(LOSS_UNITS.get(task, "cross-entropy"),
                                                color=style.AXIS.name())

    @staticmethod
    def describe_differences(paths: Sequence[Path]) -> str:
        return describe_differences(paths, [short_name(p) for p in paths])
