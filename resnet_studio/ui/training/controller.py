"""Training in the main window: the docks, the Training menu, and the glue between them.

``TrainingController`` owns the ``TrainingBridge`` (the engine's thread) and the views —
settings panel, live curves, gradient heatmap, confusion matrix, runs list and comparison —
and routes each batch of records to them, to the progress display and to the canvas tints.

The run trains a copy of the network taken when Start is pressed (``Graph.copy()``), so the
worker thread never reads the document while the user edits it. Editing stays possible
during a run — it is how one prepares the next experiment — and the first edit of a run says,
in the status bar and the panel, that the change applies to the next run, not this one.
Settings are locked while a run uses them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QTabWidget

from ...graph import Graph
from ...presets import plain_twin
from ...train.config import ConfigError
from ...train.engine import USER_ERRORS
from ...train.records import RunEndRecord, RunStartRecord
from ..filenames import safe_stem
from ..recovery import default_directory
from .bridge import IDLE, PAUSED, RUNNING, STARTING, STOPPING, RunUpdate, TrainingBridge
from .confusion import ConfusionView
from .defaults import find_devices, preset_defaults
from .heatmap import GradientView
from .panel import TrainingPanel
from .plots import MetricPlots
from .run_actions import RunActions
from .runs import CompareView, RunsPanel
from .tint import TintLegend, tint_colours

if TYPE_CHECKING:
    from ..main_window import MainWindow

RUNS_FOLDER = "runs"
RENDER_MS = 100
CURVES_HEIGHT = 330
TAB_CURVES, TAB_GRADIENTS, TAB_CONFUSION, TAB_RUNS = range(4)
STATE_TEXT = {STARTING: "Preparing the data and the model…", RUNNING: "Training…",
              PAUSED: "Paused: the step in progress finished; Resume goes on from here.",
              STOPPING: "Stopping after the current step…"}


def _action(parent: QObject, text: str, shortcut: str, tip: str, slot) -> QAction:
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcut})")
    action.setStatusTip(tip)
    action.triggered.connect(lambda checked=False: slot())
    return action


class TrainingController(QObject):
    """Adds training to ``window``: docks, actions (in ``window.actions``) and the menu."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.bridge = TrainingBridge(self)
        self.unsaved_runs_dir = default_directory() / RUNS_FOLDER
        self.current_run: Path | None = None
        self.start_record: RunStartRecord | None = None
        self.twin_queue: list[Graph] = []  # networks to train after this run, in order
        self.compare_after: list[Path] = []
        self._edit_warned = False
        self._graph_index = 0
        self._latest_step: Any = None
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_MS)
        self._render_timer.timeout.connect(self.render)
        self._make_actions()
        self._make_views()
        self.run_actions = RunActions(self)
        self._connect()
        self.load_defaults()
        self._update_actions()

    # ----- construction -----------------------------------------------------------------------
    def _make_actions(self) -> None:
        w = self.window
        table = (
            ("train_start", "&Start Training", "F5", "Train the network with these settings",
             self.start),
            ("train_pause", "&Pause", "F6", "Pause after the current step", self.bridge.pause),
            ("train_resume", "&Resume", "F7", "Go on training", self.bridge.resume),
            ("train_stop", "S&top", "Shift+F5", "Stop after the current step and save last.pt",
             self.bridge.stop),
            ("train_twin", "Train with Plain &Twin", "Ctrl+F5",
             "Train the network, then its plain twin (no skip connections), and compare them",
             self.start_with_twin),
            ("clear_tints", "&Clear Gradient Colours", "",
             "Give the canvas's nodes their normal colours back", self.clear_tints),
        )
        self.actions = {key: _action(w, *rest) for key, *rest in table}
        w.actions.update(self.actions)

    def _make_views(self) -> None:
        w = self.window
        self.devices = find_devices()
        self.panel = TrainingPanel(w.prompts, self.devices, self.actions, w)
        self.tabs = QTabWidget(w)
        self.runs = RunsPanel(w)
        self.legend = TintLegend(w.editor.view.viewport())
        area = Qt.DockWidgetArea
        # The right-hand column keeps the window's full height (inspector, training panel,
        # problems); the curves go under the canvas, where a wide plot has room.
        w.setCorner(Qt.Corner.BottomRightCorner, area.RightDockWidgetArea)
        w._dock("training", "Training", self.panel, area.RightDockWidgetArea)
        w._dock("curves", "Training Curves and Runs", self.tabs, area.BottomDockWidgetArea)
        w.tabifyDockWidget(w.docks["inspector"], w.docks["training"])
        w.docks["inspector"].raise_()
        # Until there is something to show, the canvas keeps the window's full height.
        w.docks["curves"].hide()
        w.docks["curves"].visibilityChanged.connect(self._on_curves_visible)
        self.plots: MetricPlots | None = None

    def ensure_views(self) -> None:
        """Make the plots on first use: they take a while to build, and most editing
        sessions never train."""
        if self.plots is not None:
            return
        w = self.window
        self.plots = MetricPlots(w)
        self.gradients = GradientView(w)
        self.confusion = ConfusionView(w)
        self.compare = CompareView(w)
        # The list with the differences of the selected runs below it; their curves beside.
        left = QSplitter(Qt.Orientation.Vertical, w)
        left.addWidget(self.runs)
        left.addWidget(self.compare.differences)
        left.setSizes([170, 130])
        runs_tab = QSplitter(Qt.Orientation.Horizontal, w)
        runs_tab.addWidget(left)
        runs_tab.addWidget(self.compare)
        runs_tab.setSizes([470, 830])
        for widget, title in ((self.plots, "Curves"), (self.gradients, "Gradients"),
                              (self.confusion, "Confusion"), (runs_tab, "Runs")):
            self.tabs.addTab(widget, title)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def _on_tab_changed(self, index: int) -> None:
        view = self.tabs.currentWidget()
        if getattr(view, "dirty", False):
            view.redraw()

    def _on_curves_visible(self, visible: bool) -> None:
        if visible:
            self.ensure_views()

    def _connect(self) -> None:
        b, doc = self.bridge, self.window.document
        b.updated.connect(self._on_update)
        b.finished.connect(self._on_finished)
        b.state_changed.connect(self._on_state_changed)
        doc.reset.connect(self._on_document_reset)
        doc.path_changed.connect(self._update_runs_root)
        doc.undo_stack.indexChanged.connect(self._on_document_edited)
        self.runs.selection_changed.connect(self._on_runs_selected)
        self.runs.show_requested.connect(self.run_actions.show_run)
        self.runs.resume_requested.connect(self.run_actions.resume_run)
        self.runs.open_requested.connect(self.run_actions.open_run)
        self._update_runs_root()

    def add_menus(self) -> None:
        """The Training menu, and the export entries in the File menu."""
        w, a = self.window, self.actions
        menu = w.menuBar().addMenu("&Training")
        menu.addActions([a["train_start"], a["train_pause"], a["train_resume"], a["train_stop"]])
        menu.addSeparator()
        menu.addAction(a["train_twin"])
        menu.addSeparator()
        menu.addActions([a["open_run"], a["check_image"], a["clear_tints"]])
        file_menu = w.menuBar().actions()[0].menu()
        quit_action = w.actions["quit"]
        for key in ("export_checkpoint", "export_plots", "export_metrics"):
            file_menu.insertAction(quit_action, a[key])
        file_menu.insertSeparator(quit_action)
        w.toolbar.addSeparator()
        for key, label in (("train_start", "Train"), ("train_pause", "Pause"),
                           ("train_resume", "Resume"), ("train_stop", "Stop")):
            a[key].setIconText(label)
            w.toolbar.addAction(a[key])

    def default_dock_sizes(self) -> None:
        self.window.resizeDocks([self.window.docks["curves"]], [CURVES_HEIGHT],
                                Qt.Orientation.Vertical)

    def show_docks(self) -> None:
        """Show the curves and runs (hidden until the first run or opened run)."""
        dock = self.window.docks["curves"]
        self.ensure_views()
        hidden = dock.isHidden()
        dock.show()
        if hidden:
            self.default_dock_sizes()

    # ----- starting ---------------------------------------------------------------------------
    def start(self) -> bool:
        """Train the document's network with the panel's settings (a copy of both)."""
        if self.bridge.is_active() or self._document_problem():
            return False
        self.twin_queue, self.compare_after = [], []
        return self._start_graph(self.window.document.graph.copy())

    def start_with_twin(self) -> bool:
        """Train the network, then its plain twin with the same settings; compare both."""
        if self.bridge.is_active() or self._document_problem():
            return False
        graph = self.window.document.graph
        twin = plain_twin(graph)  # named "<name>_plain"
        if not graph.name:
            twin.name = "plain_twin"
        self.twin_queue, self.compare_after = [twin], []
        return self._start_graph(graph.copy())

    def _start_graph(self, graph: Graph) -> bool:
        try:
            config = self.panel.settings.config(graph)
        except ConfigError as exc:
            return self._refuse(str(exc))
        network = _adapted(graph) if self.panel.settings.adapt.isChecked() else graph
        return self.launch(network, config, self.new_run_dir(graph.name or "network"))

    def launch(self, network: Any, config: Any, run_dir: Path,
               resume_from: Path | None = None) -> bool:
        try:
            self.bridge.start(network, config, run_dir, resume_from=resume_from)
        except USER_ERRORS as exc:
            return self._refuse(str(exc))
        self.current_run, self.start_record = run_dir, None
        self.compare_after.append(run_dir)
        self._edit_warned = False
        self._graph_index = self.window.document.undo_stack.index()
        self.show_docks()
        self.plots.clear()
        self.confusion.clear()
        self.panel.set_editable(False)
        self.runs.running = run_dir
        self._update_runs_root()
        self.tabs.setCurrentIndex(TAB_CURVES)
        self.window.docks["training"].raise_()
        return True

    def _document_problem(self) -> bool:
        """Refuse to train a network the analysis finds errors in (True when refused): the
        build would fail on the worker thread with a less helpful message."""
        analysis = self.window.document.current_analysis()
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        if not errors:
            return False
        where = f" (node {errors[0].node_id})" if errors[0].node_id else ""
        self._refuse(f"The network has {len(errors)} problem{'s' * (len(errors) != 1)}; fix "
                     f"{'them' if len(errors) > 1 else 'it'} before training: "
                     f"{errors[0].message}{where}")
        return True

    def _refuse(self, message: str) -> bool:
        self.panel.set_state(message, error=True)
        self.window.show_message(message)
        return False

    def new_run_dir(self, name: str) -> Path:
        """A fresh ``runs/<network>-<date>-<time>`` folder path (not created)."""
        root = self.runs_root()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = safe_stem(name)
        path, n = root / f"{base}-{stamp}", 2
        while path.exists():
            path, n = root / f"{base}-{stamp}-{n}", n + 1
        return path

    def runs_root(self) -> Path:
        """``runs/`` next to the project file; the application's data folder when unsaved."""
        path = self.window.document.path
        return path.parent / RUNS_FOLDER if path is not None else self.unsaved_runs_dir

    # ----- records ----------------------------------------------------------------------------
    def _on_update(self, update: RunUpdate) -> None:
        """Take a batch of records into the buffers; drawing waits for ``render``."""
        self.ensure_views()
        if update.start is not None:
            self._on_run_start(update.start)
        if update.steps:
            self.plots.add_steps(update.steps, draw=False)
            self.gradients.add_steps(update.steps, draw=False)
            self._latest_step = update.steps[-1]
        if update.epochs:
            self.plots.add_epochs(update.epochs, draw=False)
            last = update.epochs[-1]
            self.confusion.show_matrix(last.confusion, last.epoch, last.val_acc)
        if not self._render_timer.isActive():
            self._render_timer.start()

    def render(self) -> None:
        """Draw what arrived since the last time: the visible plots, the canvas tints, the
        progress. At most every ``RENDER_MS``: records may arrive at the drain rate, but a
        repaint of the plots costs tens of milliseconds of the GUI thread."""
        self._render_timer.stop()
        if self.plots is None:
            return
        shown = self.tabs.currentWidget()
        for view in (self.plots, self.gradients):  # a hidden view is drawn when shown
            if view.dirty and (shown is view or not self.bridge.is_active()):
                view.redraw()
        self.panel.show_metrics(self._metrics())
        step, self._latest_step = self._latest_step, None
        if step is None:
            return
        if self.bridge.is_active():
            self._tint(step)
        summary = self.panel.show_step(step)
        if summary and self.bridge.state == RUNNING and self.current_run is not None:
            self.window.show_message(f"Training {self.current_run.name}: {summary}")

    def _metrics(self) -> list[tuple[str, str]]:
        """The latest values for the panel: smoothed training loss and accuracy, the last
        validation and the best so far."""
        p = self.plots
        rows = []
        if p.loss.smooth.size:
            loss, acc = p.loss.smooth.y[-1], p.accuracy.smooth.y[-1]
            rows.append(("Training (smoothed)", f"loss {loss:.4g} · accuracy {acc:.1%}"))
        if p.loss.val.size:
            epoch = p.loss.val.size  # one validation per epoch, earlier ones included on resume
            loss, acc = p.loss.val.y[-1], p.accuracy.val.y[-1]
            rows.append((f"Validation, epoch {epoch}", f"loss {loss:.4g} · accuracy {acc:.1%}"))
            if np.isfinite(p.accuracy.val.y).any():
                best = int(np.nanargmax(p.accuracy.val.y))
                rows.append(("Best validation",
                             f"{p.accuracy.val.y[best]:.1%} at epoch {best + 1}"))
        return rows

    def _on_run_start(self, start: RunStartRecord) -> None:
        self.start_record = start
        self.runs.refresh()
        self.gradients.start(start.layer_names)
        self.confusion.set_class_names(start.data.get("class_names") or [])
        self.panel.run_started(start)
        if start.resumed_step and self.current_run is not None:
            self.run_actions.load_history(self.current_run, start.resumed_step)

    def _tint(self, record: Any) -> None:
        if self.start_record is None:
            return
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
        self.render()  # the last records
        self.panel.set_editable(True)
        self.runs.running = None
        self._update_runs_root()
        self.clear_tints()
        failed = end.status == "failed"
        self.panel.set_state(end.message, error=failed)
        self.window.show_message(end.message)
        if failed:
            self.twin_queue = []
            self.window.prompts.show_error("Training failed", end.message)
        elif self.twin_queue and end.status == "finished":
            self._start_graph(self.twin_queue.pop(0))
        elif len(self.compare_after) > 1 and end.status == "finished":
            self.show_comparison(self.compare_after)
        self._update_actions()

    def show_comparison(self, paths: list[Path]) -> None:
        self.show_docks()
        self.runs.select_paths(paths)
        self.compare.show_runs(paths)
        self.tabs.setCurrentIndex(TAB_RUNS)

    def _on_runs_selected(self, paths: list) -> None:
        if len(paths) >= 2:
            self.ensure_views()
            self.compare.show_runs(paths)

    # ----- the document -----------------------------------------------------------------------
    def _on_document_edited(self, index: int) -> None:
        if self.bridge.is_active() and not self._edit_warned and index != self._graph_index:
            self._edit_warned = True
            text = ("The run trains the network as it was when it started; this edit applies "
                    "to the next run.")
            self.panel.set_state(text)
            self.window.show_message(text)

    def _on_document_reset(self) -> None:
        if not self.bridge.is_active():
            self.load_defaults()

    def load_defaults(self) -> None:
        self.panel.settings.set_config(preset_defaults(self.window.document.graph))

    def _update_runs_root(self) -> None:
        self.runs.set_root(self.runs_root())

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
        self.twin_queue = []
        if self.bridge.is_active():
            self.window.show_message("Stopping training…")
            self.bridge.shutdown()
        self.legend.hide()


def _adapted(graph: Graph):
    """The engine's network: ``graph`` with its input set to the dataset's shape and classes
    (every size in a graph follows ``$channels``, ``$height``, ``$width`` and ``$classes``)."""

    def for_input(spec) -> Graph:
        if graph.input_spec != spec:
            graph.set_input_spec(spec)
        return graph

    return for_input
