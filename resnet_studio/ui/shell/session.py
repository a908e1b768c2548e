"""The project session: what the window shows belongs to the project that is open.

One ``ProjectSession`` per open project: the project's file, its runs (the folder beside a
saved project, or the runs this session made or opened for an untitled one) and the run in
focus. ``ProjectSessions`` makes a new one whenever the document is replaced (New, Open,
Open Example, an import, recovery: every path goes through ``Document.load``) and says so
with one signal, ``replaced(session)``: every view of per-project state — the training
panel, curves, runs list, comparison, confusion, canvas tints and legends, the study view,
the analyses — clears or reloads on it, so nothing of one project shows in another.

Reopening a project brings back its run in focus: the one last used, remembered per project
file, else the latest finished run in its runs folder, so Export Checkpoint and Check an
Image act on it at once. A remembered run that has since been deleted falls back silently.

The memory lives in the window's ``QSettings``, not in a file beside the project: the
project folder stays the user's (no hidden file appears in a folder kept under git or on a
read-only share, and a project copied to another machine does not carry this machine's
paths), and the tests' temporary settings keep it per test like the recent files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from ...train.rundir import is_run_dir, list_runs, read_status

FOCUS_KEY = "projects/run_in_focus"
# What Export Checkpoint and Check an Image say when no run is in focus, and the plot exports
# when nothing is on show: what to do, not only what is missing
NO_RUN_IN_FOCUS = ("No run is in focus. Train the network (Training ▸ Start Training, F5), "
                   "double-click a finished run in Training Curves and Runs ▸ Runs, or open "
                   "a run folder (Training ▸ Open Run…, Ctrl+Shift+O); then try again.")
NO_CURVES = ("No curves are on show. Train the network (Training ▸ Start Training, F5) or "
             "open a run (Training ▸ Open Run…, Ctrl+Shift+O); then export again.")
MAX_REMEMBERED = 50  # projects whose run in focus is remembered, most recent first


class ProjectSession:
    """One open project: its file (None while untitled), its runs and the run in focus.

    ``runs_root`` gives the project's runs folder (beside the file, or the application's
    shared folder for untitled projects); ``runs`` are the runs this session started, showed
    or opened."""

    def __init__(self, path: Path | None, runs_root: Callable[[], Path | None]):
        self.path = path
        self.runs_root = runs_root
        self.runs: set[Path] = set()
        self.focus: Path | None = None

    def owns(self, run: Path) -> bool:
        """Whether the runs list of this project shows ``run``. A saved project owns its runs
        folder; an untitled one shares the application's folder with every other untitled
        project, so it owns only the runs it started or opened."""
        if run in self.runs:
            return True
        return self.path is not None and run.parent == self.runs_root()


def latest_finished(root: Path | None) -> Path | None:
    """The newest run in ``root`` that finished (None when there is none)."""
    if root is None:
        return None
    finished = [r for r in list_runs(root) if read_status(r).get("status") == "finished"]
    return finished[-1] if finished else None


def restored_focus(remembered: Path | None, root: Path | None) -> Path | None:
    """The run to focus on when a project opens: the one last used while it is still a run
    directory, else the latest finished run of its folder."""
    if remembered is not None and is_run_dir(remembered):
        return remembered
    return latest_finished(root)


class FocusMemory:
    """The run last in focus per project file, kept in ``settings`` as one JSON list of
    [project, run] pairs (QSettings reads "/" in a key as a group, so paths are no keys)."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def _pairs(self) -> list[list[str]]:
        try:
            pairs = json.loads(str(self.settings.value(FOCUS_KEY, "[]")))
        except ValueError:  # a damaged entry is forgotten, not an error at start-up
            return []
        if not isinstance(pairs, list):
            return []
        return [p for p in pairs if isinstance(p, list) and len(p) == 2
                and all(isinstance(s, str) for s in p)]

    def recall(self, project: Path) -> Path | None:
        key = str(project)
        return next((Path(run) for name, run in self._pairs() if name == key), None)

    def remember(self, project: Path, run: Path | None) -> None:
        """Keep ``run`` as ``project``'s run in focus (None: forget it)."""
        key = str(project)
        pairs = [[key, str(run)]] if run is not None else []
        pairs += [p for p in self._pairs() if p[0] != key]
        self.settings.setValue(FOCUS_KEY, json.dumps(pairs[:MAX_REMEMBERED]))


class ProjectSessions(QObject):
    """Keeps ``current``, the session of the document's project, and the window's
    ``run_focus`` in step with it. ``runs_root`` is set by the training feature (it knows
    where runs go); until then sessions have no runs folder.

    Signals
    -------
    replaced(ProjectSession)
        Another project is open: show none of the previous one's state. The new session's
        ``focus`` is already chosen; ``run_focus`` is set to it right after the signal.
    """

    replaced = Signal(object)

    def __init__(self, document: Any, run_focus: Any, settings: QSettings,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.run_focus = document, run_focus
        self.memory = FocusMemory(settings)
        self.runs_root: Callable[[], Path | None] = lambda: None
        self.current = ProjectSession(document.path, self._root)
        document.reset.connect(self._on_reset)
        run_focus.changed.connect(self._on_focus_changed)

    def _root(self) -> Path | None:
        return self.runs_root()

    def owns(self, run: Path) -> bool:
        """Whether ``run`` belongs to the open project (see ``ProjectSession.owns``)."""
        return self.current.owns(run)

    def _on_reset(self) -> None:
        session = ProjectSession(self.document.path, self._root)
        if session.path is not None:
            session.focus = restored_focus(self.memory.recall(session.path), self._root())
        focus = session.focus
        if focus is not None:
            session.runs.add(focus)
        self.current = session
        self.replaced.emit(session)  # views clear (and may drop the focus while they do)
        self.run_focus.set_run(focus)

    def _on_focus_changed(self, run: Path | None) -> None:
        session = self.current
        session.focus = run
        if run is not None:
            session.runs.add(run)
        if session.path is not None:  # None too: a failed or deleted run is not brought back
            self.memory.remember(session.path, run)

    def saved(self) -> None:
        """The project was saved (perhaps under a new name): its file is the session's, and
        the run in focus is remembered for it."""
        session = self.current
        session.path = self.document.path
        if session.path is not None and session.focus is not None:
            self.memory.remember(session.path, session.focus)
