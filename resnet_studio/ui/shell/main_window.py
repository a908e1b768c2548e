"""The main window: the shell around the workspaces (Design, Data, Train, Experiments, Analyze),
one shown at a time under the mode bar, each with its own docks and saved layout.

File handling lives here too: new (from a preset), open, open recent, save, save as, the
unsaved-changes question, and autosave recovery. Every question goes through ``prompts`` so a
test can answer it. Each workspace's dock positions and the last workspace used are kept in the
``QSettings`` the window is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMenu, QWidget

from ... import presets
from ...export.model_source import model_source_with_project
from ...graph import Graph, GraphError
from ...graph.project import SUFFIX
from ..design.clipboard import holds_nodes
from ..design.code_view import CodeView
from ..design.document import Document
from ..design.editor import GraphEditor
from ..design.inspector import Inspector
from ..design.palette import BlockPalette
from ..design.summary import SummaryPanel
from ..run_focus import RunFocus
from ..widgets import format as fmt
from ..widgets.dialogs import EMPTY_PROJECT
from .assemble import install_workspaces
from .features import FeatureHost
from .gui_gc import collect_on_gui_thread
from .new_project import empty_project, project_name
from .prompts import DISCARD, SAVE, DialogPrompts
from .qt_app import APP_NAME
from .recovery import AUTOSAVE_MS, Autosaver, default_directory
from .session import ProjectSessions
from .workspaces import WorkspaceStack

MAX_RECENT = 10
LARGEST_FIRST_SIZE = (1920, 1200)
FRAME = 40  # a title bar, about


# What reading or writing a hostile or odd project can raise besides the typed GraphError: a
# 5,000-digit number (ValueError), deep nesting (RecursionError), a name with a lone surrogate
# that UTF-8 cannot encode (UnicodeEncodeError, a ValueError), the disk (OSError).
FILE_ERRORS = (GraphError, ValueError, RecursionError, OSError)


def file_error_text(path: str | Path, exc: BaseException) -> str:
    """One line for a dialog: the typed error's own message, or the file and the cause."""
    if isinstance(exc, GraphError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return f"{path}: the project is nested too deeply to read or write."
    if isinstance(exc, UnicodeError):
        return f"{path}: a name or text holds characters that cannot be stored ({exc.reason})."
    return f"{path}: {getattr(exc, 'strerror', None) or exc}"


def first_size(available: tuple[int, int]) -> tuple[int, int]:
    """The window's size at the first start: the screen's free area (less room for the window
    manager's frame), up to ``LARGEST_FIRST_SIZE`` - a 1280×800 laptop and a 1920×1080 monitor
    both get the whole screen, a 4K one a window of a readable size."""
    return (min(LARGEST_FIRST_SIZE[0], available[0]),
            min(LARGEST_FIRST_SIZE[1], available[1] - FRAME))


def recent_labels(files: list[str]) -> list[str]:
    """Menu labels for recent files: the file name, with its folder where two share a name."""
    names = [Path(f).name for f in files]
    return [f"{name} — {Path(f).parent}" if names.count(name) > 1 else name
            for f, name in zip(files, names)]


class MainWindow(QMainWindow):
    """The editor window for one project at a time.

    Parameters
    ----------
    settings
        Where dock layout and recent files are kept (tests pass a temporary INI file).
    prompts
        Answers the window's questions; ``DialogPrompts`` by default.
    recovery_dir
        Where the autosave goes; the application data directory by default.
    initial
        The project to open when there is nothing to recover; the default preset if None.
    defer_compiler
        Open before the compiler (and torch) has loaded: shapes, costs and model.py follow
        when ``attach_compiler`` is called (the application loads it in the background).
    """

    def __init__(self, settings: QSettings, prompts: Any = None, recovery_dir: Path | None = None,
                 initial: Graph | None = None, autosave_ms: int = AUTOSAVE_MS,
                 defer_compiler: bool = False):
        super().__init__()
        collect_on_gui_thread()  # before any worker thread can collect Qt objects
        self._closed = False
        self._refusal: str | None = None  # the status bar's last "why not", cleared by an edit
        QApplication.instance().aboutToQuit.connect(self._on_about_to_quit)
        self.setObjectName("main_window")
        self.settings = settings
        self.prompts = prompts if prompts is not None else DialogPrompts(self)
        self.document = Document(parent=self, defer_compiler=defer_compiler)
        self.workspaces = WorkspaceStack(self)
        self.setCentralWidget(self.workspaces)
        self.editor = GraphEditor(self.document, self.prompts, self)
        self.workspace("design").setCentralWidget(self.editor)
        self._make_panels()
        self._install_features()
        self._make_status_bar()
        self._connect()
        self.autosaver = Autosaver(self.document, recovery_dir or default_directory(),
                                   autosave_ms, self)
        self._restore_layout()
        self._open_initial(initial)
        self._update_title()
        self._update_actions()
        if defer_compiler:
            self.totals_label.setText("Loading PyTorch: shapes and costs follow…")
            self.code_view.wait_for_compiler()
            self.summary.wait_for_compiler()

    def attach_compiler(self, devices: Any = None) -> None:
        """The compiler has loaded: analyse the project (shapes, costs, model.py fill in) and
        offer the compute ``devices`` found (``training.defaults.Devices``)."""
        if devices is not None:
            self.training.set_devices(devices)
        self.document.attach_compiler()

    # ----- construction -----------------------------------------------------------------------
    def _make_panels(self) -> None:
        graph = self.document.graph
        self.palette = BlockPalette(graph, self)
        self.inspector = Inspector(self.document, self)
        self.summary = SummaryPanel(graph, self)
        self.code_view = CodeView(graph, self)

    def _install_features(self) -> None:
        """Each feature declares its actions, menus and docks; the host installs them and
        then builds the menu bar and the toolbar in their declared order."""
        self.features = FeatureHost(self)
        self.actions, self.docks = self.features.actions, self.features.docks
        self.run_focus = RunFocus(self)
        self.sessions = ProjectSessions(self.document, self.run_focus, self.settings, self)
        for name, feature in install_workspaces(self, self.features).items():
            setattr(self, name, feature)
        self.features.build()
        self.toolbar = self.features.toolbar
        self.recent_menu = self.features.menus["file/recent"]

    def workspace(self, key: str) -> QMainWindow:
        """The page of workspace ``key`` ("design", "data", "train", "experiments",
        "analyze"): it holds that workspace's docks."""
        return self.workspaces.pages[key]

    def show_workspace(self, key: str) -> None:
        self.workspaces.show_workspace(key)

    @property
    def current_workspace(self) -> str:
        return self.workspaces.current

    def reveal(self, dock_key: str) -> None:
        """Switch to the dock's workspace and bring the dock to the front."""
        self.features.reveal(dock_key)

    def menu(self, menu_id: str) -> QMenu:
        """The menu with this id ("file", "file/import", …; see ``features``)."""
        return self.features.menus[menu_id]

    def _make_status_bar(self) -> None:
        self.totals_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.totals_label)

    def _connect(self) -> None:
        doc, editor = self.document, self.editor
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)
        doc.path_changed.connect(self._update_title)
        doc.reset.connect(self._update_title)  # New keeps no file, but the name changes
        QApplication.clipboard().dataChanged.connect(self._update_paste)
        doc.analysis_ready.connect(self._show_analysis)
        editor.message.connect(self.show_message)
        editor.view.refused.connect(self._remember_refusal)
        self.inspector.message.connect(self._remember_refusal)
        doc.undo_stack.indexChanged.connect(self._clear_refusal)
        editor.selection_changed.connect(self.inspector.show_nodes)
        editor.selection_changed.connect(self._on_selection_changed)
        self.inspector.message.connect(self.show_message)
        self.palette.block_activated.connect(editor.add_block)
        self.summary.node_activated.connect(editor.select_node)
        self.code_view.export_requested.connect(self.export_source)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def _remember_refusal(self, text: str) -> None:
        self._refusal = text

    def _clear_refusal(self, index: int) -> None:
        """An edit went through (or was undone): why an earlier one was refused is stale."""
        if self._refusal == self.statusBar().currentMessage():
            self.statusBar().clearMessage()
        self._refusal = None

    # ----- following the document -------------------------------------------------------------
    # Slots are bound methods, not lambdas, so Qt disconnects them when the window is deleted.
    def _on_clean_changed(self, clean: bool) -> None:
        self._update_title()

    def _on_selection_changed(self, node_ids: list) -> None:
        self._update_actions()

    def _update_title(self) -> None:
        held_by = self.document.held_by
        note = f" (read-only: open in pid {held_by.get('pid', '?')})" if held_by else ""
        self.setWindowTitle(f"{self.document.display_name()}[*]{note} — {APP_NAME}")
        self.setWindowModified(self.document.is_modified())

    def _update_actions(self) -> None:
        ids = self.editor.selected_node_ids()
        graph = self.document.graph
        for key in ("cut", "copy", "duplicate", "collapse", "inspect"):
            self.actions[key].setEnabled(bool(ids))
        self.actions["rename"].setEnabled(len(ids) == 1)
        self.actions["expand"].setEnabled(any(graph.node_spec(n).composite for n in ids))
        self._update_paste()

    def _update_paste(self) -> None:
        self.actions["paste"].setEnabled(holds_nodes())

    def _show_analysis(self, analysis) -> None:
        self.summary.show_analysis(analysis)
        self.code_view.refresh(analysis)
        errors = sum(d.severity == "error" for d in analysis.diagnostics)
        state = f"{errors} problem{'s' * (errors != 1)}" if errors else "no problems"
        self.totals_label.setText(
            f"{len(self.document.graph)} nodes · {fmt.count(analysis.total_params)} parameters · "
            f"{fmt.count(analysis.total_macs)} MACs · {state}")

    # ----- opening and creating ---------------------------------------------------------------
    def _open_initial(self, initial: Graph | None) -> None:
        if self.autosaver.pending():
            if self.prompts.ask_restore(self.autosaver.describe()) and self._recover():
                return
            self.autosaver.discard()
        graph = initial if initial is not None else presets.create(presets.DEFAULT_PRESET)
        self.document.load_graph(graph)

    def _recover(self) -> bool:
        try:
            data, original = self.autosaver.read()
            self.document.load(data, original, source="the autosave", modified=True)
        except GraphError as exc:
            self.prompts.show_error("Cannot recover", str(exc))
            return False
        self.show_message("Recovered the autosaved project; save it to keep it.")
        return True

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        name = self.prompts.ask_preset(presets.PRESETS, presets.DEFAULT_PRESET)
        if name is None:
            return False
        self.document.load_graph(empty_project() if name == EMPTY_PROJECT
                                 else presets.create(name))
        self.autosaver.discard()
        return True

    def open_project(self, path: str | Path | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path = self.prompts.ask_open_path(str(self.start_directory()))
            if path is None:
                return False
        try:
            self.document.open(Path(path))
        except FILE_ERRORS as exc:
            self.prompts.show_error("Cannot open project", file_error_text(path, exc))
            return False
        self.autosaver.discard()
        self._add_recent(Path(path))
        self.show_message(f"Opened {path}")
        return True

    # ----- saving -----------------------------------------------------------------------------
    def save(self) -> bool:
        if self.document.path is None or self.document.read_only:
            return self.save_as()  # another process edits that file: keep this as a copy
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        name = f"{self.document.graph.name or 'network'}{SUFFIX}"
        suggested = str(self.document.path or self.start_directory() / name)
        path = self.prompts.ask_save_path("Save project", suggested)
        if path is None:
            return False
        path = Path(path)
        if not path.name.endswith((SUFFIX, ".json")):
            path = path.with_name(path.name + SUFFIX)
        # The project is named after its file from now on, not after the preset it came from:
        # the title, the model.py docstring and the run folders follow.
        self.document.graph.name = project_name(path)
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except FILE_ERRORS as exc:
            self.prompts.show_error("Cannot save", file_error_text(path, exc))
            return False
        self.autosaver.discard()
        self.sessions.saved()
        self._add_recent(path)
        self.show_message(f"Saved {path}")
        return True

    def export_source(self) -> bool:
        source = self.code_view.regenerate()
        if not source:
            self.prompts.show_error("Cannot export model.py", self.code_view.editor.toPlainText())
            return False
        directory = self.start_directory()
        path = self.prompts.ask_save_path("Export model.py", str(directory / "model.py"),
                                          "Python files (*.py)")
        if path is None:
            return False
        try:  # with the project block, so `resnet-studio import` opens the file again
            Path(path).write_text(model_source_with_project(self.document.graph),
                                  encoding="utf-8")
        except OSError as exc:
            self.prompts.show_error("Cannot export model.py", f"{path}: {exc.strerror or exc}")
            return False
        self.show_message(f"Exported {path}")
        return True

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current project (saved, discarded or unchanged)."""
        if not self.document.is_modified():
            return True
        answer = self.prompts.ask_unsaved(self.document.display_name())
        if answer == SAVE:
            return self.save()
        return answer == DISCARD

    # ----- recent files -----------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        files: list[str] = []
        for entry in value or []:  # older settings may hold the same file under two spellings
            path = str(Path(str(entry)).resolve())
            if path not in files:
                files.append(path)
        return files

    def start_directory(self) -> Path:
        """Where file dialogs open: the project's folder, else the last folder a project was
        opened from or saved to, else the home folder."""
        if self.document.path is not None:
            return self.document.path.parent
        last = self.settings.value("last_directory")
        return Path(str(last)) if last and Path(str(last)).is_dir() else Path.home()

    def _add_recent(self, path: Path) -> None:
        self.settings.setValue("last_directory", str(path.resolve().parent))
        entry = str(path.resolve())
        files = [entry] + [f for f in self.recent_files() if f != entry]
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path, label in zip(files, recent_labels(files)):
            action = self.recent_menu.addAction(label)
            action.setStatusTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_project(p))
        if not files:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # ----- layout and closing -----------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*first_size(self.screen().availableGeometry().size().toTuple()))
        if state is not None:
            self.restoreState(state)  # the toolbar
        for key, page in self.workspaces.pages.items():
            page.first_shown = lambda k=key: self.default_dock_sizes(k)
        self.workspaces.restore(self.settings)

    def default_dock_sizes(self, workspace: str | None = None) -> None:
        """The first start's dock sizes in ``workspace`` (every workspace if None)."""
        self.features.default_dock_sizes(workspace)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.workspaces.save(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        if not self.features.may_close() or not self.maybe_save():
            event.ignore()
            return
        self._tear_down(keep_autosave=False)
        event.accept()
        self._close_own_windows()

    def _close_own_windows(self) -> None:
        """Close the window's own top-level children left open (the tour, a non-modal help
        or results dialog): Qt quits when the last window closes, and one of them left on
        screen would keep the application running with the editor gone."""
        for widget in QApplication.topLevelWidgets():
            if widget is not self and widget.isVisible() and self._owns(widget):
                widget.close()

    def _owns(self, widget: QWidget) -> bool:
        parent = widget.parentWidget()
        while parent is not None and parent is not self:
            parent = parent.parentWidget()
        return parent is self

    def _on_about_to_quit(self) -> None:
        """The application quits without this window closing (``QApplication.exit()``):
        stop the run and wait for its thread - a QThread destroyed while running aborts
        Python - and keep unsaved edits in the autosave rather than ask."""
        if not self._closed:
            self._tear_down(keep_autosave=True)
            self.close()  # accepted at once now; leaves nothing half-torn-down on screen

    def _tear_down(self, keep_autosave: bool) -> None:
        self._closed = True
        self.features.shutdown()  # stops a run and waits for its thread
        self.save_layout()
        self.autosaver.stop()
        if keep_autosave:
            self.autosaver.save_now()  # never raises: a quit must not be stopped by a disk
        else:
            self.autosaver.discard()
        self.editor.view.cancel_interaction()
        self.palette.close_palette()
        self.inspector.close_inspector()
        self.editor.close_editor()
        self.document.close()
