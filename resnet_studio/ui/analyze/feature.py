"""The Analyses feature: the Analyze menu, the Analyses dock, one worker thread at a time,
the signal analysis's canvas colours and its re-run after edits.

Signal propagation measures the project being edited; the lesion study, the loss landscape
and the image explanation act on a trained run (the run in focus unless another directory
is chosen) and, for the first two, optionally a twin run to compare with.

The dock's run picker lists the project's trained runs as the Train workspace's runs table
has read them, follows the window's run in focus and sets it when the user picks a run; each
run's page has a Run… button that asks that analysis's options.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog

from ..shell.features import ActionSpec, Contributions, DockSpec, Feature, FeatureHost, MenuSpec
from ..train.tint import TintLegend, tint_colours
from . import jobs
from .dialogs import (
    SIGNAL_DEFAULTS,
    ExplainDialog,
    LandscapeDialog,
    LesionDialog,
    OptionsDialog,
    SignalDialog,
)
from .dock import AnalysisDock
from .gradcam_choice import LayerMemory
from .install import INSTALL_COMMAND, InstallDialog
from .worker import AnalysisWorker

if TYPE_CHECKING:
    from ..shell.context import StudioWindow
    from ..train.runs import RunsPanel

REFRESH_MS = 700  # after the last edit before the signal analysis runs again


class AnalysisFeature(Feature):
    """Owns the dock, the worker and the signal tints; dialogs are asked through ``ask``
    (a test replaces it to accept a dialog as it is)."""

    def __init__(self, window: StudioWindow, runs_list: RunsPanel):
        self.window = window
        self.runs_list = runs_list  # the Train workspace's runs table: the picker lists its runs
        self.panel = AnalysisDock()
        self.worker: AnalysisWorker | None = None
        self.legend = TintLegend(window.editor.view.viewport())
        self.refresh_timer = QTimer(window, singleShot=True, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh_signal)
        self.refresh_waiting = False
        self.dock: Any = None
        self.job_session: Any = None  # the project session the running analysis is for
        self.layer_memory = LayerMemory(window.settings)  # Explain's Grad-CAM layer

    def contributions(self) -> Contributions:
        return Contributions([
            ActionSpec("analyze_signal", "&Signal Propagation at Init…", self.ask_signal, None,
                       "Measure the project's per-layer signal at initialisation beside its "
                       "plain twin", "analyze", 0, 0, context=("canvas",)),
            ActionSpec("analyze_lesion", "&Lesion Study…", self.ask_lesion, None,
                       "Validation accuracy of a trained run without each block",
                       "analyze", 10, 0),
            ActionSpec("analyze_landscape", "Loss &Landscape…", self.ask_landscape, None,
                       "The loss around a trained run's weights, in 1-D and 2-D slices",
                       "analyze", 10, 1),
            ActionSpec("analyze_explain", "&Explain an Image…", self.ask_explain, None,
                       "Top-k, Grad-CAM, attribution and feature maps of a trained run for "
                       "one image", "analyze", 10, 2),
            ActionSpec("analyze_cancel", "&Cancel Analysis", self.cancel, None,
                       "Stop the running analysis", "analyze", 20, 0),
            ActionSpec("clear_signal_tints", "Clear Signal &Colours", self.clear_tints, None,
                       "Remove the signal analysis's colours from the canvas", "analyze", 20,
                       1),
        ], [MenuSpec("analyze", "&Analyze")])

    def docks(self, actions: dict[str, Any]) -> list[DockSpec]:
        return [DockSpec("analyses", "Analyses", self.panel,
                         Qt.DockWidgetArea.RightDockWidgetArea, workspace="analyze")]

    def installed(self, host: FeatureHost) -> None:
        self.dock = host.docks["analyses"]
        self.panel.cancel_button.clicked.connect(self.cancel)
        self.panel.signal.refresh_requested.connect(self.refresh_signal)
        for view in self.panel.views.values():
            view.export_requested.connect(lambda v=view: self.export(v))
        self.window.document.analysis_ready.connect(self._on_edited)
        host.actions["analyze_cancel"].setEnabled(False)
        self.actions = host.actions
        self.window.sessions.replaced.connect(self._on_session_replaced)
        self._connect_runs()

    def _connect_runs(self) -> None:
        """The picker lists the runs table's runs and follows (and sets) the run in focus;
        the pages' Run… buttons ask their analysis."""
        picker, focus = self.panel.picker, self.window.run_focus
        picker.chosen.connect(focus.set_run)
        picker.browse_requested.connect(self.browse_run)
        focus.changed.connect(self.relist)
        self.runs_list.listed.connect(self.relist)
        asks = {"lesion": self.ask_lesion, "landscape": self.ask_landscape,
                "explain": self.ask_explain}
        for key, ask in asks.items():
            self.panel.views[key].run_requested.connect(ask)
        self.relist()

    def relist(self, *_: Any) -> None:
        """List the open project's runs (as the runs table read them) with the run in focus
        chosen; a run in focus outside the table is listed too."""
        summaries = self.runs_list.summaries.values()
        self.panel.show_runs(summaries, self.window.run_focus.run)

    def browse_run(self) -> bool:
        """Browse…: open a run directory from anywhere into the runs list and focus on it,
        staying in the Analyze workspace (Training ▸ Open Run… also shows its curves)."""
        return self.window.runs.focus_run()

    def _on_session_replaced(self, session: Any) -> None:
        """Another project: cancel the previous one's analysis, drop its results and its
        colours on the canvas."""
        self.refresh_timer.stop()
        self.refresh_waiting = False
        self.cancel()
        for view in self.panel.views.values():
            view.clear()
        self.panel.set_idle("")
        self.clear_tints()

    # ----- asking -----------------------------------------------------------------------------
    def ask(self, dialog: OptionsDialog) -> bool:
        return dialog.exec() == QDialog.DialogCode.Accepted

    def ask_signal(self) -> None:
        dialog = SignalDialog(self.window)
        dialog.limit = lambda o: _limit("check_signal", self.window.document.graph,
                                        o["batch_size"])
        if self.ask(dialog):
            self.run_signal(dialog.options())

    def ask_lesion(self) -> None:
        dialog = LesionDialog(self.window.prompts, self.window.run_focus.run, self.window)
        if self.ask(dialog):
            self.start("lesion", jobs.lesion_job(dialog.runs(), dialog.options()))

    def ask_landscape(self) -> None:
        dialog = LandscapeDialog(self.window.prompts, self.window.run_focus.run, self.window)
        dialog.limit = lambda o: _limit("check_landscape_points", o["steps_1d"], o["steps_2d"])
        if self.ask(dialog):
            self.start("landscape", jobs.landscape_job(dialog.runs(), dialog.options()))

    def ask_explain(self) -> None:
        if not self.has_captum():
            self.offer_captum()
            return
        session = self.window.sessions.current
        dialog = ExplainDialog(self.window.prompts, self.window.run_focus.run, self.window,
                               self.layer_memory.recall(session))
        if self.ask(dialog):
            options = dialog.options()
            self.layer_memory.remember(session, options["layer"])
            self.start("explain", jobs.explain_job(dialog.run.path(), dialog.image.path(),
                                                   options))

    def has_captum(self) -> bool:
        return importlib.util.find_spec("captum") is not None

    def offer_captum(self) -> None:
        """Say what Explain needs and offer to install it, in a dialog that shows pip's
        output (nothing is installed without the user pressing Install)."""
        self.window.show_message(f"Explaining an image needs Captum: {INSTALL_COMMAND}")
        InstallDialog(self.window).exec()

    # ----- running ----------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.worker is not None

    def run_signal(self, options: dict[str, Any]) -> bool:
        """Measure the project as it is now; False (with a message) when it cannot run."""
        from ...graph import project

        analysis = self.window.document.analysis
        if analysis is not None and not analysis.ok:
            self.window.show_message("Signal propagation needs a project without problems; "
                                     "see Problems and Summary.")
            return False
        self.panel.signal.options = options
        return self.start("signal", jobs.signal_job(project.to_dict(self.window.document.graph),
                                                    options))

    def start(self, key: str, job: Any) -> bool:
        if self.busy():
            self.window.show_message(f"Another analysis ({self.worker.name}) is running: wait "
                                     "for it or cancel it first.")
            return False
        worker = self.worker = AnalysisWorker(key, job, self.window)
        self.job_session = self.window.sessions.current
        worker.progressed.connect(self.panel.set_progress)
        worker.succeeded.connect(lambda made, k=key: self._show(k, *made))
        worker.failed.connect(lambda text, k=key: self._fail(k, text))
        worker.cancelled.connect(lambda: self.panel.set_idle("Cancelled."))
        worker.finished.connect(self._finished)
        self.panel.set_busy(f"Starting the {key} analysis…")
        self.panel.show_view(key)
        self.window.reveal("analyses")
        self.actions["analyze_cancel"].setEnabled(True)
        worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.panel.cancel_button.setEnabled(False)
            self.panel.status.setText("Cancelling after the current step…")

    def _show(self, key: str, result: Any, context: dict[str, Any]) -> None:
        if self.job_session is not self.window.sessions.current:
            return  # the analysis of a project no longer open
        self.panel.views[key].show_result(result, context)
        self.panel.set_idle("Done.")
        if key == "signal":
            self.tint(result)

    def _fail(self, key: str, text: str) -> None:
        if self.job_session is not self.window.sessions.current:
            return
        self.panel.set_idle(f"The {key} analysis failed: {text}")
        self.window.prompts.show_error("Analysis failed", text)

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.deleteLater()
        self.actions["analyze_cancel"].setEnabled(False)
        if self.refresh_waiting:
            self.refresh_waiting = False
            self.refresh_timer.start()

    # ----- the signal analysis on the canvas ----------------------------------------------------
    def tint(self, result: Any) -> None:
        """Colour the project's nodes by their weight-gradient norm at init."""
        names, norms = jobs.signal_tints(result)
        tints, (low, high) = tint_colours(names, norms)
        self.window.editor.scene.set_tints(tints)
        self.legend.set_range(low, high, 0)
        self.legend.show()
        self.legend.raise_()

    def clear_tints(self) -> None:
        self.window.editor.scene.clear_tints()
        self.legend.hide()

    def refresh_signal(self) -> None:
        """Measure again with the last settings (the dialog's defaults before any run)."""
        if self.busy():
            self.refresh_waiting = True  # runs once the current analysis ends
            return
        options = self.panel.signal.options or SIGNAL_DEFAULTS
        self.run_signal(options)

    def _on_edited(self, analysis: Any) -> None:
        view = self.panel.signal
        if (view.result is not None and view.follow_edits.isChecked() and view.isVisible()
                and analysis is not None and analysis.ok):
            self.refresh_timer.start()

    # ----- exports and closing ------------------------------------------------------------------
    def export(self, view: Any) -> None:
        folder = self.window.prompts.ask_directory(f"Export the {view.key} analysis to a folder",
                                                   "")
        if not folder:
            return
        try:
            written = view.export(Path(folder))
        except OSError as exc:
            self.window.prompts.show_error("Export failed", f"{folder}: {exc.strerror or exc}")
            return
        self.window.show_message(f"Wrote {', '.join(p.name for p in written)} in {folder}")

    def shutdown(self) -> None:
        """Cancel a running analysis and wait for its thread (a running QThread at exit
        aborts Python); every analysis checks the flag between units of work."""
        self.refresh_timer.stop()
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        self.legend.hide()


def _limit(check: str, *args: Any) -> str:
    """What ``analysis.limits``'s ``check`` refuses of a dialog's options ("" when it fits);
    imported on use, so that torch stays off the app's start-up path."""
    from ...analysis import limits

    return limits.problem(getattr(limits, check), *args)
