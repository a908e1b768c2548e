"""The results of a study: progress, what it found, overlaid curves, the sortable tables
(one row per configuration with mean ± 95 % interval over its seeds, one row per run) and
the charts.

The curves are pyqtgraph plots (training error, smoothed, and validation error against the
step, one line per configuration: the mean of its seeds, each seed faint behind it) with one
legend for both, in a column of its own so that it never covers a curve. The charts are the
very figures the CLI writes (``study.figures``, drawn by matplotlib on a Qt canvas), so the
app and ``resnet-studio experiment`` show the same thing.
The view renders ``StudyResults`` and ``Progress`` reports; it never reads a queue. With no
study open it shows a few lines saying what a study is and how to start one, in place of
charts with nothing in them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...study import figures, report
from ...study.aggregate import NOTHING_LEARNED
from ...study.estimate import run_steps
from ...study.queue import Progress
from ...study.results import StudyResults
from ...train.progress import format_duration
from ..data.wording import app_wording
from ..train import plotstyle as style
from ..widgets.empty_state import EmptyState
from .live import LiveCurves
from .table import ResultsModel, ResultsProxy, summary_rows

TAB_CURVES, TAB_SUMMARY, TAB_TABLE, TAB_CHARTS = range(4)
FAINT = 70  # alpha (of 255) of each seed's own curve behind the mean
PROGRESS_STEPS = 1000
ERROR_MARGIN = 3  # percentage points shown beyond 0 and 100 %, so a line at either shows
NO_STUDY = "No study open."
EMPTY = ("<p>A study trains several versions of this network and compares them: deeper and "
         "shallower, with and without skip connections, with other residual blocks, or "
         "with other training settings. Each run is an ordinary training run; their curves, "
         "tables and charts appear here as they train.</p>"
         "<p>Choose a kind on the left and press <b>Start Study</b> (Ctrl+Return), or open "
         "an earlier study (Experiments ▸ Open Study…).</p>")
CHARTS: dict[str, list[tuple[str, Callable[[StudyResults], Any]]]] = {
    "degradation": [("Error against depth", figures.draw_degradation)],
    "variants": [("Error of each variant", figures.draw_bars),
                 ("Accuracy against parameters", figures.draw_pareto),
                 ("Accuracy against MACs", lambda r: figures.draw_pareto(r, "macs"))],
    "sweep": [("Sweep", figures.draw_sweep),
              ("Accuracy against parameters", figures.draw_pareto)],
    "twin": [("Error of each network", figures.draw_bars), ("Curves", figures.draw_curves)],
}


class StudyCurves(QWidget):
    """Training and validation error of every run against the step, one shared legend."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self.train_plot = style.style_plot(self.view.addPlot(0, 0),
                                           "Training error (moving average)", "step", "error (%)")
        self.val_plot = style.style_plot(self.view.addPlot(0, 1),
                                         "Validation error (each epoch)", "step", "error (%)")
        self.val_plot.setXLink(self.train_plot)
        for plot in (self.train_plot, self.val_plot):  # an error lies in 0–100 %
            plot.setLimits(yMin=-ERROR_MARGIN, yMax=100 + ERROR_MARGIN)
        self.legend = pg.LegendItem(labelTextSize="8pt", labelTextColor=style.TEXT)
        # Its own column, so that it never covers a curve; its own size, not the row's height
        # (stretched, pyqtgraph spreads the entries and parts each label from its sample).
        self.legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.view.addItem(self.legend, 0, 2)
        self.view.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)
        self.labels: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def clear(self) -> None:
        self.train_plot.clear()
        self.val_plot.clear()
        self.legend.clear()
        self.labels = []

    def show_results(self, results: StudyResults) -> None:
        self.clear()
        self._frame(results)
        styles = dict(zip((r.name for r in results.study.runs), pens(results)))
        specs = {r.name: r for r in results.study.runs}
        for config in results.summary:
            runs = [results.curves[name] for name in config.runs]
            pen = styles[specs[config.runs[0]].name]
            train = [(r.step, 100 * figures.smooth(1 - np.nan_to_num(r.accuracy)))
                     for r in runs if len(r.step)]
            val = [(r.epoch_step, 100 * (1 - r.val_acc)) for r in runs if len(r.epoch_step)]
            items = [item for item in (self._repeats(self.train_plot, train, pen, False),
                                       self._repeats(self.val_plot, val, pen, True)) if item]
            if items:
                self.legend.addItem(items[0], config.label)
                self.labels.append(config.label)
        style.settle_ranges(self.train_plot, self.val_plot)

    def _frame(self, results: StudyResults) -> None:
        """Until the first points arrive: error 0–100 % over the longest run's steps (not
        pyqtgraph's 0–1 of an empty plot, which reads as a fraction); the ranges follow the
        data once there are any."""
        steps = [run_steps(spec.config) or 0 for spec in results.study.runs]
        for plot in (self.train_plot, self.val_plot):
            plot.setRange(xRange=(0, max(steps, default=0) or 1), yRange=(0, 100), padding=0)
            plot.enableAutoRange()

    @staticmethod
    def _repeats(plot: Any, curves: list[tuple[np.ndarray, np.ndarray]], pen: Any,
                 symbols: bool) -> Any:
        """Each seed faintly (when several), then their mean; returns the mean's item."""
        if not curves:
            return None
        if len(curves) > 1:
            colour = pen.color()
            colour.setAlpha(FAINT)
            for x, y in curves:
                plot.plot(x, y, pen=pg.mkPen(colour, width=1))
        x, y = figures.mean_curve([c[0] for c in curves], [c[1] for c in curves])
        marks = ({"symbol": "o", "symbolSize": 5, "symbolPen": None,
                  "symbolBrush": pen.color()} if symbols else {})
        return plot.plot(x, y, pen=pen, **marks)


def pens(results: StudyResults) -> list[Any]:
    """One pen per run: by depth with plain twins dashed (degradation), else a palette colour
    per configuration (its seeds share it)."""
    runs = results.study.runs
    if results.study.kind == "degradation":
        depths = results.study.settings.get("depths") or sorted({r.values["depth"]
                                                                 for r in runs})
        spread = max(len(depths) - 1, 1)
        return [pg.mkPen(style.map_colour(0.85 * depths.index(r.values["depth"]) / spread),
                         width=2, style=Qt.PenStyle.SolidLine if r.values["skip"]
                         else Qt.PenStyle.DashLine) for r in runs]
    index = {name: i for i, config in enumerate(results.summary) for name in config.runs}
    return [pg.mkPen(style.RUN_COLOURS[index[r.name] % len(style.RUN_COLOURS)], width=2)
            for r in runs]


class StudyCharts(QWidget):
    """The study kind's figures from ``study.figures`` on a matplotlib Qt canvas."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox(self)
        self.choice.currentIndexChanged.connect(self.redraw)
        self.results: StudyResults | None = None
        self.canvas: QWidget | None = None
        self.figure: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Chart", self))
        bar.addWidget(self.choice)
        bar.addStretch(1)
        self._layout.addLayout(bar)

    def show_results(self, results: StudyResults) -> None:
        titles = [t for t, _ in CHARTS[results.study.kind]]
        self.results = results
        if titles != [self.choice.itemText(i) for i in range(self.choice.count())]:
            self.choice.blockSignals(True)
            self.choice.clear()
            self.choice.addItems(titles)
            self.choice.blockSignals(False)
        self.redraw()

    def clear(self) -> None:
        self.results, self.figure = None, None
        if self.canvas is not None:
            self._layout.removeWidget(self.canvas)
            self.canvas.deleteLater()
            self.canvas = None

    def redraw(self) -> None:
        if self.results is None or self.choice.currentIndex() < 0:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        draw = CHARTS[self.results.study.kind][self.choice.currentIndex()][1]
        self.figure = draw(self.results)
        canvas = FigureCanvasQTAgg(self.figure)
        canvas.setParent(self)
        if self.canvas is not None:
            self._layout.removeWidget(self.canvas)
            self.canvas.deleteLater()
        self.canvas = canvas
        self._layout.addWidget(canvas, 1)


def findings_html(results: StudyResults) -> str:
    """The sentence that matters and the notes; the budget warning in bold red."""
    lines = [html.escape(report.headline(results))]
    for note in report.notes(results):
        text = html.escape(app_wording(note))
        lines.append(f"<b style='color:#cf222e'>{text}</b>" if note == NOTHING_LEARNED
                     else f"<i>{text}</i>")
    return "<br>".join(lines)


class StudyView(QWidget):
    """A study's progress and results. The buttons are the feature's to connect."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.results: StudyResults | None = None
        self._lines: dict[int, str] = {}  # the runs in progress: index → their line
        self.title = QLabel(NO_STUDY, self)
        self.title.setStyleSheet("font-weight: 600;")
        self.progress = QProgressBar(self, maximum=PROGRESS_STEPS, textVisible=True)
        self.progress.hide()  # until a study is on show
        self.status = QLabel(self, wordWrap=True)
        self.cancel_button = QPushButton("Stop Study", self, enabled=False)
        self.resume_button = QPushButton("Resume", self, enabled=False)
        self.export_button = QPushButton("Export Figures…", self, enabled=False)
        self.export_button.setToolTip("Write the table (CSV, JSON) and the figures (PNG, SVG) "
                                      "to a folder, as resnet-studio experiment report does")
        self.csv_button = QPushButton("Export CSV…", self, enabled=False)
        self.findings = QLabel(self, wordWrap=True)
        self.findings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = StudyCurves(self)
        self.live = LiveCurves(self.curves)  # the running run's lines, fed by the feature
        self.summary_model = ResultsModel(self)
        self.summary_proxy = ResultsProxy(self)
        self.summary_proxy.setSourceModel(self.summary_model)
        self.summary = self._table(self.summary_proxy)
        self.model = ResultsModel(self)
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = self._table(self.proxy)
        self.charts = StudyCharts(self)
        self.tabs = QTabWidget(self)
        for widget, title in ((self.curves, "Curves"), (self.summary, "Summary"),
                              (self.table, "Runs"), (self.charts, "Charts")):
            self.tabs.addTab(widget, title)
        self.pages = EmptyState(self.tabs, EMPTY, self, max_width=560)
        self.empty = self.pages.hint
        self._lay_out()

    @property
    def showing_results(self) -> bool:
        """Whether the charts and tables are on show (not the empty state's text)."""
        return not self.pages.empty

    def _table(self, proxy: ResultsProxy) -> QTableView:
        table = QTableView(self)
        table.setModel(proxy)
        table.setSortingEnabled(True)
        # Plan order until a column is clicked (Qt would start sorted by the first column).
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().hide()
        return table

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for button in (self.cancel_button, self.resume_button, self.export_button,
                       self.csv_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.findings)
        layout.addWidget(self.pages, 1)

    # ----- showing ----------------------------------------------------------------------------
    def clear(self) -> None:
        """No study on show (another project is open)."""
        self.results = None
        self._lines = {}
        self.title.setText(NO_STUDY)
        self.progress.setValue(0)
        self.progress.hide()
        self.pages.set_empty(True)
        for label in (self.status, self.findings):
            label.clear()
        self.curves.clear()
        self.summary_model.set_rows([])
        self.model.set_rows([])
        self.charts.clear()
        self.export_button.setEnabled(False)
        self.csv_button.setEnabled(False)

    def show_results(self, results: StudyResults) -> None:
        """Render ``results`` in every tab (the table keeps its sort column)."""
        self.results = results
        self.title.setText(results.study.title)
        self.progress.show()
        self.pages.set_empty(False)
        self.curves.show_results(results)
        self.live.reset(results)
        self.findings.setText(findings_html(results))
        self.summary_model.set_rows(summary_rows(results.summary))
        self.summary.resizeColumnsToContents()
        self.model.set_rows(results.rows)
        self.table.resizeColumnsToContents()
        self.charts.show_results(results)
        self.export_button.setEnabled(True)
        self.csv_button.setEnabled(True)

    def set_fraction(self, fraction: float) -> None:
        """The bar: the study's progress (``study.progress.StudyProgress.fraction``)."""
        self.progress.setValue(round(PROGRESS_STEPS * fraction))

    def set_running(self, running: bool, resumable: bool = False) -> None:
        if not running:
            self._lines = {}
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and resumable)

    def show_progress(self, p: Progress) -> str:
        """Move the bar (the whole study) and say which runs train, a line each (several
        train at once with "Run at once"); returns the line of this report."""
        self.set_fraction(p.fraction)
        line = self._run_line(p)
        if p.event in ("start", "step"):
            self._lines[p.index] = line
        else:
            self._lines.pop(p.index, None)
        eta = "" if p.study_eta is None else f" · study ETA {format_duration(p.study_eta)}"
        shown = [self._lines[i] for i in sorted(self._lines)] or [line]
        self.status.setText("\n".join(shown) + eta)
        return line + eta

    @staticmethod
    def _run_line(p: Progress) -> str:
        where = f"Run {p.index + 1} of {p.count}: {p.label}"
        if p.event == "step":
            text = f"{where} · step {p.step:,} of {p.total_steps:,}"
            if p.run_eta is not None:
                text += f" · run ETA {format_duration(p.run_eta)}"
        elif p.event == "start":
            text = f"{where} · {'resuming' if p.message else 'starting'}"
        elif p.event == "end":
            text = f"{where} · {p.status}" + (f": {p.message}" if p.message else "")
        else:
            text = f"{where} · {p.status}, skipped"
        return text

    def show_status(self, text: str) -> None:
        self.status.setText(text)
