"""Colouring the editor's nodes by their layer's gradient norm while a run trains.

Each layer of a compiled graph is one node (its module is named by the node id), so the
latest per-layer norms map straight onto the canvas: the colour is the norm on a log scale
over the layers' current range, in the same colour map as the gradient heatmap; a layer whose
gradient is not finite is drawn in the error red. A small legend over the canvas gives the
scale. Nodes without parameters (ReLU, Add, pooling) have no gradient and keep their look.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ..shell import theme
from . import plotstyle as style

LEGEND_SIZE = (236, 58)
STOPS = 8


def norm_range(norms: np.ndarray) -> tuple[float, float]:
    """log₁₀ of the smallest and largest finite positive norm (at least a decade apart)."""
    values = np.asarray(norms, dtype=np.float64)
    good = values[np.isfinite(values) & (values > 0)]
    if good.size == 0:
        return -6.0, 0.0
    low, high = float(np.log10(good.min())), float(np.log10(good.max()))
    if high - low < 1.0:
        middle = (low + high) / 2
        low, high = middle - 0.5, middle + 0.5
    return low, high


def tint_colours(names: Sequence[str], norms: np.ndarray) -> tuple[dict[str, tuple[QColor, str]],
                                                                    tuple[float, float]]:
    """Node id → (colour, note) for every layer, and the log₁₀ range the colours span."""
    values = np.asarray(norms, dtype=np.float64)
    low, high = norm_range(values)
    tints: dict[str, tuple[QColor, str]] = {}
    for name, value in zip(names, values):
        if not np.isfinite(value):
            tints[name] = (QColor(theme.ERROR), "‖g‖ not finite")
            continue
        position = (np.log10(max(value, 1e-30)) - low) / (high - low)
        tints[name] = (style.map_colour(float(position)), f"‖g‖ {value:.1e}")
    return tints, (low, high)


class TintLegend(QWidget):
    """The colour scale of the tinted canvas, kept in the top-right corner of ``host``."""

    def __init__(self, host: QWidget):
        super().__init__(host)
        self.host = host
        self.low, self.high = -6.0, 0.0
        self.step = 0
        self.setFixedSize(*LEGEND_SIZE)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        host.installEventFilter(self)
        self.hide()

    def set_range(self, low: float, high: float, step: int) -> None:
        self.low, self.high, self.step = low, high, step
        self._place()
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        self.move(self.host.width() - self.width() - 12, 12)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.NODE_BORDER, 1))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setFont(theme.ui_font(8.0))
        painter.setPen(theme.TEXT)
        painter.drawText(QRectF(8, 3, self.width() - 16, 16), Qt.AlignmentFlag.AlignLeft,
                         f"Gradient norm, step {self.step:,}")
        bar = QRectF(8, 22, self.width() - 16, 12)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(STOPS + 1):
            gradient.setColorAt(i / STOPS, style.map_colour(i / STOPS))
        painter.fillRect(bar, gradient)
        painter.setPen(theme.MUTED)
        painter.drawText(QPointF(bar.left(), 50), f"{10 ** self.low:.0e}")
        painter.drawText(QRectF(bar.left(), 38, bar.width(), 14), Qt.AlignmentFlag.AlignRight,
                         f"{10 ** self.high:.0e}")
        painter.drawText(QRectF(bar.left(), 38, bar.width(), 14),
                         Qt.AlignmentFlag.AlignHCenter, "log scale")
        painter.end()
