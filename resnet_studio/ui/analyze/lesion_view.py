"""The lesion tab: validation accuracy without each block, one bar per block (twin bars side
by side), the intact accuracy of each network as a line and chance as a dashed one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout

from ...analysis.tables import images
from ..train import plotstyle as style
from .base import AnalysisView, plot_widget


def lesion_text(results: list[Any], chance: float | None) -> str:
    lines = []
    for r in results:
        acc = np.nan_to_num(r.accuracy, nan=2.0)
        worst = int(np.argmin(acc)) if len(acc) else None
        worst_text = (f"; worst without {r.blocks[worst]}: {r.accuracy[worst]:.1%}"
                      if worst is not None and acc[worst] <= 1 else "")
        skipped = f"; {len(r.skipped)} block(s) could not be removed" if r.skipped else ""
        lines.append(f"{r.label}: intact {r.baseline_accuracy:.1%} on {images(r.samples)}"
                     f"{worst_text}{skipped}.")
    chance_text = f" Chance is {chance:.1%}." if chance else ""
    return (" ".join(lines) + " A residual block is removed by dropping its branch (its "
            "shortcut stays); a plain block, by passing its input on where the shape "
            "allows." + chance_text)


class LesionView(AnalysisView):
    title = "Lesion study: accuracy without each block"
    empty_text = "Nothing analysed yet: the lesion study removes one block at a time."
    key = "lesion"
    needs_run = True

    def __init__(self, parent=None):
        super().__init__(parent)
        # The bars are fractions (0–1), so the axis says so; the note and legend give percents.
        self.plot = plot_widget("Validation accuracy with one block removed", "block removed",
                                "accuracy (fraction correct)")
        style.card_legend(self.plot.getPlotItem(), (-6, 6))
        QVBoxLayout(self.body).addWidget(self.plot)
        self.bars: list[pg.BarGraphItem] = []

    def draw(self, result: Any, context: dict[str, Any]) -> None:
        results, chance = result, context.get("chance")
        self.note.setText(lesion_text(results, chance))
        item = self.plot.getPlotItem()
        item.clear()
        item.legend.clear()  # the intact and chance entries belong to no plotted item
        self.bars = []
        width = 0.8 / len(results)
        legend = item.legend
        for i, (colour, r) in enumerate(zip(style.RUN_COLOURS, results)):
            x = np.arange(len(r.blocks)) + (i - (len(results) - 1) / 2) * width
            bars = pg.BarGraphItem(x=x, height=np.nan_to_num(r.accuracy, nan=0.0), width=width,
                                   brush=colour, pen=None, name=f"{r.label}, block removed")
            item.addItem(bars)
            self.bars.append(bars)
            line = pg.mkPen(colour, width=2)
            item.addItem(pg.InfiniteLine(r.baseline_accuracy, angle=0, pen=line))
            legend.addItem(pg.PlotDataItem(pen=line), f"{r.label} intact: "
                                                      f"{r.baseline_accuracy:.1%}")
        if chance:
            dashed = pg.mkPen(style.AXIS, style=Qt.PenStyle.DashLine)
            item.addItem(pg.InfiniteLine(chance, angle=0, pen=dashed))
            legend.addItem(pg.PlotDataItem(pen=dashed), f"chance: {chance:.1%}")
        names = max((r.blocks for r in results), key=len)
        item.getAxis("bottom").setTicks([[(k, n) for k, n in enumerate(names)]])
        top = max([chance or 0.0] + [r.baseline_accuracy for r in results]
                  + [float(np.nanmax(r.accuracy, initial=0.0)) for r in results])
        # Room above the bars and the intact line for the legend (a third of the height, for
        # its three rows); the axis is labelled only up to 1, as accuracy goes no higher.
        item.setYRange(0, top * 1.5 + 0.02)
        item.getAxis("left").setTicks([[(v / 5, f"{v / 5:g}") for v in range(6)]])
        item.setXRange(-0.6, len(names) - 0.4)

    def export(self, folder: Path) -> list[Path]:
        from ...analysis.common import write_csv, write_json
        from ...analysis.figures import lesion_figure
        from ...analysis.tables import lesion_table

        write_csv(folder / "lesion.csv", *lesion_table(self.result))
        write_json(folder / "lesion.json", [r.to_json() for r in self.result])
        png = lesion_figure(self.result, folder / "lesion.png", self.context.get("chance"))
        return [png, folder / "lesion.csv", folder / "lesion.json"]
