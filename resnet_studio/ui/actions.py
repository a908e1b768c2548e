"""The window's actions, menus and toolbar, declared as one table.

Standard operations use ``QKeySequence.StandardKey`` so each platform gets its own shortcuts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

if TYPE_CHECKING:
    from .main_window import MainWindow

Std = QKeySequence.StandardKey


def _table(w: MainWindow) -> list[tuple[str, str, object, Callable, str]]:
    """(key, text, shortcut, slot, status tip) of every plain action."""
    e = w.editor
    return [
        ("new", "&New…", Std.New, w.new_project, "Start a new project from a preset"),
        ("open", "&Open…", Std.Open, w.open_project, "Open a project file"),
        ("save", "&Save", Std.Save, w.save, "Save the project"),
        ("save_as", "Save &As…", Std.SaveAs, w.save_as, "Save the project under a new name"),
        ("export_source", "&Export model.py…", "Ctrl+Shift+E", w.export_source,
         "Write the network as a standalone PyTorch model.py"),
        ("quit", "&Quit", Std.Quit, w.close, "Close ResNet Studio"),
        ("cut", "Cu&t", Std.Cut, e.cut, "Cut the selected nodes"),
        ("copy", "&Copy", Std.Copy, e.copy, "Copy the selected nodes"),
        ("paste", "&Paste", Std.Paste, e.paste, "Paste nodes"),
        ("delete", "&Delete", Std.Delete, e.delete_selection,
         "Delete the selected nodes and connections"),
        ("select_all", "Select &All", Std.SelectAll, e.select_all, "Select every node"),
        ("expand", "E&xpand Block", "Ctrl+E", e.expand_selected,
         "Replace the selected block by the layers it is made of"),
        ("collapse", "&Make Block from Selection…", "Ctrl+G", e.collapse_selection,
         "Turn the selected nodes into a new reusable block"),
        ("auto_layout", "Auto-&layout", "Ctrl+L", e.auto_layout,
         "Arrange the network top to bottom"),
        ("zoom_in", "Zoom &In", Std.ZoomIn, e.view.zoom_in, "Zoom in"),
        ("zoom_out", "Zoom &Out", Std.ZoomOut, e.view.zoom_out, "Zoom out"),
        ("zoom_fit", "Zoom to &Fit", "Ctrl+0", e.view.fit, "Show the whole network"),
    ]


def create_actions(w: MainWindow) -> dict[str, QAction]:
    actions: dict[str, QAction] = {}
    for key, text, shortcut, slot, tip in _table(w):
        action = QAction(text, w)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({action.shortcut().toString()})"
                          if not action.shortcut().isEmpty() else tip)
        action.triggered.connect(lambda checked=False, s=slot: s())
        actions[key] = action
    actions["delete"].setShortcuts([QKeySequence(Std.Delete), QKeySequence("Backspace")])
    stack = w.document.undo_stack
    actions["undo"] = stack.createUndoAction(w, "&Undo")
    actions["undo"].setShortcut(QKeySequence(Std.Undo))
    actions["redo"] = stack.createRedoAction(w, "&Redo")
    actions["redo"].setShortcut(QKeySequence(Std.Redo))
    shapes = QAction("Show Edge &Shapes", w, checkable=True)
    shapes.setStatusTip("Label every connection with the shape of the tensor it carries")
    shapes.toggled.connect(w.editor.set_show_edge_shapes)
    actions["edge_shapes"] = shapes
    return actions


def build_menus(w: MainWindow, a: dict[str, QAction]) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a["new"], a["open"]])
    w.recent_menu = QMenu("Open &Recent", w)
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    file_menu.addMenu(w.recent_menu)
    file_menu.addSeparator()
    file_menu.addActions([a["save"], a["save_as"], a["export_source"]])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit = bar.addMenu("&Edit")
    edit.addActions([a["undo"], a["redo"]])
    edit.addSeparator()
    edit.addActions([a["cut"], a["copy"], a["paste"], a["delete"]])
    edit.addSeparator()
    edit.addActions([a["select_all"], a["expand"], a["collapse"]])
    view = bar.addMenu("&View")
    view.addActions([a["zoom_in"], a["zoom_out"], a["zoom_fit"]])
    view.addSeparator()
    view.addActions([a["auto_layout"], a["edge_shapes"]])
    view.addSeparator()
    for dock in w.docks.values():
        view.addAction(dock.toggleViewAction())


def build_toolbar(w: MainWindow, a: dict[str, QAction]) -> QToolBar:
    bar = QToolBar("Main toolbar", w)
    bar.setObjectName("main_toolbar")
    bar.setMovable(True)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    groups = (("new", "open", "save"), ("undo", "redo"), ("delete",),
              ("zoom_in", "zoom_out", "zoom_fit", "auto_layout"), ("expand", "collapse"),
              ("edge_shapes",))
    labels = {"new": "New", "open": "Open", "save": "Save", "undo": "Undo", "redo": "Redo",
              "delete": "Delete", "zoom_in": "Zoom +", "zoom_out": "Zoom −", "zoom_fit": "Fit",
              "auto_layout": "Auto-layout", "expand": "Expand", "collapse": "Make Block",
              "edge_shapes": "Edge Shapes"}
    for group in groups:
        for key in group:
            a[key].setIconText(labels[key])  # short and fixed ("Undo", not "Undo Move")
            bar.addAction(a[key])
        bar.addSeparator()
    w.addToolBar(bar)
    return bar
