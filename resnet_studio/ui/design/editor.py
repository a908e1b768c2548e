"""The architecture editor: the canvas plus the edits that act on its selection.

Every edit goes through the document as one command; a refused edit shows the graph's reason
near the canvas and on the status bar (``message``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...compiler import structure
from ...graph import GraphError
from ...graph.layout import layout_positions
from . import clipboard
from .commands import AddNodeCommand, MoveNodesCommand, remove_items_command
from .context_menus import CanvasMenus
from .document import Document
from .scene import GraphScene
from .view import CanvasView


class GraphEditor(QWidget):
    """Canvas and selection edits for one document."""

    message = Signal(str)
    selection_changed = Signal(list)

    def __init__(self, document: Document, prompts: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.prompts = prompts
        self.scene = GraphScene(document.graph, self)
        self.view = CanvasView(document, self.scene, self)
        self.menus = CanvasMenus(self)
        self._paste_count = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        document.analysis_ready.connect(self.scene.apply_analysis)
        document.reset.connect(self.view.fit)
        self.view.refused.connect(self.message)
        self.view.context_menu_requested.connect(self.show_context_menu)
        self.scene.selected_nodes_changed.connect(self.selection_changed)
        if document.analysis is not None:
            self.scene.apply_analysis(document.analysis)

    def close_editor(self) -> None:
        self.scene.close()

    # ----- selection --------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return self.scene.selected_node_ids()

    def select_nodes(self, node_ids: list[str]) -> None:
        self.scene.select_nodes(node_ids)

    def select_node(self, node_id: str, centre: bool = True) -> None:
        """Select one node (a clicked diagnostic) and bring it into view."""
        self.scene.select_nodes([node_id])
        if centre:
            self.view.centre_on_node(node_id)

    def select_all(self) -> None:
        self.scene.select_nodes(list(self.document.graph.nodes))

    def show_context_menu(self, view_pos: QPoint) -> None:
        menu = self.menus.menu_at(view_pos, self)
        menu.exec(self.view.viewport().mapToGlobal(view_pos))
        menu.deleteLater()

    # ----- edits ------------------------------------------------------------------------------
    def report(self, text: str) -> None:
        """Show why an edit was refused: near the canvas centre and on the status bar."""
        centre = self.view.viewport().rect().center()
        self.view.refuse(text, centre - QPoint(180, 0))

    def _attempt(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except GraphError as exc:
            self.report(str(exc))
            return None

    def _push(self, command) -> bool:
        try:
            self.document.push(command)
        except GraphError as exc:
            self.report(str(exc))
            return False
        return True

    def add_block(self, type_id: str, position: QPointF | None = None) -> str | None:
        """Add a block (a palette double-click): at ``position`` or the visible centre."""
        point = position if position is not None else self.view.visible_centre()
        command = AddNodeCommand(self.document.graph, type_id, {}, (point.x(), point.y()))
        if not self._push(command):
            return None
        self.select_node(command.node_id, centre=False)
        return command.node_id

    def delete_selection(self) -> None:
        ids, edges = self.selected_node_ids(), self.scene.selected_edges()
        if not ids and not edges:
            return
        self.document.push(remove_items_command(self.document.graph, ids, edges))

    def duplicate(self) -> list[str]:
        """Copy the selected nodes and the connections between them beside the originals,
        without touching the clipboard: one undo step."""
        ids = self.selected_node_ids()
        if not ids:
            return []
        data = clipboard.fragment(self.document.graph, ids)
        command = clipboard.PasteCommand(self.document.graph, data, clipboard.PASTE_OFFSET)
        command.setText(f"Duplicate {ids[0]}" if len(ids) == 1 else f"Duplicate {len(ids)} nodes")
        if not self._push(command):
            return []
        self.select_nodes(command.new_ids())
        return command.new_ids()

    def copy(self) -> bool:
        ids = self.selected_node_ids()
        if not ids:
            return False
        data = clipboard.fragment(self.document.graph, ids)
        QGuiApplication.clipboard().setMimeData(clipboard.to_mime(data))
        self._paste_count = 0
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self) -> list[str]:
        data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        if data is None:
            self.message.emit("The clipboard holds no ResNet Studio nodes.")
            return []
        self._paste_count += 1
        step = clipboard.PASTE_OFFSET
        offset = (step[0] * self._paste_count, step[1] * self._paste_count)
        try:
            command = clipboard.PasteCommand(self.document.graph, data, offset)
        except (KeyError, TypeError, ValueError):
            self.report("The clipboard's nodes are damaged and cannot be pasted.")
            return []
        if not self._push(command):
            return []
        self.select_nodes(command.new_ids())
        return command.new_ids()

    def auto_layout(self) -> None:
        graph = self.document.graph
        positions = layout_positions(graph, self.view.aspect())
        moves = {n.id: (n.position, positions[n.id]) for n in graph
                 if tuple(positions[n.id]) != n.position}
        if moves:
            self.document.push(MoveNodesCommand(graph, moves, "Auto-layout"))
        self.view.fit()

    def expand_selected(self) -> list[str]:
        """Replace each selected composite node by its parts: one undo step."""
        ids = [n for n in self.selected_node_ids()
               if structure.can_expand(self.document.graph, n)]
        if not ids:
            self.report("Select a residual block, stage or custom block to expand.")
            return []
        analysis = self.document.current_analysis()
        graph = self.document.graph

        def action() -> list[str]:
            new: list[str] = []
            for node_id in ids:
                new += structure.expand_node(graph, node_id,
                                             structure.subgraph_for(graph, node_id, analysis))
            return new

        text = f"Expand {ids[0]}" if len(ids) == 1 else f"Expand {len(ids)} blocks"
        new_ids = self._attempt(lambda: self.document.apply_structural(text, action))
        if new_ids:
            self.select_nodes(new_ids)
        return new_ids or []

    def collapse_selection(self) -> str | None:
        """Ask for a name and the parameters to expose, then make a block of the selection."""
        ids = self.selected_node_ids()
        if not ids:
            self.report("Select the nodes that should become the new block.")
            return None
        graph = self.document.graph
        answer = self.prompts.ask_block(graph, ids, structure.exposable(graph, ids))
        if answer is None:
            return None
        name, exposed = answer
        new_id = self._attempt(lambda: self.document.apply_structural(
            f"Make block {name}", lambda: structure.collapse_nodes(graph, ids, name, exposed)))
        if new_id:
            self.select_node(new_id, centre=False)
            self.message.emit(f"Made block ‘{name}’; it is now in the palette under Custom blocks.")
        return new_id

    # ----- view -------------------------------------------------------------------------------
    def set_show_edge_shapes(self, show: bool) -> None:
        self.scene.set_show_edge_shapes(show)
