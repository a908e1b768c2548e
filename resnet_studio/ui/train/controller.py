"""Training as a feature of the main window: its actions, menu, toolbar entries and docks,
and the routing of records from the run to the views.

Three parts, each with one job: ``RunQueue`` (``runner.py``) decides what trains and when —
start, stop, the plain-twin queue, the run folders; ``TrainingViews`` (``views.py``) renders
a ``RunHistory``; this controller declares the feature, takes each batch of records into the
run's history, draws at most every ``RENDER_MS``, shows progress, tints the canvas (at most
every ``TINT_SECONDS``) and watches the document.

Editing stays possible during a run — it is how one prepares the next experiment — and the
first edit of a run says, in the status bar and the panel, that the change applies to the
next run, not this one. Settings are locked while a run uses them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction

from ...graph import Graph
from ...train.history import RunHistory
from ...train.recipe import project_training
from ...train.records import RunEndRecord, RunStartRecord
from ..data.wording import app_wording
from ..shell.features import ActionSpec, Contributions, DockSpec, Feature, FeatureHost
from .batch_finder import BatchFinder
from .bridge import IDLE, PAUSED, RUNNING, STARTING, STOPPING, RunUpdate
from .defaults import UNKNOWN_DEVICES, Devices, find_devices
from .panel import TrainingPanel, metric_rows
from .recipe_sync import TrainingSync
from .runner import RunQueue
from .tint import TintLegend, tint_colours
from .views import TAB_CURVES, TrainingViews

if TYPE_CHECKING:
    from ..shell.context import StudioWindow

RENDER_MS = 100
# The canvas is recoloured at most this often while a run trains: a repaint of the editor
# costs about as much as one of the curves, and colours changing faster cannot be read.
TINT_SECONDS = 0.5
PANEL_WIDTH = 400  # the Train workspace's recipe column; the curves take the rest
STATE_TEXT = {STARTING: "Preparing the data and the model…", RUNNING: "Training…",
              PAUSED: "Paused: the step in progress finished; Resume goes on from here.",
              STOPPING: "Stopping after the current step…"}
TRAINING_MENU, TOOLBAR_SECTION = "training", 10


class TrainingController(QObject, Feature):
    """Adds training to ``window`` (installed by its ``FeatureHost``)."""

    def __init__(self, window: StudioWindow):
        super().__init__(window)
        self.window = window
        self.runner = RunQueue(window.document, self._configure, self)
        self.bridge = self.runner.bridge
        self.start_record: RunStartRecord | None = None
        self._edit_warned = False
        self._graph_index = 0
        self._latest_step: Any = None
        self._focus_before: Path | None = None  # the run in focus before this one started
        self.clock = time.monotonic  # when the canvas was last tinted (a test sets its own)
        self._tinted_at = -math.inf
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_MS)
        self._render_timer.timeout.connect(self.render)
        self.views = TrainingViews(window)
        self.legend = TintLegend(window.editor.view.viewport())

    # ----- the feature ------------------------------------------------------------------------
    def contributions(self) -> Contributions:
        b, r, m = self.bridge, self.runner, TRAINING_MENU
        return Contributions([
            ActionSpec("train_start", "&Start Training", r.start, "F5",
                       "Train the network with these settings", m, 0, 0, "Train",
                       TOOLBAR_SECTION, icon="mdi6.play"),
            ActionSpec("train_pause", "&Pause", b.pause, "F6", "Pause after the current step",
                       m, 0, 1, "Pause", TOOLBAR_SECTION, icon="mdi6.pause"),
            ActionSpec("train_resume", "&Resume", b.resume, "F7", "Go on training", m, 0, 2,
                       "Resume", TOOLBAR_SECTION, icon="mdi6.play-pause"),
            ActionSpec("train_stop", "S&top", b.stop, "Shift+F5",
                       "Stop after the current step and save last.pt", m, 0, 3, "Stop",
                       TOOLBAR_SECTION, icon="mdi6.stop"),
            ActionSpec("train_twin", "Train with Plain &Twin", r.start_with_twin, "Ctrl+F5",
                       "Train the network, then its plain twin (no skip connections), and "
                       "compare them", m, 10, 0, icon="mdi6.compare-horizontal"),
            ActionSpec("clear_tints", "&Clear Gradient Colours", self.clear_tints, None,
                       "Give the canvas's nodes their normal colours back", m, 20, 9),
        ])

    def set_devices(self, devices: Devices) -> None:
        """What this machine can train on, found once torch has loaded."""
        self.devices = devices
        self.panel.settings.set_devices(devices)

    def docks(self, actions: dict[str, QAction]) -> Sequence[DockSpec]:
        self.actions = actions
        # Asking torch waits for torch: a window opened before it loaded learns them later.
        self.devices = find_devices() if self.window.document.compiler_ready else UNKNOWN_DEVICES
        self.panel = TrainingPanel(self.window.prompts, self.devices, actions, self.window)
        self.sync = TrainingSync(self.window.document, self.panel.settings, self)
        self.batch_finder = BatchFinder(self.window, self)
        self.sync.problem.connect(self._on_settings_problem)
        self.sync.valid.connect(self._on_settings_valid)
        self._before_problem: str | None = None  # the state a settings problem replaced
        area = Qt.DockWidgetArea
        # The Train workspace: the recipe on the left, the curves, gradients and runs take
        # the rest (they build on the first show; see views.ensure).
        return [DockSpec("training", "Training", self.panel, area.LeftDockWidgetArea,
                         workspace="train"),
                DockSpec("curves", "Training Curves and Runs", self.views.tabs,
                         area.RightDockWidgetArea, workspace="train")]

    def installed(self, host: FeatureHost) -> None:
        host.docks["curves"].visibilityChanged.connect(self._on_curves_visible)
        self._connect()
        self.load_defaults()
        self._update_actions()

    def _connect(self) -> None:
        r, doc = self.runner, self.window.document
        self.bridge.updated.connect(self._on_update)
        self.bridge.state_changed.connect(self._on_state_changed)
        r.launched.connect(self._on_launched)
        r.refused.connect(self._refuse)
        r.ended.connect(self._on_finished)
        r.compare_ready.connect(self.show_comparison)
        r.reused.connect(self._on_reused)
        sessions = self.window.sessions
        sessions.runs_root = r.runs_root
        self.views.runs.scope = sessions.owns
        sessions.replaced.connect(self._on_session_replaced)
        doc.path_changed.connect(self.update_runs_root)
        doc.undo_stack.indexChanged.connect(self._on_document_edited)
        self.window.run_focus.changed.connect(self._on_run_focused)
        self.update_runs_root()

    def default_dock_sizes(self) -> None:
        page, docks = self.window.workspace("train"), self.window.docks
        page.resizeDocks([docks["training"], docks["curves"]],
                         [PANEL_WIDTH, max(self.window.width() - PANEL_WIDTH, PANEL_WIDTH)],
                         Qt.Orientation.Horizontal)

    def show_docks(self) -> None:
        """Show the curves and runs (hidden until the first run or opened run)."""
        self.views.ensure()
        self.window.reveal("curves")

    def _on_curves_visible(self, visible: bool) -> None:
        if visible:
            self.views.ensure()

    # ----- what the tests and other features use ----------------------------------------------
    @property
    def current_run(self) -> Path | None:
        return self.runner.current_run

    @property
    def history(self) -> RunHistory:
        return self.views.history

    def start(self) -> bool:
        return self.runner.start()

    def start_with_twin(self) -> bool:
        return self.runner.start_with_twin()

    def epochs_setting(self) -> int:
        """The number of epochs the panel asks for."""
        return self.panel.settings.epochs.value()

    def show_history(self, history: RunHistory) -> None:
        """Show a run read from its directory (nothing trains)."""
        self.runner.current_run = None
        self.show_docks()
        self.views.show_history(history)
        self.views.show_tab(TAB_CURVES)

    # ----- starting ---------------------------------------------------------------------------
    def _configure(self, graph: Graph) -> tuple[Any, Any]:
        """The network the engine builds and the project's TrainConfig, merged as the CLI does
        (``train.recipe``; raises ConfigError naming the field). The network adapts to the
        data only when images are used as they are and the panel asks for it."""
        self.sync.commit()  # values typed but not yet confirmed (raises ConfigError)
        config = project_training(self.window.document.graph).config
        adapt = config.data.fit == "none" and self.panel.settings.adapt.isChecked()
        return (_adapted(graph) if adapt else graph), config

    def project_settings(self, graph: Graph) -> Any:
        """The TrainConfig Train would use now: the panel's values put into the project,
        merged with its recipe (a study starts from these; raises ConfigError)."""
        return self._configure(graph)[1]

    def _on_launched(self, run_dir: Path) -> None:
        self.start_record = None
        if self.window.run_focus.run != run_dir:  # a resumed run keeps the one before it
            self._focus_before = self.window.run_focus.run
        self._edit_warned = False
        self._graph_index = self.window.document.undo_stack.index()
        self.window.run_focus.set_run(run_dir)
        self.show_docks()
        self.views.show_history(RunHistory())
        self.panel.set_editable(False)
        self.views.runs.running = run_dir
        self.update_runs_root()
        self.views.show_tab(TAB_CURVES)

    def _refuse(self, message: str) -> None:
        message = app_wording(message)
        self.panel.set_state(message, error=True)
        self.window.show_message(message)

    # ----- records ----------------------------------------------------------------------------
    def _on_update(self, update: RunUpdate) -> None:
        """Take a batch of records into the run's history; drawing waits for ``render``."""
        self.views.ensure()
        if update.start is not None:
            self._on_run_start(update.start)
        if update.diagnoses:
            self.panel.diagnoses.add(update.diagnoses)
            self.window.show_message(f"Training: {update.diagnoses[-1].message}")
        preview = [update.preview] if update.preview is not None else []
        self.views.history.append([*update.steps, *update.epochs, *preview])
        self.views.history_grew(bool(update.epochs or preview))
        if update.steps:
            self._latest_step = update.steps[-1]
        if update.epochs:
            self.views.runs.refresh_running()  # its best accuracy so far
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _on_run_start(self, start: RunStartRecord) -> None:
        self.start_record = start
        self._tinted_at = -math.inf  # the first step of the run colours the canvas at once
        self.views.runs.refresh()
        history = self.views.history
        if start.resumed_step and self.current_run is not None:
            # the steps before the checkpoint, as the sink has just cut the files to them
            history.extend_from(self.current_run, start.resumed_step)
        history.on_start(start)
        self.views.history_grew(epochs=True)
        self.panel.run_started(start)

    def render(self) -> None:
        """Draw what arrived since the last time: the visible plots, the canvas tints, the
        progress. At most every ``RENDER_MS``: records may arrive at the drain rate, but a
        repaint of the plots costs tens of milliseconds of the GUI thread."""
        self._render_timer.stop()
        if self.views.plots is None:
            return
        self.views.draw(all_views=not self.bridge.is_active())
        self.panel.show_metrics(metric_rows(self.views.history))
        step, self._latest_step = self._latest_step, None
        if step is None:
            return
        if self.bridge.is_active():
            if self.clock() - self._tinted_at >= TINT_SECONDS:
                self._tint(step)
            self.views.runs.show_running_epoch(step.epoch)
        summary = self.panel.show_step(step)
        if summary and self.bridge.state == RUNNING and self.current_run is not None:
            self.window.show_message(f"Training {self.current_run.name}: {summary}")

    def _tint(self, record: Any) -> None:
        run = self.current_run
        if self.start_record is None or (run is not None and not self.window.sessions.owns(run)):
            return  # no colours of a run of the project closed while it trains
        if not (self.start_record.config or {}).get("layer_telemetry", True):
            return  # per-layer norms not measured (NaN): no colours rather than all red
        self._tinted_at = self.clock()
        tints, (low, high) = tint_colours(self.start_record.layer_names, record.grad_norms)
        self.window.editor.scene.set_tints(tints)
        self.legend.set_range(low, high, record.step)
        self.legend.show()
        self.legend.raise_()

    def clear_tints(self) -> None:
        self.window.editor.scene.clear_tints()
        self.legend.hide()

    def _on_state_changed(self, state: str) -> None:
        if state in STATE_TEXT:
            self.panel.set_state(STATE_TEXT[state])
            self.window.show_message(STATE_TEXT[state])
        self._update_actions()

    def _on_finished(self, end: RunEndRecord) -> None:
        run = self.current_run
        self.render()  # the last records
        self.panel.show_run_rate(end.images_per_s)
        self.panel.run_ended()
        self.sync.adopt()  # the project's settings (another project may have opened meanwhile)
        self.panel.set_editable(True)
        self.views.runs.running = None
        self.update_runs_root()
        self.clear_tints()
        failed = end.status == "failed"
        message = app_wording(end.message)
        self.panel.set_state(message, error=failed)
        self.window.show_message(message)
        if run is not None and not self.window.sessions.owns(run):
            self._left_behind()
        elif failed:
            # Check an Image, the exports and the analyses keep acting on the last good run
            self.window.run_focus.set_run(self._focus_before)
        if failed:
            self.window.prompts.show_error("Training failed", message)
        self._update_actions()

    def _left_behind(self) -> None:
        """The run that ended belongs to a project closed while it trained: its curves and
        status go, and the open project's run in focus stays in focus."""
        focus = self.window.sessions.current.focus
        state = self.panel.state.text()
        self.clear_results()
        self.panel.set_state(state)
        self.window.run_focus.set_run(focus)

    def show_comparison(self, paths: list[Path], labels: Sequence[str] = ()) -> None:
        self.show_docks()
        self.views.show_comparison(paths, labels)

    def _on_reused(self, run: Path) -> None:
        text = (f"The network already has a finished run with these settings ({run.name}): "
                "it is reused, and only the plain twin trains.")
        self.panel.set_state(text)
        self.window.show_message(text)

    # ----- the document -----------------------------------------------------------------------
    def _on_document_edited(self, index: int) -> None:
        if self.bridge.is_active() and not self._edit_warned and index != self._graph_index:
            self._edit_warned = True
            text = ("The run trains the network as it was when it started; this edit applies "
                    "to the next run.")
            self.panel.set_state(text)
            self.window.show_message(text)

    def _on_session_replaced(self, session: Any) -> None:
        """Another project (New, Open, an example, an import): its settings and runs, and
        none of the previous project's results — unless a run trains, whose views go on
        showing it until it ends. The new project's run in focus is named in the panel."""
        self.bridge.suggested_lr = None  # the LR finder's suggestion was for another project
        self.views.runs.extra = []  # runs opened by hand belong to the project they were for
        focus = session.focus  # clearing drops the focus; the sessions set it again after
        if not self.bridge.is_active():
            self.clear_results()
            if focus is not None:
                self.panel.set_state(f"Run in focus: {focus.name}. Export Checkpoint and "
                                     "Check an Image use it; pick another in Runs.")
                self._show_focus_curves(focus)
            self.load_defaults()  # after: a setting the file gets wrong is said instead
        self.update_runs_root()

    def _show_focus_curves(self, run: Path) -> None:
        """The curves of the run a reopened project had in focus, where it left off (the
        workspace on show stays; a run whose files cannot be read shows none)."""
        from ...train.rundir import RunReadError

        try:
            self.views.show_history(RunHistory.load(run))
        except RunReadError:
            return

    def clear_results(self) -> None:
        """No run in focus; empty plots, heatmap, confusion matrix and comparison; an idle
        panel and a canvas without gradient colours."""
        self.runner.current_run = self._focus_before = None
        self.window.run_focus.set_run(None)
        self.clear_tints()
        self.views.clear()
        self.panel.clear()
        self._before_problem = None

    def load_defaults(self) -> None:
        """Show the project's training settings (its recipe's for an older file)."""
        self.sync.adopt()

    def _on_settings_problem(self, message: str) -> None:
        if self._before_problem is None:
            self._before_problem = self.panel.state.text()
        self.panel.set_state(message, error=True)
        self.window.show_message(message)

    def _on_settings_valid(self) -> None:
        """The settings were mended (an image folder chosen after "Image folder…"): the
        problem they showed goes, and what it replaced comes back."""
        if self._before_problem is not None:
            self.panel.set_state(self._before_problem)
            self._before_problem = None
            self.window.show_message("")

    def _on_run_focused(self, run: Path | None) -> None:
        """A run shown from its folder brings its diagnoses; a fresh run starts with none."""
        self.panel.diagnoses.show_run(run)
        if run is None or run != self.current_run:
            self.panel.show_data_note([])

    def update_runs_root(self) -> None:
        self.views.runs.set_root(self.runner.runs_root())

    def _update_actions(self) -> None:
        state = self.bridge.state
        a = self.actions
        idle = state == IDLE
        a["train_start"].setEnabled(idle)
        a["train_twin"].setEnabled(idle)
        a["train_pause"].setEnabled(state in (STARTING, RUNNING))
        a["train_resume"].setEnabled(state == PAUSED)
        a["train_stop"].setEnabled(state in (STARTING, RUNNING, PAUSED))

    # ----- closing ----------------------------------------------------------------------------
    def may_close(self) -> bool:
        """True when the window may close: nothing trains, or the user agrees to stop it."""
        if not self.bridge.is_active():
            return True
        return bool(self.window.prompts.ask_stop_training())

    def shutdown(self) -> None:
        """Stop the run and wait for its thread (closing: a running QThread aborts Python)."""
        if self.bridge.is_active():
            self.window.show_message("Stopping training…")
        self.runner.shutdown()
        self.batch_finder.shutdown()
        self.legend.hide()


def _adapted(graph: Graph):
    """The engine's network: ``graph`` with its input set to the dataset's shape and classes
    (every size in a graph follows ``$channels``, ``$height``, ``$width`` and ``$classes``)."""

    def for_input(spec) -> Graph:
        if graph.input_spec != spec:
            graph.set_input_spec(spec)
        return graph

    return for_input
