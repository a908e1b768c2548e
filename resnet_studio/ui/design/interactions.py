"""Canvas gestures, each its own small state machine (orange-canvas-core's
``document/interactions.py`` pattern): the view starts one on a mouse press, feeds it the
moves and ends it on release. A gesture that edits the document does so through one command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from ...graph import GraphError
from ..shell import theme
from .commands import AddNodeCommand, ConnectCommand, MoveNodesCommand
from .edge_item import curve
from .node_item import INPUT, OUTPUT, NodeItem, PortItem

if TYPE_CHECKING:
    from .view import CanvasView

BLOCK_MIME = "application/x-resnet-studio-block"
SNAP_DISTANCE = 14.0


class Interaction:
    """A gesture in progress. ``passive`` ones let Qt's own item handling run as well."""

    passive = False

    def __init__(self, view: CanvasView):
        self.view = view

    @property
    def scene(self):
        return self.view.scene()

    def move(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        """The mouse moved with the button held."""

    def release(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        """The button was released: finish (the view forgets the gesture afterwards)."""

    def cancel(self) -> None:
        """Abandon the gesture (Escape, or the document was replaced)."""


# ----- new link ----------------------------------------------------------------------------------
class NewLinkInteraction(Interaction):
    """Drag from a port to a port of the other direction to connect them.

    While dragging, a candidate port turns green when the connection is allowed and red when
    the graph would refuse it; releasing on a refused port shows the graph's reason.
    """

    def __init__(self, view: CanvasView, port: PortItem):
        super().__init__(view)
        self.port = port
        self.target: PortItem | None = None
        self.line = QGraphicsPathItem()
        self.line.setPen(QPen(theme.SELECTED, 2, Qt.PenStyle.DashLine))
        self.line.setZValue(10)
        self.scene.addItem(self.line)
        self._draw(port.anchor())

    def move(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        target = self.port_at(scene_pos)
        if target is not self.target:
            self._set_target(target)
        self._draw(target.anchor() if target is not None else scene_pos)

    def release(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        target = self.port_at(scene_pos)
        self.cancel()
        if target is None:
            return
        src, dst = (self.port, target) if self.port.direction == OUTPUT else (target, self.port)
        command = ConnectCommand(self.view.document.graph, src.node_item.node_id, src.name,
                                 dst.node_item.node_id, dst.name)
        try:
            self.view.document.push(command)
        except GraphError as exc:
            self.view.refuse(str(exc), view_pos)

    def cancel(self) -> None:
        self._set_target(None)
        if self.line.scene() is not None:
            self.scene.removeItem(self.line)

    def port_at(self, scene_pos: QPointF) -> PortItem | None:
        """The port of the other direction under the cursor (within a few pixels), or the
        only such port of the node under the cursor."""
        wanted = INPUT if self.port.direction == OUTPUT else OUTPUT
        near = QRectF(scene_pos - QPointF(SNAP_DISTANCE, SNAP_DISTANCE),
                      scene_pos + QPointF(SNAP_DISTANCE, SNAP_DISTANCE))
        ports = [i for i in self.scene.items(near) if isinstance(i, PortItem)
                 and i.direction == wanted and i is not self.port]
        if ports:
            return min(ports, key=lambda p: _distance(p.anchor(), scene_pos))
        for item in self.scene.items(scene_pos):
            if isinstance(item, NodeItem):
                options = list((item.inputs if wanted == INPUT else item.outputs).values())
                return options[0] if len(options) == 1 else None
        return None

    def _set_target(self, target: PortItem | None) -> None:
        if self.target is not None:
            self.target.set_highlight(None)
        self.target = target
        if target is not None:
            target.set_highlight(theme.EDGE_ACCEPT if self._allowed(target) else theme.ERROR)

    def _allowed(self, target: PortItem) -> bool:
        src, dst = (self.port, target) if self.port.direction == OUTPUT else (target, self.port)
        try:
            self.view.document.graph.check_connect(src.node_item.node_id, src.name,
                                                   dst.node_item.node_id, dst.name)
        except GraphError:
            return False
        return True

    def _draw(self, end: QPointF) -> None:
        start = self.port.anchor()
        if self.port.direction == INPUT:
            start, end = end, start
        self.line.setPath(curve(start, end))


# ----- rubber band -------------------------------------------------------------------------------
class RubberBandInteraction(Interaction):
    """Drag on empty canvas to select every item the rectangle touches (Shift/Ctrl adds)."""

    def __init__(self, view: CanvasView, scene_pos: QPointF, additive: bool):
        super().__init__(view)
        self.origin = scene_pos
        self.additive = additive
        self.kept = list(self.scene.selectedItems()) if additive else []
        if not additive:
            self.scene.clearSelection()
        self.rect_item = QGraphicsRectItem()
        self.rect_item.setPen(QPen(theme.SELECTED, 1, Qt.PenStyle.DashLine))
        self.rect_item.setBrush(QBrush(QColor(47, 125, 225, 40)))
        self.rect_item.setZValue(20)
        self.scene.addItem(self.rect_item)

    def move(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        rect = QRectF(self.origin, scene_pos).normalized()
        self.rect_item.setRect(rect)
        path = QPainterPath()
        path.addRect(rect)
        self.scene.setSelectionArea(path, Qt.ItemSelectionOperation.ReplaceSelection,
                                    Qt.ItemSelectionMode.IntersectsItemShape)
        self.rect_item.setSelected(False)
        for item in self.kept:
            item.setSelected(True)

    def release(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self.rect_item.scene() is not None:
            self.scene.removeItem(self.rect_item)


# ----- moving nodes ------------------------------------------------------------------------------
class MoveInteraction(Interaction):
    """Qt drags the selected items; on release the whole drag becomes one "Move" command."""

    passive = True

    def __init__(self, view: CanvasView):
        super().__init__(view)

    def release(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        graph = self.view.document.graph
        moves = {}
        for node_id, item in self.scene.node_items.items():
            old = graph.node(node_id).position
            new = (item.pos().x(), item.pos().y())
            if new != old:
                moves[node_id] = (old, new)
        if moves:
            text = "Move" if len(moves) == 1 else f"Move {len(moves)} nodes"
            self.view.document.push(MoveNodesCommand(graph, moves, text))

    def cancel(self) -> None:
        graph = self.view.document.graph
        for node_id, item in self.scene.node_items.items():
            item.setPos(QPointF(*graph.node(node_id).position))


# ----- panning -----------------------------------------------------------------------------------
class PanInteraction(Interaction):
    """Middle-button drag, or Space + left drag, scrolls the canvas."""

    def __init__(self, view: CanvasView, view_pos: QPoint):
        super().__init__(view)
        self.last = view_pos
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        delta = view_pos - self.last
        self.last = view_pos
        bars = (self.view.horizontalScrollBar(), self.view.verticalScrollBar())
        self.view.user_scrolled()
        bars[0].setValue(bars[0].value() - delta.x())
        bars[1].setValue(bars[1].value() - delta.y())

    def release(self, scene_pos: QPointF, view_pos: QPoint) -> None:
        self.cancel()

    def cancel(self) -> None:
        self.view.viewport().unsetCursor()


# ----- dropping palette blocks -------------------------------------------------------------------
def block_mime(type_id: str) -> QMimeData:
    """What a palette drag carries: only the block type id, under our vendor MIME type."""
    data = QMimeData()
    data.setData(BLOCK_MIME, type_id.encode("utf-8"))
    return data


def block_type_of(mime: QMimeData) -> str | None:
    if not mime.hasFormat(BLOCK_MIME):
        return None
    return bytes(mime.data(BLOCK_MIME).data()).decode("utf-8", errors="replace")


class DropInteraction:
    """Accepts a palette block dragged over the canvas and adds it where it is dropped."""

    def __init__(self, view: CanvasView):
        self.view = view

    def accepts(self, mime: QMimeData) -> bool:
        type_id = block_type_of(mime)
        return type_id is not None and self.view.document.graph.spec(type_id) is not None

    def drop(self, mime: QMimeData, scene_pos: QPointF, view_pos: QPoint) -> str | None:
        """Add the block centred on ``scene_pos``; returns the new node id (None if refused)."""
        type_id = block_type_of(mime)
        if type_id is None:
            return None
        document = self.view.document
        command = AddNodeCommand(document.graph, type_id, {}, (scene_pos.x(), scene_pos.y()))
        try:
            document.push(command)
        except GraphError as exc:
            self.view.refuse(str(exc), view_pos)
            return None
        self.scene.select_nodes([command.node_id])
        return command.node_id

    @property
    def scene(self):
        return self.view.scene()


def _distance(a: QPointF, b: QPointF) -> float:
    d = a - b
    return (d.x() ** 2 + d.y() ** 2) ** 0.5
