"""Canvas gestures: dropping palette blocks, connecting ports, refusals, moving, selecting."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from ui_helpers import drag, send_mouse, send_mouse_local

from resnet_studio.graph import Edge
from resnet_studio.ui.design.interactions import BLOCK_MIME, block_mime
from resnet_studio.ui.design.node_item import INPUT, OUTPUT
from resnet_studio.ui.design.view import MIN_TEXT_PX


def drop_block(view, type_id: str, local: QPoint) -> bool:
    """Drag ``type_id`` in from the palette and drop it at view position ``local``; returns
    whether the view accepted the drag."""
    mime = block_mime(type_id)
    actions = Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(local, actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), enter)
    move = QDragMoveEvent(local, actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), move)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(local), actions, mime, buttons, modifiers)
    QApplication.sendEvent(view.viewport(), drop)
    return drop.isAccepted()


def test_dropping_a_palette_block_adds_a_node_where_it_is_dropped(window):
    view, graph = window.editor.view, window.document.graph
    local = QPoint(300, 240)
    expected = view.mapToScene(local)
    before = set(graph.nodes)
    assert drop_block(view, "conv2d", local)
    (new_id,) = set(graph.nodes) - before
    node = graph.node(new_id)
    assert node.type_id == "conv2d"
    assert abs(node.position[0] - expected.x()) < 1e-6
    assert abs(node.position[1] - expected.y()) < 1e-6
    item = window.editor.scene.node_items[new_id]
    assert item.pos() == QPointF(*node.position) and item.isSelected()
    window.document.undo_stack.undo()
    assert new_id not in graph.nodes and new_id not in window.editor.scene.node_items


def test_a_drag_that_is_not_a_block_is_ignored(window):
    view, graph = window.editor.view, window.document.graph
    count = len(graph)
    assert not drop_block(view, "no_such_block", QPoint(200, 200))
    assert len(graph) == count
    assert BLOCK_MIME == "application/x-resnet-studio-block"


def _port_pos(window, node_id: str, direction: str, port: str = "") -> QPointF:
    item = window.editor.scene.node_items[node_id]
    ports = item.inputs if direction == INPUT else item.outputs
    return (ports[port] if port else next(iter(ports.values()))).anchor()


def test_dragging_from_an_output_port_to_an_input_port_connects_them(window):
    graph, view = window.document.graph, window.editor.view
    window.editor.add_block("relu", QPointF(400, 150))
    new = window.editor.selected_node_ids()[0]
    drag(view, _port_pos(window, "conv1", OUTPUT), _port_pos(window, new, INPUT))
    assert Edge("conv1", "out", new, "in") in graph.edges
    assert Edge("conv1", "out", new, "in") in window.editor.scene.edge_items
    assert window.document.undo_stack.undoText().startswith("Connect conv1")
    window.document.undo_stack.undo()
    assert Edge("conv1", "out", new, "in") not in graph.edges


def test_a_connection_that_would_make_a_cycle_is_refused_with_the_reason(window):
    graph, view = window.document.graph, window.editor.view
    window.editor.add_block("add", QPointF(300, 150))  # a merge: its input takes many edges
    add = window.editor.selected_node_ids()[0]
    drag(view, _port_pos(window, "relu", OUTPUT), _port_pos(window, add, INPUT))
    assert Edge("relu", "out", add, "in") in graph.edges
    count = window.document.undo_stack.count()
    drag(view, _port_pos(window, add, OUTPUT), _port_pos(window, "conv1", INPUT))
    assert "already fed" in view.toast.text()  # conv1.in is taken: refused first for that
    # bn1 reaches the Add node, so Add → bn1 would close a loop.
    graph.disconnect(Edge("conv1", "out", "bn1", "in"))
    drag(view, _port_pos(window, add, OUTPUT), _port_pos(window, "bn1", INPUT))
    assert Edge(add, "out", "bn1", "in") not in graph.edges
    assert "cycle" in view.toast.text() and view.toast.isVisible()
    assert "cycle" in window.statusBar().currentMessage()
    assert window.document.undo_stack.count() == count
    assert [e for e in graph.edges if e.dst == "bn1"] == []


def test_an_incompatible_connection_is_refused_with_the_reason(window):
    graph, view = window.document.graph, window.editor.view
    window.editor.add_block("conv2d", QPointF(400, 700))
    conv = window.editor.selected_node_ids()[0]
    edges = list(graph.edges)
    drag(view, _port_pos(window, "flatten", OUTPUT), _port_pos(window, conv, INPUT))
    assert graph.edges == edges
    assert "feature map" in view.toast.text()
    assert "feature map" in window.statusBar().currentMessage()


def test_a_candidate_port_is_coloured_by_whether_the_graph_accepts_it(window):
    view, scene = window.editor.view, window.editor.scene
    start = _port_pos(window, "flatten", OUTPUT)
    send_mouse(view, QEvent.Type.MouseButtonPress, start)
    send_mouse(view, QEvent.Type.MouseMove, _port_pos(window, "bn1", INPUT))
    refused = scene.node_items["bn1"].inputs["in"].highlight
    send_mouse(view, QEvent.Type.MouseMove, QPointF(900, 900))
    send_mouse(view, QEvent.Type.MouseButtonRelease, QPointF(900, 900))
    assert refused is not None and refused.name() == "#d93025"
    assert scene.node_items["bn1"].inputs["in"].highlight is None
    assert not [i for i in scene.items() if type(i).__name__ == "QGraphicsPathItem"]


def test_dragging_several_selected_nodes_is_one_move_step(window):
    graph, view, scene = window.document.graph, window.editor.view, window.editor.scene
    window.editor.select_nodes(["conv1", "bn1"])
    stack = window.document.undo_stack
    count = stack.count()
    before = {n: graph.node(n).position for n in ("conv1", "bn1", "relu")}
    start = scene.node_items["conv1"].pos()
    drag(view, start, start + QPointF(60, 20), steps=5)
    assert stack.count() == count + 1
    for node_id in ("conv1", "bn1"):
        x, y = before[node_id]
        moved = graph.node(node_id).position
        assert abs(moved[0] - (x + 60)) < 1.5 and abs(moved[1] - (y + 20)) < 1.5
    assert graph.node("relu").position == before["relu"]
    stack.undo()
    assert {n: graph.node(n).position for n in before} == before
    assert scene.node_items["conv1"].pos() == QPointF(*before["conv1"])


def test_rubber_band_selects_the_nodes_it_touches(window):
    view, scene, graph = window.editor.view, window.editor.scene, window.document.graph
    top = scene.node_items["conv1"].sceneBoundingRect().topLeft() - QPointF(150, 10)
    bottom = scene.node_items["bn1"].sceneBoundingRect().bottomRight() + QPointF(150, 0)
    drag(view, top, bottom)
    assert set(scene.selected_node_ids()) == {"conv1", "bn1"}
    assert window.inspector.node_ids == ["conv1", "bn1"]
    assert len(graph) == 9  # selecting changes nothing


def test_delete_removes_the_selection_with_its_edges_as_one_step(window):
    graph, stack = window.document.graph, window.document.undo_stack
    window.editor.select_nodes(["bn1"])
    window.actions["delete"].trigger()
    assert "bn1" not in graph.nodes
    assert not [e for e in graph.edges if "bn1" in (e.src, e.dst)]
    assert "bn1" not in window.editor.scene.node_items
    assert len(window.editor.scene.edge_items) == len(graph.edges)
    stack.undo()
    assert Edge("conv1", "out", "bn1", "in") in graph.edges
    assert Edge("bn1", "out", "relu", "in") in graph.edges
    assert len(window.editor.scene.edge_items) == len(graph.edges)


def test_the_network_is_fitted_in_view_when_the_window_opens(window):
    """Whole if it fits at a legible size; else legible, from the Input, at the least zoom."""
    view, scene = window.editor.view, window.editor.scene
    visible = view.visible_rect()
    assert view.is_fitted() and view.text_px() >= MIN_TEXT_PX - 0.01
    assert visible.contains(scene.node_items["input"].sceneBoundingRect())
    cut = [n for n, item in scene.node_items.items()
           if not visible.contains(item.sceneBoundingRect())]
    assert not cut or view.zoom() == pytest.approx(view.legible_zoom())
    window.resize(1920, 1080)
    QApplication.processEvents()
    window.actions["auto_layout"].trigger()  # wrapped for this canvas: the whole network
    visible = view.visible_rect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in scene.node_items.values())


def test_ctrl_wheel_and_zoom_actions_change_the_zoom(window):
    view = window.editor.view
    start = view.zoom()
    window.actions["zoom_in"].trigger()
    assert view.zoom() > start
    window.actions["zoom_out"].trigger()
    window.actions["zoom_out"].trigger()
    assert view.zoom() < start
    window.actions["zoom_fit"].trigger()
    visible = view.visible_rect()
    assert visible.contains(window.editor.scene.node_items["input"].sceneBoundingRect())


def test_middle_button_drag_pans(window):
    view = window.editor.view
    window.editor.view.zoom_by(2.0)
    bar = view.verticalScrollBar()
    before = bar.value()
    middle = Qt.MouseButton.MiddleButton
    send_mouse_local(view, QEvent.Type.MouseButtonPress, QPointF(300, 300), middle)
    send_mouse_local(view, QEvent.Type.MouseMove, QPointF(300, 320), middle)
    send_mouse_local(view, QEvent.Type.MouseMove, QPointF(300, 340), middle)
    send_mouse_local(view, QEvent.Type.MouseButtonRelease, QPointF(300, 340), middle)
    assert bar.value() == before - 40
    assert view.interaction is None


def test_space_and_left_drag_pans(window, qtbot):
    view = window.editor.view
    view.zoom_by(2.0)
    view.setFocus()
    bar = view.horizontalScrollBar()
    before = bar.value()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    send_mouse_local(view, QEvent.Type.MouseButtonPress, QPointF(400, 300))
    send_mouse_local(view, QEvent.Type.MouseMove, QPointF(430, 300))
    send_mouse_local(view, QEvent.Type.MouseButtonRelease, QPointF(430, 300))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert bar.value() == before - 30
    assert window.editor.selected_node_ids() == []  # panning selects nothing


def test_fit_never_shrinks_node_text_below_legible_and_starts_at_the_input(make_window, qtbot):
    """A network too big for the canvas at legible size is shown from its Input, the rest a
    scroll away; one that fits is shown whole."""
    from resnet_studio import presets

    window = make_window(presets.create("resnet50"))
    window.resize(1280, 800)
    qtbot.waitExposed(window)
    view, scene = window.editor.view, window.editor.scene
    window.show_workspace("design")
    window.actions["zoom_fit"].trigger()
    visible = view.visible_rect()
    cut = [n for n, item in scene.node_items.items()
           if not visible.contains(item.sceneBoundingRect())]
    assert view.text_px() >= MIN_TEXT_PX - 0.01 and view.is_fitted()
    assert visible.contains(scene.node_items["input"].sceneBoundingRect())
    if cut:  # too big: at the least legible zoom, with somewhere to scroll to
        assert view.zoom() == pytest.approx(view.legible_zoom())
        bars = view.horizontalScrollBar(), view.verticalScrollBar()
        assert any(bar.maximum() > bar.minimum() for bar in bars)
    window.resize(1920, 1080)
    QApplication.processEvents()
    window.actions["zoom_fit"].trigger()
    visible = view.visible_rect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in scene.node_items.values())
    assert view.text_px() >= MIN_TEXT_PX


def test_a_fit_follows_a_dock_that_opens_until_the_user_zooms(make_window, qtbot):
    from resnet_studio import presets

    window = make_window(presets.create("small_resnet"))
    window.resize(1920, 1080)
    qtbot.waitExposed(window)
    view, scene = window.editor.view, window.editor.scene
    window.actions["zoom_fit"].trigger()
    window.docks["summary"].hide()
    window.resize(window.width(), window.height() - 150)
    QApplication.processEvents()
    visible = view.visible_rect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in scene.node_items.values())
    assert view.is_fitted()
    window.actions["zoom_in"].trigger()
    assert not view.is_fitted()
    zoom = view.zoom()
    window.resize(window.width(), window.height() + 100)
    QApplication.processEvents()
    assert view.zoom() == zoom  # the user's zoom is kept
