"""The canvas's context menus: on a node, on a connection and on the empty background.

Each menu lists the actions that features declared for its context id (``NODE``, ``EDGE``,
``CANVAS``; see ``features.ActionSpec.context``), grouped by the menu they come from, plus the
entries only a click position can give: "Add Block Here" on the background. A right-click on
a node that is not selected selects it first (a click on a selected one keeps the selection,
so the menu acts on all of it); a right-click on a connection selects that connection alone.
Every entry that edits goes through the document as one undoable command.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit, QMenu, QWidget, QWidgetAction

from .edge_item import EdgeItem
from .node_item import NodeItem, PortItem
from .palette import block_specs

NODE, EDGE, CANVAS = "node", "edge", "canvas"
ADD_BLOCK_TITLE = "&Add Block Here"

# Declared actions of one context, grouped (a separator between groups).
ActionSource = Callable[[str], list[list[QAction]]]


class CanvasMenus:
    """Builds the context menu for a point of ``editor``'s view.

    ``declared`` gives the actions features declared for a context id, grouped; the editor
    feature sets it to the window's ``FeatureHost.context_groups`` once the actions exist.
    """

    def __init__(self, editor):
        self.editor = editor
        self.declared: ActionSource = lambda context: []

    def context_at(self, view_pos: QPoint) -> str:
        """NODE, EDGE or CANVAS for what lies under ``view_pos``; selects it as a right-click
        does (see the module docstring)."""
        item = self.editor.view.itemAt(view_pos)
        if isinstance(item, PortItem):
            item = item.node_item
        scene = self.editor.scene
        if isinstance(item, NodeItem):
            if not item.isSelected():
                scene.select_nodes([item.node_id])
            return NODE
        if isinstance(item, EdgeItem):
            scene.clearSelection()
            item.setSelected(True)
            return EDGE
        return CANVAS

    def menu_at(self, view_pos: QPoint, parent: QWidget | None = None) -> QMenu:
        """The menu for a right-click at ``view_pos`` (viewport coordinates)."""
        context = self.context_at(view_pos)
        menu = QMenu(parent or self.editor.view)
        if context == CANVAS:
            scene_pos = self.editor.view.mapToScene(view_pos)
            menu.addMenu(self.add_block_menu(scene_pos, menu))
            menu.addSeparator()
        for i, group in enumerate(self.declared(context)):
            if i:
                menu.addSeparator()
            menu.addActions(group)
        return menu

    # ----- add block here ---------------------------------------------------------------------
    def add_block_menu(self, scene_pos: QPointF, parent: QWidget) -> QMenu:
        """Every block of the palette by category, with a search field on top; choosing one
        adds it with its top-left corner at ``scene_pos``."""
        menu = QMenu(ADD_BLOCK_TITLE, parent)
        search = QLineEdit(menu, placeholderText="Search blocks…", clearButtonEnabled=True)
        field = QWidgetAction(menu)
        field.setDefaultWidget(search)
        menu.addAction(field)
        blocks: list[tuple[QAction, str]] = []
        sections: dict[str, QAction] = {}
        for spec in block_specs(self.editor.document.graph):
            if spec.category not in sections:
                sections[spec.category] = menu.addSection(spec.category)
            action = menu.addAction(spec.title)
            action.setData(spec.type_id)
            action.setToolTip(spec.description)
            action.triggered.connect(
                lambda checked=False, t=spec.type_id: self.editor.add_block(t, scene_pos))
            action.setProperty("category", spec.category)
            blocks.append((action, f"{spec.title} {spec.type_id} {spec.category}".lower()))
        search.textChanged.connect(lambda text: _filter(blocks, sections, text))
        search.returnPressed.connect(lambda: _trigger_first(menu, blocks))
        menu.aboutToShow.connect(lambda: QTimer.singleShot(0, search.setFocus))
        return menu


def _filter(blocks: list[tuple[QAction, str]], sections: dict[str, QAction], text: str) -> None:
    """Show the blocks whose title, id or category hold every word typed, and the headings
    of the categories that still show a block."""
    words = text.lower().split()
    shown: set[str] = set()
    for action, haystack in blocks:
        action.setVisible(all(word in haystack for word in words))
        if action.isVisible():
            shown.add(action.property("category"))
    for category, heading in sections.items():
        heading.setVisible(category in shown)


def _trigger_first(menu: QMenu, blocks: list[tuple[QAction, str]]) -> None:
    """Enter in the search field adds the first block still shown."""
    shown = [action for action, _ in blocks if action.isVisible()]
    if shown:
        top = menu
        while isinstance(top.parentWidget(), QMenu):  # close the whole cascade, not one level
            top = top.parentWidget()
        top.close()
        shown[0].trigger()
