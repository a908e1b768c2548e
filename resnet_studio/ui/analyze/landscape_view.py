"""The loss-landscape tab: the 1-D slice of every network as curves, and the 2-D slice of
one of them as a heatmap of log₁₀ loss with contour lines (pyqtgraph's IsocurveItem). A 3-D
surface needs OpenGL, which offscreen and remote sessions often lack, so the app shows the
heatmap and contours; the exported figures include matplotlib's surface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from ...analysis.tables import images
from ..train import plotstyle as style
from .base import AnalysisView, log_room_for_legend, plot_widget

CONTOURS = 12


def landscape_text(results: list[Any]) -> str:
    parts = [f"{r.label}: loss {r.origin_loss:.3g} at the trained weights, up to "
             f"{np.nanmax(r.loss_2d):.3g} on the plane" for r in results]
    r = results[0]
    return ("; ".join(parts) + f". Loss on {images(r.samples)} (validation) at "
            "w + α·d₁ + β·d₂, "
            f"d₁ and d₂ random filter-normalised directions (seed {r.seed}){_norm_note(results)}"
            ". A wide, smooth bowl is easier to optimise.")


def _norm_note(results: list[Any]) -> str:
    """What happens to BatchNorm, said only of networks that have it."""
    with_norm = [r.label for r in results if r.batchnorm_layers]
    if not with_norm:
        return ""
    whose = "" if len(with_norm) == len(results) else f" (in {', '.join(with_norm)})"
    return f"; BatchNorm statistics{whose} stay as trained"


class LandscapeView(AnalysisView):
    title = "Loss landscape around the trained weights"
    empty_text = "Nothing analysed yet: the loss is measured on slices through the weights."
    key = "landscape"
    needs_run = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.curve_plot = plot_widget("1-D slice: loss along d₁", "α", "loss", log_y=True)
        style.card_legend(self.curve_plot.getPlotItem(), (-6, 6))
        self.map_plot = plot_widget("2-D slice: log₁₀ loss, with contours", "α", "β")
        self.image = pg.ImageItem()
        self.map_plot.getPlotItem().addItem(self.image)
        self.colour_bar = pg.ColorBarItem(colorMap=style.colour_map(), interactive=False,
                                          label="log₁₀ loss", width=14)
        self.colour_bar.setImageItem(self.image, insert_in=self.map_plot.getPlotItem())
        self.isocurves: list[pg.IsocurveItem] = []
        self.which = QComboBox()
        self.which.currentIndexChanged.connect(self._draw_map)
        row = QHBoxLayout(self.body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.curve_plot)
        row.addWidget(self.map_plot)
        self.buttons.insertWidget(0, self.which)
        self.buttons.insertWidget(0, QLabel("2-D slice of:"))

    def draw(self, result: Any, context: dict[str, Any]) -> None:
        self.note.setText(landscape_text(result))
        item = self.curve_plot.getPlotItem()
        item.clear()
        for colour, r in zip(style.RUN_COLOURS, result):
            item.plot(r.alphas, r.loss_1d, name=r.label, pen=pg.mkPen(colour, width=2),
                      symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None)
        item.enableAutoRange(axis="x")
        log_room_for_legend(item, [r.loss_1d for r in result])
        self.which.blockSignals(True)
        self.which.clear()
        self.which.addItems([r.label for r in result])
        self.which.blockSignals(False)
        self._draw_map(0)

    def _draw_map(self, index: int) -> None:
        if self.result is None or not 0 <= index < len(self.result):
            return
        r = self.result[index]
        values = np.log10(np.clip(r.loss_2d, 1e-12, None))
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.image.setImage(np.nan_to_num(values, nan=high))
        self.colour_bar.setLevels((low, high + 1e-9))  # sets the image's levels too
        a, b = r.alphas_2d, r.betas_2d
        step_a = (a[-1] - a[0]) / max(len(a) - 1, 1)
        step_b = (b[-1] - b[0]) / max(len(b) - 1, 1)
        # Pixel (i, j) is centred on (αᵢ, βⱼ): the image spans half a step beyond each end.
        self.image.setRect(a[0] - step_a / 2, b[0] - step_b / 2, step_a * len(a),
                           step_b * len(b))
        self._draw_contours(values, low, high)
        self.map_plot.getPlotItem().setTitle(f"2-D slice of {r.label}: log₁₀ loss",
                                             color=style.TEXT.name(), size="10pt")

    def _draw_contours(self, values: np.ndarray, low: float, high: float) -> None:
        for curve in self.isocurves:
            curve.setParentItem(None)
            if curve.scene() is not None:
                curve.scene().removeItem(curve)
        self.isocurves = []
        for level in np.linspace(low, high, CONTOURS + 2)[1:-1]:
            curve = pg.IsocurveItem(data=values, level=float(level),
                                    pen=pg.mkPen((255, 255, 255, 190), width=1))
            curve.setParentItem(self.image)  # in the image's pixel coordinates, where
            curve.setPos(0.5, 0.5)           # value (i, j) sits at the centre of pixel (i, j)
            self.isocurves.append(curve)

    def export(self, folder: Path) -> list[Path]:
        from ...analysis.common import write_csv, write_json
        from ...analysis.figures import landscape_figures
        from ...analysis.tables import landscape_1d_table, landscape_2d_table

        write_csv(folder / "landscape_1d.csv", *landscape_1d_table(self.result))
        write_csv(folder / "landscape_2d.csv", *landscape_2d_table(self.result))
        write_json(folder / "landscape.json", [r.to_json() for r in self.result])
        pngs = landscape_figures(self.result, folder)
        return [*pngs, folder / "landscape_1d.csv", folder / "landscape_2d.csv",
                folder / "landscape.json"]
