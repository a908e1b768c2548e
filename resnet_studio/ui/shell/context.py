"""What a workspace may use of the window that hosts it.

Workspaces type their ``window`` as ``StudioWindow`` rather than importing the main window, so
the shell imports the workspaces and no workspace imports the shell's window back (import-linter
checks it). The main window satisfies this protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QStatusBar

if TYPE_CHECKING:
    from ..design.code_view import CodeView
    from ..design.document import Document
    from ..design.editor import GraphEditor
    from ..design.inspector import Inspector
    from ..design.palette import BlockPalette
    from ..design.summary import SummaryPanel
    from ..run_focus import RunFocus
    from .recovery import Autosaver


class StudioWindow(Protocol):
    """The main window as the workspaces see it: the open project, its panels, the run in
    focus, the prompts, messages, docks and workspaces."""

    prompts: Any
    settings: Any
    document: Document
    editor: GraphEditor
    palette: BlockPalette
    inspector: Inspector
    summary: SummaryPanel
    code_view: CodeView
    run_focus: RunFocus
    training: Any  # the Train workspace's controller (its runs folder, its recipe)
    runs: Any      # the Train workspace's run actions (open a run, show it, focus on it)
    autosaver: Autosaver
    actions: dict[str, QAction]
    docks: dict[str, QDockWidget]

    def show_message(self, text: str) -> None: ...
    def maybe_save(self) -> bool: ...
    def new_project(self) -> bool: ...
    def open_project(self, path: str | Path | None = None) -> bool: ...
    def save(self) -> bool: ...
    def save_as(self) -> bool: ...
    def export_source(self) -> bool: ...
    def fill_recent_menu(self) -> None: ...
    def start_directory(self) -> Path: ...
    def workspace(self, key: str) -> QMainWindow: ...
    def show_workspace(self, key: str) -> None: ...
    def reveal(self, dock_key: str) -> None: ...
    def menu(self, menu_id: str) -> QMenu: ...
    def statusBar(self) -> QStatusBar: ...
    def close(self) -> bool: ...
    def width(self) -> int: ...
    def resize(self, *size: Any) -> None: ...
