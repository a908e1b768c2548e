"""Colours, sizes and fonts of the canvas, in one place so the look stays consistent."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase

NODE_WIDTH = 184.0
NODE_HEIGHT = 66.0
PORT_RADIUS = 5.0
CORNER = 7.0

CANVAS = QColor("#f4f5f7")
GRID = QColor("#e3e6ea")
NODE_FILL = QColor("#ffffff")
NODE_BORDER = QColor("#9aa3ad")
SELECTED = QColor("#2f7de1")
ERROR = QColor("#d93025")
WARNING = QColor("#e8a10c")
TEXT = QColor("#1f2328")
MUTED = QColor("#5f6b76")
SHAPE_TEXT = QColor("#1a5fb4")
EDGE = QColor("#6b7680")
EDGE_ACCEPT = QColor("#2e9d4f")
PORT_FILL = QColor("#ffffff")
PORT_BORDER = QColor("#5f6b76")

# One accent per palette category: the strip on the node's left edge and the palette icon.
CATEGORY_COLOURS = {
    "Input / Output": "#6e7781",
    "Convolution": "#2f7de1",
    "Normalisation": "#8957e5",
    "Activation": "#e8590c",
    "Pooling": "#0f9d8a",
    "Linear": "#1f6feb",
    "Regularisation": "#a371f7",
    "Merge": "#cf222e",
    "Residual helpers": "#bf8700",
    "Residual blocks": "#1a7f37",
    "Stages": "#116329",
    "Custom blocks": "#9a6700",
    "Heads": "#8250df",
}
DEFAULT_ACCENT = "#57606a"


def accent(category: str) -> QColor:
    return QColor(CATEGORY_COLOURS.get(category, DEFAULT_ACCENT))


def ui_font(point_size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def mono_font(point_size: float = 9.5) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font
