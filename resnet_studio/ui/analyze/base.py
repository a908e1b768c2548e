"""What every analysis view shares: a title, a line that says what the figure is of, an
honest note on what is shown, the plots, and an Export… button that writes the command line's
files (the same matplotlib figure through ``analysis.figures``, and the numbers as CSV and
JSON) into a chosen folder.

A view of a trained run (``needs_run``) has a Run… button beside its title and names the run
its figure is from; when the run picked above the pages is another, it says so ("from run X —
press Run for Y") rather than let the figure pass for the picked run's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..shell import theme
from .run_picker import NO_TRAINED_RUN


class AnalysisView(QWidget):
    """One tab of the analyses dock. ``show_result`` fills it; ``export(folder)`` writes the
    files and returns their paths; ``export_requested`` asks the feature for a folder."""

    export_requested = Signal()
    run_requested = Signal()  # Run…: analyse the picked run (the feature asks the options)
    title = "Analysis"
    empty_text = "Nothing analysed yet."
    key = "analysis"
    needs_run = False  # True for the analyses of a trained run
    source_text = ""   # what a view that needs no run is of

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: Any = None
        self.context: dict[str, Any] = {}
        self.picked: Path | None = None   # the run picked above the pages
        self.any_run = False              # whether the project has a trained run at all
        self.heading = QLabel(self.title)
        self.heading.setFont(theme.ui_font(10.5, bold=True))
        self.source = QLabel(self.source_text, wordWrap=True)
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_button = QPushButton("Run…")
        self.run_button.setToolTip(f"Run the {self.key} analysis on the picked run (its "
                                   "options are asked first)")
        self.run_button.clicked.connect(self.run_requested)
        self.run_button.setVisible(self.needs_run)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.run_button)
        self.note = QLabel(self.empty_text, wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setStyleSheet(f"color: {theme.MUTED.name()};")
        self.body = QWidget()
        self.body.hide()
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the figure (PNG) and the numbers (CSV, JSON) "
                                      "into a folder, as the command line does")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_requested)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addWidget(self.source)
        layout.addWidget(self.note)
        layout.addWidget(self.body, 1)
        self.filler = QWidget()  # keeps the heading and the note at the top until a result
        layout.addWidget(self.filler, 1)
        layout.addLayout(self.buttons)
        self.show_source()

    def show_result(self, result: Any, context: dict[str, Any]) -> None:
        """Draw ``result``; ``context`` holds what the export needs besides (titles)."""
        self.result, self.context = result, context
        self.filler.hide()
        self.body.show()
        self.export_button.setEnabled(True)
        self.draw(result, context)
        self.show_source()

    def clear(self) -> None:
        """Show nothing (another project is open)."""
        self.result, self.context = None, {}
        self.body.hide()
        self.filler.show()
        self.note.setText(self.empty_text)
        self.export_button.setEnabled(False)
        self.show_source()

    # ----- which run ----------------------------------------------------------------------------
    def figure_runs(self) -> list[Path]:
        """The runs the figure on show is of (the analysed run first, then its twin)."""
        return list(self.context.get("runs", ())) if self.result is not None else []

    def set_picked(self, run: Path | None, any_run: bool) -> None:
        """The run picked above the pages is ``run``; ``any_run``: the project has one."""
        self.picked, self.any_run = run, any_run
        self.show_source()

    def show_source(self) -> None:
        """Say which run the figure is from, and whether Run would analyse another."""
        if not self.needs_run:
            return
        text, stale = self.source_line()
        self.source.setText(text)
        colour = theme.WARNING.darker(140) if stale else theme.TEXT
        self.source.setStyleSheet(f"color: {colour.name()};")
        self.run_button.setEnabled(self.picked is not None)
        self.run_button.setToolTip(
            f"Run the {self.key} analysis on {self.picked.name} (its options are asked first)"
            if self.picked is not None else text)

    def source_line(self) -> tuple[str, bool]:
        """The header's line and whether the figure is of another run than the picked one."""
        shown, picked = self.figure_runs(), self.picked
        if not shown:
            if picked is not None:
                return f"Run {picked.name}: press Run… to analyse it.", False
            return (NO_TRAINED_RUN if not self.any_run else
                    "Pick a run above, then press Run…."), False
        twin = f" (twin: {shown[1].name})" if len(shown) > 1 else ""
        if picked is None or picked == shown[0]:
            return f"From run {shown[0].name}{twin}.", False
        return (f"This figure is from run {shown[0].name}{twin} — press Run… for "
                f"{picked.name}."), True

    def draw(self, result: Any, context: dict[str, Any]) -> None:
        raise NotImplementedError

    def export(self, folder: Path) -> list[Path]:
        raise NotImplementedError


class LogAxis(pg.AxisItem):
    """Log-scale ticks at 1, 2 and 5 × each decade (at each decade only beyond three):
    pyqtgraph labels every minor tick when the range spans few decades, an unreadable pile.
    A range too narrow to hold two of those (a loss between 1.12 and 1.18) gets round values
    evenly spaced instead, labelled with the digits that tell them apart: else the axis would
    carry no number at all."""

    def logTickValues(self, minVal: float, maxVal: float, size: float, stdTicks: Any) -> list:
        low, high = int(np.floor(minVal)), int(np.ceil(maxVal))
        factors = (1,) if high - low > 3 else (1, 2, 5)
        values = [d + float(np.log10(f)) for d in range(low, high + 1) for f in factors]
        inside = [v for v in values if minVal <= v <= maxVal]
        if len(inside) < 2 and maxVal > minVal:
            inside = [float(np.log10(v)) for v in round_values(10 ** minVal, 10 ** maxVal)]
        return [(None, inside)]

    def logTickStrings(self, values: list[float], scale: float, spacing: Any) -> list[str]:
        strings = super().logTickStrings(values, scale, spacing)
        numbers = 10 ** np.asarray(values, dtype=np.float64) * scale
        digits = 2
        while len(set(strings)) < len(strings) and digits <= 6:
            strings = [f"{x:.{digits}g}" for x in numbers]
            digits += 1
        return strings


def round_values(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round values (1, 2 or 5 × a power of ten apart) in [low, high]."""
    raw = (high - low) / count
    magnitude = 10 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = np.ceil(low / step) * step
    return [float(v) for v in np.arange(first, high + step * 1e-9, step) if low <= v <= high]


def plot_widget(title: str, x_label: str, y_label: str, log_y: bool = False) -> pg.PlotWidget:
    """A white plot in the training views' style (``log_y``: a log-scale value axis)."""
    from ..train import plotstyle as style

    axes = {"left": LogAxis("left")} if log_y else None
    widget = pg.PlotWidget(background=style.BACKGROUND, axisItems=axes)
    style.style_plot(widget.getPlotItem(), title, x_label, y_label)
    widget.getPlotItem().setLogMode(y=log_y)
    widget.setMinimumSize(260, 200)
    return widget


def log_room_for_legend(item: pg.PlotItem, arrays: list[np.ndarray], share: float = 0.3) -> None:
    """A log-scale plot's value range with its top ``share`` left free for the legend card in
    its top-right corner (curves that peak at either end ran under it)."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays] or
                            [np.empty(0)])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return
    low, high = float(np.log10(values.min())), float(np.log10(values.max()))
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    item.setYRange(low, low + (high - low) / (1.0 - share), padding=0.04)


def scalar_pixmap(values: np.ndarray, map_name: str, size: int) -> QPixmap:
    """A 2-D array in [0, 1] (NaN: the background) as a colour-mapped picture ``size`` tall."""
    lut = pg.colormap.get(map_name).map(np.nan_to_num(values, nan=0.0).clip(0, 1), mode="byte")
    rgba = np.ascontiguousarray(lut.reshape(*values.shape, 4))
    rgba[np.isnan(values)] = (255, 255, 255, 255)
    return rgba_pixmap(rgba, size)


def rgb_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """An H×W×C picture in [0, 1] (C = 1 or 3) as a pixmap ``size`` pixels tall."""
    rgb = image if image.shape[-1] == 3 else np.repeat(image[..., :1], 3, axis=-1)
    alpha = np.ones((*rgb.shape[:2], 1))
    return rgba_pixmap((np.concatenate([rgb, alpha], -1) * 255).round().astype(np.uint8), size)


def rgba_pixmap(rgba: np.ndarray, size: int) -> QPixmap:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return QPixmap.fromImage(image).scaledToHeight(size, Qt.TransformationMode.FastTransformation)
