"""The canvas's context menus: built for a point of the view, from the features' declarations
plus local entries; triggering an entry edits through one undoable command."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu, QWidgetAction
from ui_helpers import saved_text

from resnet_studio.graph import Edge
from resnet_studio.ui.design.context_menus import ADD_BLOCK_TITLE
from resnet_studio.ui.design.edge_item import curve
from resnet_studio.ui.shell.features import ActionSpec, Contributions, Feature


def texts(menu: QMenu) -> list[str]:
    """The menu's entries by text, "|" for a separator, sub-menus by title."""
    return ["|" if a.isSeparator() else a.text().replace("&", "") for a in menu.actions()
            if not isinstance(a, QWidgetAction)]


def entry(menu: QMenu, text: str) -> QAction:
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def node_pos(window, node_id: str) -> QPoint:
    item = window.editor.scene.node_items[node_id]
    window.editor.view.centerOn(item)
    return window.editor.view.mapFromScene(item.sceneBoundingRect().center())


def edge_pos(window, edge: Edge) -> QPoint:
    item = window.editor.scene.edge_items[edge]
    point = curve(item.source.anchor(), item.target.anchor()).pointAtPercent(0.5)
    window.editor.view.centerOn(point)
    return window.editor.view.mapFromScene(point)


def empty_pos(window) -> QPoint:
    view = window.editor.view
    rect = window.editor.scene.nodes_rect()
    view.centerOn(QPointF(rect.right() + 400, rect.center().y()))
    return view.mapFromScene(QPointF(rect.right() + 400, rect.center().y()))


def test_node_menu_lists_node_actions_selects_the_node_and_deletes_undoably(window):
    editor, graph = window.editor, window.document.graph
    before = saved_text(graph)
    menu = editor.menus.menu_at(node_pos(window, "bn1"))
    assert editor.selected_node_ids() == ["bn1"]
    assert texts(menu) == ["Inspect", "|", "Cut", "Copy", "Duplicate", "Delete",
                           "Expand Block", "Make Block from Selection…", "Rename…", "|",
                           "Help on Block"]
    assert not entry(menu, "Expand Block").isEnabled()  # bn1 is a plain layer
    entry(menu, "Delete").trigger()
    assert "bn1" not in graph.nodes
    window.document.undo_stack.undo()
    assert saved_text(graph) == before


def test_node_menu_on_a_selected_node_keeps_the_selection_and_expands_a_block(window):
    editor, graph = window.editor, window.document.graph
    editor.select_nodes(["relu", "block"])
    menu = editor.menus.menu_at(node_pos(window, "block"))
    assert editor.selected_node_ids() == ["relu", "block"]
    editor.select_nodes(["block"])
    menu = editor.menus.menu_at(node_pos(window, "block"))
    assert entry(menu, "Expand Block").isEnabled()
    entry(menu, "Expand Block").trigger()
    assert "block" not in graph.nodes
    window.document.undo_stack.undo()
    assert graph.node("block").type_id == "basicblock"


def test_duplicate_copies_the_node_beside_it_as_one_undo_step(window):
    editor, graph = window.editor, window.document.graph
    menu = editor.menus.menu_at(node_pos(window, "conv1"))
    count = window.document.undo_stack.count()
    entry(menu, "Duplicate").trigger()
    (new_id,) = editor.selected_node_ids()
    assert new_id != "conv1" and graph.node(new_id).params == graph.node("conv1").params
    assert graph.node(new_id).position[0] > graph.node("conv1").position[0]
    assert window.document.undo_stack.count() == count + 1
    window.document.undo_stack.undo()
    assert new_id not in graph.nodes


def test_inspect_and_rename_show_the_node_in_the_inspector(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    window.docks["inspector"].hide()
    menu = window.editor.menus.menu_at(node_pos(window, "fc"))
    entry(menu, "Inspect").trigger()
    assert window.docks["inspector"].isVisible()
    assert window.inspector.name_edit.text() == "fc"
    entry(menu, "Rename…").trigger()
    assert QApplication.focusWidget() is window.inspector.name_edit
    window.inspector.name_edit.setText("classifier")
    window.inspector.name_edit.editingFinished.emit()
    assert "classifier" in window.document.graph.nodes
    window.document.undo_stack.undo()
    assert "fc" in window.document.graph.nodes


def test_edge_menu_selects_only_that_connection_and_deletes_it(window):
    editor, graph = window.editor, window.document.graph
    edge = Edge("conv1", "out", "bn1", "in")
    editor.select_nodes(["relu"])
    menu = editor.menus.menu_at(edge_pos(window, edge))
    assert texts(menu) == ["Delete"]
    assert editor.selected_node_ids() == [] and editor.scene.selected_edges() == [edge]
    entry(menu, "Delete").trigger()
    assert edge not in graph.edges and "conv1" in graph.nodes and "bn1" in graph.nodes
    window.document.undo_stack.undo()
    assert edge in graph.edges


def test_canvas_menu_adds_a_block_at_the_click_position(window):
    editor, graph = window.editor, window.document.graph
    pos = empty_pos(window)
    where = editor.view.mapToScene(pos)
    menu = editor.menus.menu_at(pos)
    # the last group is the Analyses feature's declared canvas entry
    assert texts(menu) == ["Add Block Here", "|", "Paste", "Select All", "|",
                           "Zoom to Fit", "Auto-layout", "|", "Signal Propagation at Init…"]
    add = entry(menu, ADD_BLOCK_TITLE.replace("&", "")).menu()
    before = set(graph.nodes)
    entry(add, "Bottleneck").trigger()
    (new_id,) = set(graph.nodes) - before
    assert graph.node(new_id).type_id == "bottleneck"
    assert graph.node(new_id).position == (where.x(), where.y())
    window.document.undo_stack.undo()
    assert set(graph.nodes) == before


def test_add_block_search_filters_blocks_and_category_headings(window):
    menu = window.editor.menus.menu_at(empty_pos(window))
    add = entry(menu, "Add Block Here").menu()
    search = next(a for a in add.actions() if isinstance(a, QWidgetAction)).defaultWidget()
    assert isinstance(search, QLineEdit)
    search.setText("pool adaptive")
    shown = [a.text() for a in add.actions() if a.isVisible() and not a.isSeparator()
             and not isinstance(a, QWidgetAction)]
    headings = [a.text() for a in add.actions() if a.isVisible() and a.isSeparator()]
    assert shown == ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]
    assert headings == ["Pooling"]
    before = set(window.document.graph.nodes)
    search.returnPressed.emit()
    (new_id,) = set(window.document.graph.nodes) - before
    assert window.document.graph.node(new_id).type_id == "adaptiveavgpool2d"


def test_canvas_menu_select_all_and_paste_act_on_the_document(window):
    editor, graph = window.editor, window.document.graph
    menu = editor.menus.menu_at(empty_pos(window))
    entry(menu, "Select All").trigger()
    assert set(editor.selected_node_ids()) == set(graph.nodes)
    editor.select_nodes(["conv1"])
    assert editor.copy()
    menu = editor.menus.menu_at(empty_pos(window))
    assert entry(menu, "Paste").isEnabled()
    before = set(graph.nodes)
    entry(menu, "Paste").trigger()
    (new_id,) = set(graph.nodes) - before
    assert graph.node(new_id).type_id == "conv2d"
    window.document.undo_stack.undo()
    assert set(graph.nodes) == before


def test_another_feature_can_add_entries_to_the_node_menu(make_window):
    calls = []

    class Probe(Feature):
        def contributions(self):
            return Contributions([ActionSpec("probe", "Probe Node", lambda: calls.append(1),
                                             menu="training", context=("node",))])

    window = make_window()
    probe = Probe()
    window.features.install(probe)
    menu = window.editor.menus.menu_at(node_pos(window, "conv1"))
    assert texts(menu)[-2:] == ["|", "Probe Node"]
    entry(menu, "Probe Node").trigger()
    assert calls == [1]


def test_a_right_click_shows_the_menu_for_that_point(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    view = window.editor.view
    pos = node_pos(window, "relu")
    seen: list[list[str]] = []

    def close_popup() -> None:
        popup = QApplication.activePopupWidget()
        seen.append(texts(popup) if isinstance(popup, QMenu) else [])
        if popup is not None:
            popup.close()

    QTimer.singleShot(200, close_popup)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                              view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)  # returns once the menu has closed
    assert seen and seen[0][0] == "Inspect"
    assert window.editor.selected_node_ids() == ["relu"]
