"""How every training plot looks: light background, readable axes, one palette of curve colours.

Set per widget rather than through ``pg.setConfigOptions``: global pyqtgraph options would
change plots this module does not own.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

BACKGROUND = "w"
AXIS = QColor("#5f6b76")
TEXT = QColor("#1f2328")
GRID_ALPHA = 0.18

TRAIN = QColor("#2f7de1")
VALIDATION = QColor("#d9480f")
LR = QColor("#1a7f37")
# Overlaid runs, in order; distinct under the common colour-vision deficiencies (Okabe & Ito).
RUN_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
               "#f0e442")

COLOUR_MAP = "viridis"
LEGEND_COLUMNS = 4  # legend entries side by side under a plot


def faint(colour: QColor, alpha: int = 70) -> QColor:
    out = QColor(colour)
    out.setAlpha(alpha)
    return out


def style_plot(plot: pg.PlotItem, title: str, x_label: str, y_label: str,
               grid: bool = True) -> pg.PlotItem:
    """Title, labelled axes in the app's text colours, a light grid and fast line drawing:
    peak downsampling keeps spikes visible, clip-to-view draws only the visible range."""
    plot.setTitle(title, color=TEXT.name(), size="10pt")
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS))
        axis.setTextPen(pg.mkPen(TEXT))
        axis.setLabel(label, color=AXIS.name())
        axis.enableAutoSIPrefix(False)  # "0.1", not "100 (x0.001)"
        # Grid lines at major ticks only: the minor ones' translucent lines made each repaint
        # of a plot cost two to three times as much, and added little.
        axis.setStyle(maxTickLevel=0)
    if grid:
        plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    return plot


def add_legend(plot: pg.PlotItem, layout: pg.GraphicsLayout, row: int, col: int,
               columns: int = LEGEND_COLUMNS) -> pg.LegendItem:
    """A one-line legend in the layout's cell (``row``, ``col``), under the plot and outside
    its data area, so that it never covers a curve (an overlaid legend did, whatever corner
    it took: the curves of a run go everywhere). The plot lists its named curves in it."""
    legend = pg.LegendItem(colCount=columns, labelTextSize="8pt",
                           labelTextColor=TEXT, verSpacing=-10, horSpacing=14)
    layout.addItem(legend, row, col)
    layout.layout.setRowStretchFactor(row, 0)
    plot.legend = legend  # PlotItem.addItem(name=…) and removeItem keep it up to date
    return legend


def fit_legends(view: pg.GraphicsLayoutWidget, legends: list[pg.LegendItem], width: float,
                most: int = LEGEND_COLUMNS) -> int:
    """Give the legends under a row of plots the most columns (up to ``most``) with which the
    row still fits ``width``: one line each where there is room, their entries stacked in a
    narrow dock rather than the plots cut off at its edge. Returns the columns chosen."""
    columns = most
    for columns in range(most, 0, -1):
        for legend in legends:
            legend.setColumnCount(columns)
        if view.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width() <= width:
            break
    return columns


def card_legend(plot: pg.PlotItem, offset: tuple[int, int]) -> pg.LegendItem:
    """A compact legend on a translucent white card inside a plot with few, known curves
    (the analysis views); ``offset`` as pyqtgraph's (negative: from the right or bottom edge).
    Plots whose curves go everywhere take ``add_legend`` instead."""
    return plot.addLegend(offset=offset, labelTextSize="8pt", labelTextColor=TEXT,
                          brush=(255, 255, 255, 170), pen=(208, 215, 222), verSpacing=-8)


def settle_ranges(*plots: pg.PlotItem) -> None:
    """Apply pending auto-ranges now, after new data and before the paint: left to the
    paint, the range change asks for a second paint of the whole view."""
    for plot in plots:
        plot.vb.prepareForPaint()


def colour_map() -> pg.ColorMap:
    return pg.colormap.get(COLOUR_MAP)


def map_colour(fraction: float) -> QColor:
    """The colour map's colour at ``fraction`` in [0, 1]."""
    return colour_map().map(min(max(fraction, 0.0), 1.0), mode="qcolor")
