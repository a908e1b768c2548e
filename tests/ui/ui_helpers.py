"""Helpers for the editor tests: a small hand-made network, scripted answers to the window's
questions, and mouse events with the buttons a real drag holds."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import Graph, InputSpec
from resnet_studio.graph.project import dumps, to_dict


def small_graph() -> Graph:
    """input → conv1 → bn1 → relu → block (a BasicBlock) → pool → flatten → fc → output."""
    g = Graph(CATALOGUE, InputSpec(channels=3, height=16, width=16, classes=10), name="tiny")
    chain = [("input", "input", {}), ("conv1", "conv2d", {"out_channels": 8, "bias": False}),
             ("bn1", "batchnorm2d", {}), ("relu", "relu", {}),
             ("block", "basicblock", {"planes": 8}), ("pool", "adaptiveavgpool2d", {}),
             ("flatten", "flatten", {}), ("fc", "linear", {"out_features": "$classes"}),
             ("output", "output", {})]
    previous = None
    for row, (node_id, type_id, params) in enumerate(chain):
        g.add_node(type_id, params, (0.0, 100.0 * row), node_id)
        if previous is not None:
            g.connect(previous, "out", node_id, "in")
        previous = node_id
    return g


def saved_text(graph: Graph) -> str:
    """The exact text a save would write: undo must restore it byte for byte (node order,
    edge order and all, since they decide the topological and state_dict order)."""
    return dumps(graph)


def nodes_by_id(graph: Graph) -> dict[str, Any]:
    """The project dict with its nodes keyed by id, for looking entries up in assertions."""
    data = to_dict(graph)
    data["nodes"] = {n["id"]: n for n in data["nodes"]}
    return data


class ScriptedPrompts:
    """Answers the window's questions as a test sets them, and records what was asked."""

    def __init__(self) -> None:
        self.unsaved_answer = "discard"
        self.restore_answer = False
        self.open_path: str | None = None
        self.save_path: str | None = None
        self.preset: str | None = None
        self.block: tuple[str, dict] | None = None
        self.asked: list[tuple[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

    def ask_unsaved(self, name: str) -> str:
        self.asked.append(("unsaved", name))
        return self.unsaved_answer

    def ask_restore(self, description: str) -> bool:
        self.asked.append(("restore", description))
        return self.restore_answer

    def ask_open_path(self, directory: str) -> str | None:
        self.asked.append(("open", directory))
        return self.open_path

    def ask_save_path(self, title: str, suggested: str, file_filter: str = "") -> str | None:
        self.asked.append(("save", title))
        return self.save_path

    def ask_preset(self, presets: Any, current: str | None) -> str | None:
        self.asked.append(("preset", current))
        return self.preset

    def ask_block(self, graph: Graph, node_ids: list[str], rows: list) -> tuple[str, dict] | None:
        self.asked.append(("block", list(node_ids)))
        return self.block

    def show_error(self, title: str, message: str) -> None:
        self.errors.append((title, message))


# ----- mouse helpers ------------------------------------------------------------------------------
def send_mouse(view, kind: QEvent.Type, scene_pos: QPointF,
               button: Qt.MouseButton = Qt.MouseButton.LeftButton,
               modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Send one mouse event to the view's viewport at a scene position (buttons held as a
    real drag holds them, which QTest's mouseMove does not always report)."""
    send_mouse_local(view, kind, QPointF(view.mapFromScene(scene_pos)), button, modifiers)


def send_mouse_local(view, kind: QEvent.Type, local: QPointF,
                     button: Qt.MouseButton = Qt.MouseButton.LeftButton,
                     modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """As ``send_mouse``, at a position in viewport coordinates."""
    global_pos = QPointF(view.viewport().mapToGlobal(local.toPoint()))
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    acting = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button
    event = QMouseEvent(kind, local, global_pos, acting, held, modifiers)
    QApplication.sendEvent(view.viewport(), event)


def drag(view, start: QPointF, end: QPointF, steps: int = 4,
         button: Qt.MouseButton = Qt.MouseButton.LeftButton,
         modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    send_mouse(view, QEvent.Type.MouseButtonPress, start, button, modifiers)
    for i in range(1, steps + 1):
        point = start + (end - start) * (i / steps)
        send_mouse(view, QEvent.Type.MouseMove, point, button, modifiers)
    send_mouse(view, QEvent.Type.MouseButtonRelease, end, button, modifiers)


def view_point(view, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)
