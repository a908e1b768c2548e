"""The canvas scene: a mirror of the document.

It listens to the graph's events and keeps a node → item and an edge → item map; it never
edits the graph itself. After each analysis it shows output shapes and diagnostics on the
items. (The pattern of orange-canvas-core's ``canvas/scene.py``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene

from ...graph import Edge, Graph, events
from ..shell import theme
from ..widgets import format as fmt
from .edge_item import EdgeItem
from .node_item import INPUT, OUTPUT, NodeItem

if TYPE_CHECKING:  # the compiler loads torch; the editor opens before it has
    from ...compiler import Analysis

GRID_STEP = 20


class GraphScene(QGraphicsScene):
    """Mirrors ``graph``; ``node_items`` and ``edge_items`` map model objects to items."""

    selected_nodes_changed = Signal(list)

    def __init__(self, graph: Graph, parent=None):
        super().__init__(parent)
        self.graph = graph
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, EdgeItem] = {}
        self.show_edge_shapes = False
        self.analysis: Analysis | None = None
        self._handlers: dict[type, Callable] = {
            events.NodeAdded: lambda e: self._add_node(e.node_id),
            events.NodeRemoved: lambda e: self._remove_node(e.node_id),
            events.NodeRenamed: lambda e: self._rename_node(e.old_id, e.new_id),
            events.NodeMoved: lambda e: self._move_node(e.node_id),
            events.ParamsChanged: lambda e: self._refresh_node(e.node_id),
            events.LabelChanged: lambda e: self._refresh_node(e.node_id),
            events.EdgeAdded: lambda e: self._add_edge(e.edge),
            events.EdgeRemoved: lambda e: self._remove_edge(e.edge),
        }
        for node_id in graph.nodes:
            self._add_node(node_id)
        for edge in graph.edges:
            self._add_edge(edge)
        graph.events.subscribe(self._on_event)
        self.selectionChanged.connect(self._emit_selection)

    def close(self) -> None:
        self.graph.events.unsubscribe(self._on_event)

    # ----- queries --------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        """Selected nodes in document order (so commands and clipboards are deterministic)."""
        chosen = {item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)}
        return [node_id for node_id in self.graph.nodes if node_id in chosen]

    def selected_edges(self) -> list[Edge]:
        return [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            item = self.node_items.get(node_id)
            if item is not None:
                item.setSelected(True)

    def nodes_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.node_items.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ----- graph events -----------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _add_node(self, node_id: str) -> None:
        node = self.graph.node(node_id)
        item = NodeItem(node, self.graph.node_spec(node_id))
        self.node_items[node_id] = item
        self.addItem(item)
        self._show_info(item)

    def _remove_node(self, node_id: str) -> None:
        item = self.node_items.pop(node_id)
        for edge_item in list(item.edges):  # the graph announces edges first; be safe anyway
            self._remove_edge(edge_item.edge)
        self.removeItem(item)

    def _rename_node(self, old: str, new: str) -> None:
        item = self.node_items.pop(old)
        self.node_items[new] = item
        item.set_node(self.graph.node(new))
        for edge, edge_item in list(self.edge_items.items()):
            if old in (edge.src, edge.dst):
                renamed = _renamed(edge, old, new)
                del self.edge_items[edge]
                self.edge_items[renamed] = edge_item
                edge_item.edge = renamed
                edge_item.setToolTip(str(renamed))

    def _move_node(self, node_id: str) -> None:
        item = self.node_items[node_id]
        x, y = self.graph.node(node_id).position
        if (item.pos().x(), item.pos().y()) != (x, y):
            item.setPos(QPointF(x, y))

    def _refresh_node(self, node_id: str) -> None:
        self.node_items[node_id].set_node(self.graph.node(node_id))

    def _add_edge(self, edge: Edge) -> None:
        source = self.node_items[edge.src].port(OUTPUT, edge.src_port)
        target = self.node_items[edge.dst].port(INPUT, edge.dst_port)
        item = EdgeItem(edge, source, target)
        item.set_show_label(self.show_edge_shapes)
        self.edge_items[edge] = item
        self.addItem(item)
        self._label_edge(item)

    def _remove_edge(self, edge: Edge) -> None:
        item = self.edge_items.pop(edge, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    # ----- analysis ---------------------------------------------------------------------------
    def apply_analysis(self, analysis: Analysis) -> None:
        """Show each node's output shape and diagnostics, and each edge's tensor shape."""
        self.analysis = analysis
        for item in self.node_items.values():
            self._show_info(item)
        for item in self.edge_items.values():
            self._label_edge(item)

    def _show_info(self, item: NodeItem) -> None:
        if self.analysis is None:
            return
        info = self.analysis.nodes.get(item.node_id)
        problems = [(d.severity, d.message) for d in self.analysis.diagnostics
                    if d.node_id == item.node_id]
        shape = None
        if info is not None:
            shape = info.out_shape
            # The Output node produces nothing: show what it receives. Any other node without
            # an output shape failed (a conv with groups=5 on 3 channels): "?", not its input.
            if not item.spec.outputs and info.in_shapes:
                shape = info.in_shapes[0]
        item.set_analysis(shape, problems, self._kind_of(item))

    def _kind_of(self, item: NodeItem) -> str:
        """The port kind of what the node shows: its output's, or for the Output node the
        kind of the port that feeds it."""
        if item.spec.outputs:
            return item.spec.outputs[0].kind
        for edge in self.graph.incoming(item.node_id)[:1]:
            ports = {p.name: p.kind for p in self.graph.node_spec(edge.src).outputs}
            return ports.get(edge.src_port, "")
        return ""

    def _label_edge(self, item: EdgeItem) -> None:
        info = self.analysis.nodes.get(item.edge.src) if self.analysis else None
        kind = self._kind_of(self.node_items[item.edge.src]) if item.edge.src in \
            self.node_items else ""
        item.set_label(fmt.short_shape(info.out_shape, kind) if info and info.out_shape else "")

    # ----- tints (training views colour nodes by a per-node value) ---------------------------
    def set_tints(self, tints: dict[str, tuple[QColor, str]]) -> None:
        """Colour the named nodes (node id → (colour, note)); other nodes lose their tint.
        Ids that are no longer in the graph are ignored."""
        for node_id, item in self.node_items.items():
            colour, note = tints.get(node_id, (None, ""))
            item.set_tint(colour, note)

    def clear_tints(self) -> None:
        self.set_tints({})

    def tinted_nodes(self) -> list[str]:
        return [n for n, item in self.node_items.items() if item.tint is not None]

    def set_show_edge_shapes(self, show: bool) -> None:
        self.show_edge_shapes = show
        for item in self.edge_items.values():
            item.set_show_label(show)

    # ----- look -------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.CANVAS)
        if painter.worldTransform().m11() * GRID_STEP < 6:  # too dense to help at this zoom
            return
        painter.setPen(QPen(theme.GRID, 0))
        left = int(rect.left()) - int(rect.left()) % GRID_STEP
        top = int(rect.top()) - int(rect.top()) % GRID_STEP
        lines = [QPointF(x, rect.top()) for x in range(left, int(rect.right()), GRID_STEP)]
        for point in lines:
            painter.drawLine(point, QPointF(point.x(), rect.bottom()))
        for y in range(top, int(rect.bottom()), GRID_STEP):
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))

    def _emit_selection(self) -> None:
        self.selected_nodes_changed.emit(self.selected_node_ids())


def _renamed(edge: Edge, old: str, new: str) -> Edge:
    return Edge(new if edge.src == old else edge.src, edge.src_port,
                new if edge.dst == old else edge.dst, edge.dst_port)
