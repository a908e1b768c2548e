"""Experiments as a feature of the main window: the Experiments menu, its dialogs, the
workspace's set-up column, the study worker and the results dock.

A study lives in a directory (``study.plan``): beside a saved project in
``studies/<project>-<kind>``, as ``resnet-studio experiment`` puts it, so that the app and
the CLI resume each other's studies; for an unsaved project in the application's data folder.
Closing the window stops a study after the current step and waits for its thread; opening
the study again (Open Study…, or reopening the project) offers to go on where it stopped.
When a study ends, its table and figures are written into its directory exactly as the CLI
writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from ...graph import Graph
from ...study.plan import KINDS, Study, StudyError
from ...study.queue import DONE, FAILED, SKIPPED, Outcome, Progress, StudyQueue, progress_of
from ...study.trial import FINAL
from ...train import TrainConfig
from ..shell.features import ActionSpec, Contributions, DockSpec, Feature, FeatureHost, MenuSpec
from ..shell.recovery import default_directory
from . import memory
from .dialog import TITLES, StudyDialog
from .setup import ABOUT, SetupInputs, StudySetup
from .view import StudyView
from .worker import StudyWorker

if TYPE_CHECKING:
    from ..shell.context import StudioWindow

MENU = "experiments"
STUDIES = "studies"
CSV_FILTER = "CSV files (*.csv)"
SETUP_WIDTH = 400  # the set-up column's first width: its fields and the plan's run names
FROM_SETUP: Any = object()  # start_study's cluster: the set-up's "Run on"


class StudyFeature(QObject, Feature):
    """Adds experiments to ``window``. ``settings(graph)`` gives the open project's training
    settings as a TrainConfig, as Train would use them (the training controller's
    ``project_settings``): every study's budget starts from them."""

    def __init__(self, window: StudioWindow, settings: Callable[[Graph], TrainConfig]):
        super().__init__(window)
        self.window, self.settings = window, settings
        self.worker = StudyWorker(self)
        self.view = StudyView(window)
        self.setup = StudySetup(self.setup_inputs, window.settings, window)
        self.study: Study | None = None
        self.directory: Path | None = None
        self.dialog: StudyDialog | None = None
        self._closing = False
        self.unsaved_studies_dir = default_directory() / STUDIES  # for a project not saved yet

    # ----- the feature ------------------------------------------------------------------------
    def contributions(self) -> Contributions:
        actions = [ActionSpec(f"study_{kind}", f"{TITLES[kind]}…",
                              lambda k=kind: self.open_dialog(k), None,
                              ABOUT[kind].removesuffix("."), MENU, 0, i)
                   for i, kind in enumerate(KINDS)]
        actions += [
            ActionSpec("study_open", "&Open Study…", self.open_study, None,
                       "Show a study directory's results; resume it if runs are missing",
                       MENU, 10, 0),
            ActionSpec("study_stop", "&Stop Study", self.cancel, None,
                       "Stop the study after the current step (it can be resumed)", MENU, 10, 1),
        ]
        return Contributions(actions, [MenuSpec(MENU, "E&xperiments")])

    def docks(self, actions: dict[str, QAction]) -> Sequence[DockSpec]:
        self.actions = actions
        area = Qt.DockWidgetArea
        return [DockSpec("study_setup", "Set Up a Study", self.setup, area.LeftDockWidgetArea,
                         workspace="experiments"),
                DockSpec("study", "Experiment", self.view, area.RightDockWidgetArea,
                         workspace="experiments")]

    def default_dock_sizes(self) -> None:
        page, docks = self.window.workspace("experiments"), self.window.docks
        rest = max(self.window.width() - SETUP_WIDTH, SETUP_WIDTH)
        page.resizeDocks([docks["study_setup"], docks["study"]], [SETUP_WIDTH, rest],
                         Qt.Orientation.Horizontal)

    def installed(self, host: FeatureHost) -> None:
        v = self.view
        v.cancel_button.clicked.connect(self.cancel)
        v.resume_button.clicked.connect(self.resume)
        v.export_button.clicked.connect(lambda: self.export_figures())
        v.csv_button.clicked.connect(lambda: self.export_csv())
        self.worker.progressed.connect(self._on_progress)
        self.worker.recorded.connect(self.view.live.add)
        self.worker.finished.connect(self._on_finished)
        self.window.document.path_changed.connect(self._on_project_opened)
        self.window.sessions.replaced.connect(self._on_session_replaced)
        self.setup.started.connect(
            lambda study, estimates: self.start_study(study, estimates=estimates))
        self.setup.load(self.window.document.path)
        app = QApplication.instance()
        if app is not None:  # quitting without closing the window must stop the study too
            app.aboutToQuit.connect(self.shutdown)
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.worker.is_active()
        for kind in KINDS:
            self.actions[f"study_{kind}"].setEnabled(not running)
        self.actions["study_open"].setEnabled(not running)
        self.actions["study_stop"].setEnabled(running)
        self.view.set_running(running, self._resumable())
        self.setup.set_running(running)

    def show_dock(self) -> None:
        self.window.reveal("study")

    def _tell(self, text: str) -> None:
        self.window.show_message(text)
        self.view.show_status(text)

    # ----- starting ---------------------------------------------------------------------------
    def setup_inputs(self) -> SetupInputs:
        """A copy of the document's network and its training settings, from which a study
        form starts (ValueError when the training panel holds an unusable setting)."""
        graph = self.window.document.graph.copy()
        base = self.settings(graph)
        project = str(self.window.document.path or graph.name or "")
        return SetupInputs(graph, base, project, _source(self.window.document.graph))

    def open_dialog(self, kind: str) -> StudyDialog | None:
        """The dialog for a new study of ``kind`` on a copy of the document's network."""
        try:
            inputs = self.setup_inputs()
        except ValueError as exc:  # ConfigError: the panel holds an unusable setting
            self.window.prompts.show_error("Cannot plan a study", str(exc))
            return None
        self.dialog = StudyDialog(kind, inputs.graph, inputs.base, inputs.project,
                                  self.window, inputs.source)
        path, settings = self.window.document.path, self.window.settings
        memory.recall(settings, path, self.dialog.form)  # what was last set for this project
        if path == self.setup.project:
            self.setup.fill(self.dialog.form)  # and what the set-up column holds now
        self.dialog.finished.connect(
            lambda _result, d=self.dialog: self._on_dialog_finished(path, d))
        self.dialog.accepted.connect(self._on_dialog_accepted)
        self.dialog.open()
        return self.dialog

    def _on_dialog_finished(self, path: Path | None, dialog: StudyDialog) -> None:
        """Remember the dialog's settings; the set-up column shows them too."""
        memory.remember(self.window.settings, path, dialog.form)
        if path is not None and path == self.setup.project:
            self.setup.reload()

    def _on_dialog_accepted(self) -> None:
        dialog = self.dialog
        if dialog is not None and dialog.study is not None:
            self.start_study(dialog.study, estimates=dialog.estimates(),
                             at_once=dialog.form.at_once.value(),
                             cluster=dialog.form.run_on.cluster())

    def start_study(self, study: Study, directory: Path | None = None,
                    estimates: dict[str, Any] | None = None, at_once: int | None = None,
                    cluster: Any = FROM_SETUP) -> bool:
        """Run ``study`` in ``directory`` (default: beside the project); a directory that
        holds the same plan goes on where it stopped. ``at_once`` runs train at the same
        time (default: the set-up's "Run at once"); ``cluster`` is the Ray cluster's
        address to run on, None for this machine (default: the set-up's "Run on")."""
        if self.worker.is_active():
            return False
        directory = directory or self.study_directory(study)
        at_once = at_once or self.setup.at_once()
        address = self.setup.cluster() if cluster is FROM_SETUP else cluster
        try:
            self.worker.start(study, directory, estimates, at_once=at_once, cluster=address)
        except (OSError, StudyError) as exc:
            self.window.prompts.show_error("Cannot start the study", str(exc))
            return False
        self.study, self.directory = study, directory
        self.show_dock()
        self._refresh()
        self.view.set_running(True)
        self._update_actions()
        self._tell(f"Study started in {directory}")
        return True

    def study_directory(self, study: Study) -> Path:
        """``studies/<project>-<kind>`` beside the project (or in the app's data folder);
        another name when that one holds a different plan."""
        path = self.window.document.path
        stem = path.name.split(".")[0] if path else (self.window.document.graph.name or "net")
        root = path.parent / STUDIES if path else self.unsaved_studies_dir
        base = candidate = root / f"{stem}-{study.kind}"
        n = 2
        while (candidate / "study.json").exists() and not _same_plan(candidate, study):
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
        return candidate

    # ----- opening and resuming -----------------------------------------------------------
    def open_study(self, directory: str | Path | None = None) -> bool:
        """Show a study directory's results; offer to resume it when runs are missing."""
        if directory is None:
            start = self.window.document.path.parent if self.window.document.path else Path.home()
            directory = self.window.prompts.ask_directory("Open a study directory", str(start))
            if not directory:
                return False
        try:
            self.study, self.directory = Study.load(directory), Path(directory)
        except StudyError as exc:
            self.window.prompts.show_error("Cannot open the study", str(exc))
            return False
        self.show_dock()
        self._refresh()
        self._update_actions()
        if self._resumable() and self._ask_resume():
            return self.resume()
        return True

    def _ask_resume(self) -> bool:
        ask = getattr(self.window.prompts, "ask_resume_study", None)
        missing = len(self._unfinished())
        text = (f"The study “{self.study.title}” in {self.directory} has {missing} of "
                f"{len(self.study.runs)} runs still to train. Resume it now?")
        return bool(ask(text)) if ask is not None else False

    def resume(self) -> bool:
        """Go on with the open study: finished runs are kept, a stopped one resumes from its
        last.pt, the others start."""
        if self.study is None or self.directory is None:
            return False
        return self.start_study(self.study, self.directory)

    def _unfinished(self) -> list[str]:
        if self.study is None or self.directory is None:
            return []
        return _unfinished(self.study, self.directory)

    def _resumable(self) -> bool:
        return not self.worker.is_active() and bool(self._unfinished())

    def _on_project_opened(self) -> None:
        """A project was opened or saved: offer to resume its interrupted study, if any;
        else show its latest study (where the user left off), quietly."""
        path = self.window.document.path
        self.setup.project = path  # saved under a name: its settings are remembered for it
        if path is None or self.worker.is_active():
            return
        studies = _project_studies(Path(path))
        for study, directory in studies:
            if _unfinished(study, directory):
                self.study, self.directory = study, directory
                self.show_dock()
                self._refresh()
                self._update_actions()
                if self._ask_resume():
                    self.resume()
                return
        shown = self.directory is not None and _belongs(self.directory, Path(path))
        if studies and not shown:  # a save keeps the study on show, even an older one
            self.study, self.directory = max(studies, key=lambda s: _written(s[1]))
            self._refresh()
            self._update_actions()

    def _on_session_replaced(self, session: Any) -> None:
        """Another project: the set-up column fills with its settings; the study on show
        goes unless it is this project's (found by ``_on_project_opened``) or still running
        (its view follows it until it ends)."""
        self.setup.load(session.path)  # disabled while a study runs; filled all the same
        if self.worker.is_active() or self.directory is None:
            return
        if session.path is None or not _belongs(self.directory, Path(session.path)):
            self.study = self.directory = None
            self.view.clear()
            self._update_actions()

    # ----- running ----------------------------------------------------------------------------
    def cancel(self) -> None:
        if self.worker.is_active():
            self.worker.cancel()
            self._tell("Stopping the study after the current step…")

    def _on_progress(self, p: Progress) -> None:
        text = self.view.show_progress(p)
        if p.event == "end" or (p.event == "start" and p.index == 0):
            self._refresh()
        if p.event == "end" and p.status == FAILED:
            self.window.show_message(f"Run {p.label} failed; the study goes on. {p.message}")
        elif p.event in ("start", "end"):
            self.window.show_message(text)

    def _on_finished(self, outcome: Outcome | None, error: str) -> None:
        if self._closing:
            return  # the window is going: the study directory already holds every run
        results = self._refresh()
        self._update_actions()
        if error or outcome is None:
            self._tell(error or "The study ended without a result.")
            self.window.prompts.show_error("The study stopped", error)
            return
        if results is not None and self.directory is not None:
            from ...study.figures import write_report

            write_report(results, self.directory)  # the files the CLI writes
        failed = ", ".join(outcome.failed)
        self._tell("Study stopped; Resume goes on where it stopped." if outcome.cancelled else
                   f"Study finished{f'; failed: {failed}' if failed else ''}. Results and "
                   f"figures are in {self.directory}.")

    def _refresh(self) -> Any:
        """Read the study's run directories again and show them."""
        if self.study is None or self.directory is None:
            return None
        from ...study.results import collect

        results = collect(self.study, self.directory)
        self.view.show_results(results)
        if not self.worker.is_active():  # while it runs, the queue's reports move the bar
            macs = {spec.name: row["macs"] for spec, row in zip(self.study.runs, results.rows)}
            self.view.set_fraction(progress_of(self.study, self.directory, macs).fraction)
        return results

    # ----- exports ----------------------------------------------------------------------------
    def export_figures(self, directory: str | Path | None = None) -> list[Path]:
        """The table (CSV, JSON) and the figures (PNG, SVG) into ``directory``."""
        results = self.view.results
        if results is None:
            return []
        directory = directory or self.window.prompts.ask_directory(
            "Export the study's figures", str(self.directory or Path.home()))
        if not directory:
            return []
        from ...study.figures import write_report

        try:
            files = write_report(results, Path(directory))
        except OSError as exc:
            self.window.prompts.show_error("Cannot export the figures", str(exc))
            return []
        self._tell(f"Exported {len(files)} files to {directory}")
        return files

    def export_csv(self, target: str | Path | None = None) -> Path | None:
        results = self.view.results
        if results is None:
            return None
        target = target or self.window.prompts.ask_save_path(
            "Export the results table", str((self.directory or Path.home()) / "results.csv"),
            CSV_FILTER)
        if not target:
            return None
        try:
            Path(target).write_text(results.to_csv(), encoding="utf-8")
        except OSError as exc:
            self.window.prompts.show_error("Cannot export the table", str(exc))
            return None
        self._tell(f"Exported the table to {target}")
        return Path(target)

    # ----- closing ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the study after the current step and wait for its thread; it stays resumable."""
        self._closing = True
        if self.dialog is not None:
            self.dialog.form.stop_timing()  # a timing stops at its next step
        self.setup.shutdown()
        self.worker.shutdown()


def _source(graph: Graph) -> str:
    """Where the project's training settings come from, in ``train``'s words."""
    from ...train.command import project_config
    from ...train.config import ConfigError

    try:
        return project_config("", graph)[1]
    except ConfigError:  # the panel shows the recipe's settings in their place
        return "the training panel's settings"


def _belongs(directory: Path, project: Path) -> bool:
    """Whether the study ``directory`` is one of ``project``'s: ``studies/<stem>-<kind>``
    beside it, as ``study_directory`` names them."""
    stem = project.name.split(".")[0]
    return directory.parent == project.parent / STUDIES and directory.name.startswith(f"{stem}-")


def _same_plan(directory: Path, study: Study) -> bool:
    try:
        return Study.load(directory).same_plan(study)
    except StudyError:
        return False


def _project_studies(project: Path) -> list[tuple[Study, Path]]:
    """The studies of ``project`` that can be read, in name order (``NAME-KIND`` folders
    beside it, under ``studies/``)."""
    stem = project.name.split(".")[0]
    found = []
    for candidate in sorted((project.parent / STUDIES).glob(f"{stem}-*/study.json")):
        try:
            found.append((Study.load(candidate.parent), candidate.parent))
        except StudyError:
            continue
    return found


def _written(directory: Path) -> float:
    """When a study last changed: its state file, else its plan."""
    for name in ("state.json", "study.json"):
        try:
            return (directory / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def _unfinished(study: Study, directory: Path) -> list[str]:
    """Runs a resume would train: pending or stopped (failed ones wait for a retry; a
    sweep's runs stopped early or not searched on a cluster are not trained further)."""
    queue = StudyQueue(study, directory)
    return [s.name for s in study.runs
            if queue.status(s) not in (DONE, SKIPPED, FAILED, *FINAL)]
