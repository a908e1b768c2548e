"""The open project as the editor sees it: the graph, its undo stack, file and analysis.

The ``Graph`` stays the same object for the window's life; opening a file or starting a new
project replaces its contents (``contents.replace_contents``), so every view stays
subscribed. After each edit the analysis reruns, debounced, with one ``Analyzer`` whose
per-node cache makes every run after the first fast.

The analyser runs modules on torch's meta device. A document made with ``defer_compiler``
opens without it (the window shows before torch has loaded): edits are kept, no analysis
runs, and ``attach_compiler`` — called once the compiler has loaded in the background —
analyses the project as it is by then. Anything that needs an analysis at once
(``current_analysis``) loads the compiler itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ... import locks
from ...blocks import CATALOGUE
from ...graph import Graph, GraphError, events
from ...graph import project as project_file
from ...graph.contents import replace_contents, snapshot
from .commands import GraphCommand, SnapshotCommand

if TYPE_CHECKING:
    from ...compiler import Analysis, Analyzer
    from ...locks import Lock

ANALYSIS_DELAY_MS = 150
STRUCTURAL_EVENTS = (events.NodeAdded, events.NodeRemoved, events.EdgeAdded, events.EdgeRemoved)


class Document(QObject):
    """One project: ``graph`` (the truth), ``undo_stack``, ``path`` and the latest analysis.

    Signals
    -------
    analysis_ready(Analysis)
        Shapes, costs and diagnostics after the edits of the last ~150 ms.
    path_changed()
        The file the project is saved in changed (save as, open, new).
    reset()
        The whole project was replaced (open, new, recovery): views may re-fit.
    """

    analysis_ready = Signal(object)
    path_changed = Signal()
    reset = Signal()

    def __init__(self, graph: Graph | None = None, parent: QObject | None = None,
                 defer_compiler: bool = False):
        super().__init__(parent)
        self.graph = graph if graph is not None else Graph(CATALOGUE)
        self.undo_stack = QUndoStack(self)
        self.analyzer: Analyzer | None = None
        if not defer_compiler:
            self.attach_compiler(analyze=False)
        self.analysis: Analysis | None = None
        self.path: Path | None = None
        # The project file's lock while it is open here; or, when another process holds it,
        # that process's record: the project is then read-only (Save asks for Save As).
        self._lock: Lock | None = None
        self.held_by: dict[str, Any] | None = None
        # The name came with the source (a preset, an import), not from the user: it goes at
        # the first structural edit of the unsaved project (see ``_on_graph_event``).
        self.borrowed_name = False
        self._dropped_name = ""
        self._timer = QTimer(self, singleShot=True, interval=ANALYSIS_DELAY_MS)
        self._timer.timeout.connect(self.analyze_now)
        self.graph.events.subscribe(self._on_graph_event)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def close(self) -> None:
        """Stop listening to the graph and cancel a pending analysis."""
        self._timer.stop()
        self.graph.events.unsubscribe(self._on_graph_event)
        self._release()

    # ----- editing ----------------------------------------------------------------------------
    def push(self, command: GraphCommand) -> None:
        """Check ``command`` and put it on the undo stack (which applies it).

        Raises the graph's typed error, and leaves everything unchanged, when it cannot apply.
        """
        command.check()
        self.undo_stack.push(command)

    def apply_structural(self, text: str, action: Callable[[], Any]) -> Any:
        """Run a whole-graph edit (expand, collapse) as one undoable step.

        On a GraphError the document is restored to where it was and the error re-raised.
        """
        before = snapshot(self.graph)
        try:
            result = action()
        except GraphError:
            replace_contents(self.graph, before)
            raise
        self.undo_stack.push(SnapshotCommand(self.graph, text, before, snapshot(self.graph)))
        return result

    # ----- files ------------------------------------------------------------------------------
    def load(self, data: Mapping[str, Any], path: Path | None = None, source: str = "",
             modified: bool = False) -> None:
        """Replace the project by ``data`` (a project dict): a fresh undo history, ``path``
        as the file it belongs to. ``modified`` marks it unsaved (a recovered autosave)."""
        self.borrowed_name, self._dropped_name = False, ""
        replace_contents(self.graph, data, source or str(path or "<project>"))
        self.undo_stack.clear()
        if modified:
            self.undo_stack.resetClean()
        self._set_path(path)
        self.analyze_now()
        self.reset.emit()

    def load_graph(self, graph: Graph, path: Path | None = None) -> None:
        self.load(snapshot(graph), path, source=graph.name or "<new project>")
        self.borrowed_name = path is None and bool(self.graph.name)

    def open(self, path: Path) -> None:
        """Read the project file at ``path``; raises ProjectFileError naming the problem."""
        graph = project_file.load(path, self.graph.lookup)
        self.load(snapshot(graph), Path(path))

    def save(self, path: Path | None = None) -> None:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("the project has no file yet; choose one with Save As")
        project_file.save(self.graph, target)
        self._set_path(target)
        self.undo_stack.setClean()

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def display_name(self) -> str:
        if self.path is not None:
            return self.path.name
        return f"Untitled ({self.graph.name})" if self.graph.name else "Untitled"

    def _set_path(self, path: Path | None) -> None:
        # Absolute, so the autosave and Open Recent still find the file from another working
        # directory (a recovered project used to save into the new process's cwd).
        path = Path(path).resolve() if path is not None else None
        if path != self.path or (path is not None and self.held_by is not None):
            self._release()
            self.path = path
            self._take(path)
            self.path_changed.emit()

    @property
    def read_only(self) -> bool:
        """Another process has the project file open for editing: it cannot be saved here."""
        return self.held_by is not None

    def _take(self, path: Path | None) -> None:
        """Hold the project file's lock while it is open, or note who holds it."""
        if path is None:
            return
        try:
            self._lock = locks.hold(path, directory=False)
        except locks.LockBusy as exc:
            self.held_by = exc.holder or {"pid": "?"}
        except OSError:  # a folder where no lock file can be made: saving tells why
            pass

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
        self._lock, self.held_by = None, None

    # ----- analysis ---------------------------------------------------------------------------
    def schedule_analysis(self) -> None:
        self._timer.start()

    @property
    def compiler_ready(self) -> bool:
        return self.analyzer is not None

    def attach_compiler(self, analyze: bool = True) -> None:
        """Make the analyser (importing the compiler, and torch, if nobody has yet) and, with
        ``analyze``, analyse the project as it is now."""
        if self.analyzer is None:
            from ...compiler import Analyzer

            self.analyzer = Analyzer()
        if analyze:
            self.analyze_now()

    def current_analysis(self) -> Analysis:
        """The analysis of the graph as it is now (running a pending one at once, and loading
        the compiler first if the document was opened without it)."""
        if self.analyzer is None:
            self.attach_compiler(analyze=False)
        if self.analysis is None or self._timer.isActive():
            return self.analyze_now()
        return self.analysis

    def analyze_now(self) -> Analysis | None:
        """Analyse now and emit ``analysis_ready``; None (nothing emitted) while the compiler
        has not been attached."""
        self._timer.stop()
        if self.analyzer is None:
            return None
        self.analysis = self.analyzer.analyze(self.graph)
        self.analysis_ready.emit(self.analysis)
        return self.analysis

    def _on_graph_event(self, event: object) -> None:
        if not isinstance(event, events.NodeMoved):  # positions change no shape or cost
            self.schedule_analysis()
        if self.borrowed_name and isinstance(event, STRUCTURAL_EVENTS):
            self._drop_borrowed_name()

    def _drop_borrowed_name(self) -> None:
        """A preset redrawn (a node or connection added or removed) is no longer that preset:
        the unsaved project becomes "Untitled", its model.py docstring and runs follow.
        Parameters and positions keep the name (a ResNet-20 with another width is still one).
        Undoing back to the design as it came gives the name back; saving names the project
        after its file."""
        self.borrowed_name, self._dropped_name = False, self.graph.name
        self.graph.name = ""
        self.path_changed.emit()

    def _on_clean_changed(self, clean: bool) -> None:
        if clean and self._dropped_name and self.path is None:
            self.graph.name, self._dropped_name = self._dropped_name, ""
            self.borrowed_name = True
            self.path_changed.emit()
