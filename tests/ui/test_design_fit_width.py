"""At 1280×800 (a common laptop screen) the Design workspace's first-start layout leaves the
canvas room to show a preset or example whole after Fit at the least legible zoom: the
networks are laid out in three columns, and the third was cut at the canvas's right edge
while the inspector beside it stood mostly empty. The inspector is narrower now and still
shows every node's parameters without a sideways scroll (its choice lists no longer ask for
their longest choice's width)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from test_workspace_geometry import _open, _openers, _show

from resnet_studio.ui.design.view import MIN_TEXT_PX


def _design_at_1280(make_window, qtbot):
    window = _open(make_window, qtbot, (1280, 800))
    _show(window, "design")
    return window


def test_fit_shows_every_preset_and_example_whole_across_the_canvas(make_window, qtbot):
    window = _design_at_1280(make_window, qtbot)
    view = window.editor.view
    for name, open_it in _openers(window):
        open_it()
        window.actions["zoom_fit"].trigger()
        assert view.text_px() >= MIN_TEXT_PX - 0.01, name
        nodes, shown = window.editor.scene.nodes_rect(), view.visible_rect()
        assert shown.left() <= nodes.left() and nodes.right() <= shown.right(), (
            f"{name}: {(nodes.right() - shown.right()) * view.zoom():.0f} px of its right "
            f"column hidden")


def test_the_inspector_shows_every_kind_of_node_without_a_sideways_scroll(make_window,
                                                                          qtbot):
    window = _design_at_1280(make_window, qtbot)
    inspector, scene = window.inspector, window.editor.scene
    seen: set[str] = set()
    for name, open_it in _openers(window):
        open_it()
        graph = window.document.graph
        for node_id, item in scene.node_items.items():
            kind = graph.node(node_id).type_id
            if kind in seen:
                continue
            seen.add(kind)
            scene.clearSelection()
            item.setSelected(True)
            QApplication.processEvents()
            assert inspector.widget().minimumSizeHint().width() <= inspector.viewport().width(), (
                f"{name}: {node_id} ({kind})")
    assert len(seen) > 15
