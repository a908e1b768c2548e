"""The training views in one tab widget: curves, gradients, confusion, a dense run's
predictions and the runs list with the comparison. They render a ``RunHistory`` (and run
directories, for the comparison); they never read the engine.

The plots are made on first use: they take a while to build, and most editing sessions never
train.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from ...train.history import RunHistory
from .runs import RunsPanel

if TYPE_CHECKING:  # pyqtgraph comes with the plots, on first use, not with the window
    from .plots import MetricPlots

TAB_CURVES, TAB_GRADIENTS, TAB_CONFUSION, TAB_PREDICTIONS, TAB_RUNS = range(5)
CONFUSION_TITLES = {"segmentation": "Pixel Confusion"}  # others: "Confusion"
# While a run streams, the heatmap is redrawn at most this often: each redraw recolours the
# whole layers × columns image (as long as a redraw of the curves), and a column a step
# cannot be read at ten frames a second anyway. The curves follow every render.
HEATMAP_SECONDS = 0.5


class TrainingViews:
    """The tabs, the views in them and the history they show."""

    def __init__(self, parent: QWidget):
        self.parent = parent
        self.tabs = QTabWidget(parent)
        self.runs = RunsPanel(parent)
        self.history = RunHistory()
        self.plots: MetricPlots | None = None
        self.clock = time.monotonic  # when the heatmap was last drawn (a test sets its own)
        self._heatmap_drawn = -math.inf
        self.runs.selection_changed.connect(self._on_runs_selected)

    def ensure(self) -> None:
        """Make the plots (once)."""
        if self.plots is not None:
            return
        from .compare_view import CompareView
        from .confusion import ConfusionView
        from .heatmap import GradientView
        from .plots import MetricPlots
        from .predictions import PredictionsView

        p = self.parent
        self.plots = MetricPlots(p)
        self.gradients = GradientView(p)
        self.confusion = ConfusionView(p)
        self.predictions = PredictionsView(p)
        self.compare = CompareView(p)
        # The list with the differences of the selected runs below it; their curves beside.
        left = QSplitter(Qt.Orientation.Vertical, p)
        left.addWidget(self.runs)
        left.addWidget(self.compare.differences)
        left.setSizes([170, 130])
        runs_tab = QSplitter(Qt.Orientation.Horizontal, p)
        runs_tab.addWidget(left)
        runs_tab.addWidget(self.compare)
        runs_tab.setSizes([470, 830])
        for widget, title in ((self.plots, "Curves"), (self.gradients, "Gradients"),
                              (self.confusion, "Confusion"),
                              (self.predictions, "Predictions"), (runs_tab, "Runs")):
            self.tabs.addTab(widget, title)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.show_history(self.history)

    def show_history(self, history: RunHistory) -> None:
        """Let every view render ``history`` (a new run, or a run read from its directory)."""
        self.ensure()
        self.history = history
        self.plots.show_history(history)
        self.gradients.follow(history)
        self.confusion.show_history(history)
        self.predictions.show_history(history)
        self._fit_task(history)

    def clear(self) -> None:
        """Show nothing: an empty history, no comparison, no run selected."""
        if self.plots is None:
            self.history = RunHistory()
            return
        self.show_history(RunHistory())
        self.compare.show_runs([])
        self.runs.table.clearSelection()

    def history_grew(self, epochs: bool) -> None:
        """Records went into the history: take them in; drawing waits for ``draw``.
        ``epochs``: an epoch ended or a preview came (the per-epoch views follow)."""
        self.ensure()
        self.plots.changed(draw=False)
        self.gradients.follow(self.history, draw=False)
        if epochs:
            self.confusion.show_history(self.history)
            self.predictions.show_history(self.history)
            self._fit_task(self.history)

    def _fit_task(self, history: RunHistory) -> None:
        """A detector has no confusion matrix (its tab goes); a segmenter's counts pixels."""
        detection = history.task == "detection"
        if detection and self.tabs.currentIndex() == TAB_CONFUSION:
            self.tabs.setCurrentIndex(TAB_CURVES)
        self.tabs.setTabVisible(TAB_CONFUSION, not detection)
        self.tabs.setTabText(TAB_CONFUSION, CONFUSION_TITLES.get(history.task, "Confusion"))

    def draw(self, all_views: bool) -> None:
        """Draw what the history gained: the view on show, or every view (``all_views``, at
        the end of a run). A hidden view is drawn when it is shown; the heatmap at most every
        ``HEATMAP_SECONDS`` unless ``all_views``."""
        if self.plots is None:
            return
        shown = self.tabs.currentWidget()
        if self.plots.dirty and (shown is self.plots or all_views):
            self.plots.redraw()
        heatmap = self.gradients
        due = all_views or self.clock() - self._heatmap_drawn >= HEATMAP_SECONDS
        if heatmap.dirty and (shown is heatmap or all_views) and due:
            self._draw_heatmap()

    def _draw_heatmap(self) -> None:
        self._heatmap_drawn = self.clock()
        self.gradients.redraw()

    def show_tab(self, index: int) -> None:
        self.ensure()
        self.tabs.setCurrentIndex(index)

    def show_comparison(self, paths: list[Path], labels: Sequence[str] = ()) -> None:
        self.ensure()
        self.runs.select_paths(paths)
        self.compare.show_runs(paths, labels)
        self.tabs.setCurrentIndex(TAB_RUNS)

    def _on_tab_changed(self, index: int) -> None:
        view = self.tabs.currentWidget()
        if view is self.gradients and view.dirty:
            self._draw_heatmap()
        elif getattr(view, "dirty", False):
            view.redraw()

    def _on_runs_selected(self, paths: list) -> None:
        if len(paths) >= 2:
            self.ensure()
            self.compare.show_runs(paths)
