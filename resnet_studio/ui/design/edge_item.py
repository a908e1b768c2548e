"""A connection on the canvas: a curve from an output port down to an input port, with an
arrow head and, optionally, the shape of the tensor it carries."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ...graph import Edge
from ..shell import theme
from .node_item import PortItem

ARROW = 7.0


SKIP_SIDE = 110.0  # a skip connection's lane: right of its column, left of the next one


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A vertical S-curve: leaves downwards, arrives from above (the layout runs top-down).

    An edge that jumps over nodes of its own column (a skip connection) runs in a lane beside
    the column instead of straight through the nodes it skips."""
    if end.y() - start.y() > 1.5 * theme.NODE_HEIGHT + 60 and \
            abs(end.x() - start.x()) < theme.NODE_WIDTH / 2:
        return _beside(start, end)
    bend = max(28.0, abs(end.y() - start.y()) / 2, abs(end.x() - start.x()) / 4)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    return path


def _beside(start: QPointF, end: QPointF) -> QPainterPath:
    lane = max(start.x(), end.x()) + SKIP_SIDE
    top, bottom = QPointF(lane, start.y() + 45), QPointF(lane, end.y() - 45)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(0, 30), QPointF(lane, start.y() + 15), top)
    path.lineTo(bottom)
    path.cubicTo(QPointF(lane, end.y() - 15), end - QPointF(0, 30), end)
    return path


class EdgeItem(QGraphicsItem):
    """Follows its two ports; the scene calls ``update_path`` when a node moves."""

    def __init__(self, edge: Edge, source: PortItem, target: PortItem):
        super().__init__()
        self.edge, self.source, self.target = edge, source, target
        self.label = ""
        self.show_label = False
        self.hovered = False
        self._path = QPainterPath()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        source.node_item.edges.add(self)
        target.node_item.edges.add(self)
        self.setToolTip(str(edge))
        self.update_path()

    def detach(self) -> None:
        self.source.node_item.edges.discard(self)
        self.target.node_item.edges.discard(self)

    def update_path(self) -> None:
        self.prepareGeometryChange()
        self._path = curve(self.source.anchor(), self.target.anchor() - QPointF(0, 2))

    def set_label(self, text: str) -> None:
        self.prepareGeometryChange()
        self.label = text
        self.setToolTip(f"{self.edge}\n{text}" if text else str(self.edge))
        self.update()

    def set_show_label(self, show: bool) -> None:
        self.prepareGeometryChange()
        self.show_label = show
        self.update()

    # ----- geometry and painting ----------------------------------------------------------------
    def _label_rect(self) -> QRectF:
        metrics = QFontMetricsF(theme.mono_font(8))
        width, height = metrics.horizontalAdvance(self.label) + 8, metrics.height() + 2
        mid = self._path.pointAtPercent(0.5)  # beside the line, not over it and its ports
        return QRectF(mid.x() + 5, mid.y() - height / 2, width, height)

    def _label_visible(self) -> bool:
        return self.show_label and bool(self.label)

    def boundingRect(self) -> QRectF:
        rect = self._path.boundingRect().adjusted(-ARROW, -ARROW, ARROW, ARROW)
        return rect.united(self._label_rect()) if self._label_visible() else rect

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self._path)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = theme.SELECTED if self.isSelected() else theme.EDGE
        width = 2.6 if (self.isSelected() or self.hovered) else 1.6
        painter.setPen(QPen(colour, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        self._paint_arrow(painter, colour)
        if self._label_visible():
            self._paint_label(painter)

    def _paint_arrow(self, painter: QPainter, colour) -> None:
        tip = self._path.pointAtPercent(1.0)
        angle = math.radians(-self._path.angleAtPercent(0.98))
        left = tip - QPointF(math.cos(angle - 0.45) * ARROW, math.sin(angle - 0.45) * ARROW)
        right = tip - QPointF(math.cos(angle + 0.45) * ARROW, math.sin(angle + 0.45) * ARROW)
        head = QPainterPath(tip)
        head.lineTo(left)
        head.lineTo(right)
        head.closeSubpath()
        painter.fillPath(head, QBrush(colour))

    def _paint_label(self, painter: QPainter) -> None:
        rect = self._label_rect()
        painter.setPen(QPen(theme.GRID, 1))
        painter.setBrush(QBrush(theme.CANVAS))
        painter.drawRoundedRect(rect, 3, 3)
        painter.setFont(theme.mono_font(8))
        painter.setPen(theme.SHAPE_TEXT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.label)

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()
