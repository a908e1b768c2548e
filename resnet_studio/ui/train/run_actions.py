"""What one can do with a run: show it, resume it, open one from disk, export it, check an image.

Every file choice and question goes through the window's prompts, so tests answer them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMenu

from ...export.errors import ExportError
from ...graph import GraphError
from ...graph.project import from_dict
from ...train import TrainConfig
from ...train.config import ConfigError
from ...train.history import RunHistory
from ...train.rundir import LAST, RunReadError, read_data_info
from ..run_focus import ask_checkpoint, checkpoint_choices
from ..shell.features import ActionSpec, Contributions, Feature, FeatureHost
from ..shell.session import NO_CURVES, NO_RUN_IN_FOCUS
from .exports import export_checkpoint, export_metrics, export_png
from .run_menu import RunMenu

if TYPE_CHECKING:
    from ..shell.context import StudioWindow
    from .controller import TrainingController
    from .predict import PredictDialog

RUN_EXPORTS_SECTION = 20  # in the File menu, after saving and before the model exports
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class RunActions(Feature):
    """The runs feature: the Open Run and Check Image entries of the Training menu, the run
    exports of the File menu and the buttons of the runs list. It acts on runs through the
    training feature's ``runner`` and ``views`` and the window's ``run_focus``."""

    def __init__(self, window: StudioWindow, training: TrainingController):
        self.window, self.training = window, training
        self.shown_run: Path | None = None
        self.menu = RunMenu(self)

    def contributions(self) -> Contributions:
        return Contributions([
            ActionSpec("open_run", "&Open Run…", self.open_run, "Ctrl+Shift+O",
                       "Show the curves of any run directory", "training", 20, 0),
            ActionSpec("check_image", "Check an &Image…", self.check_image, "Ctrl+I",
                       "See the trained model's top-5 predictions for one image", "training",
                       20, 1),
            ActionSpec("export_checkpoint", "Export &Checkpoint…", self.export_ckpt, None,
                       "Save the run's best or latest checkpoint under a new name", "file",
                       RUN_EXPORTS_SECTION, 0),
            ActionSpec("export_plots", "Export &Plots as PNG…", self.export_plots, None,
                       "Save the visible plots as an image", "file", RUN_EXPORTS_SECTION, 1),
            ActionSpec("export_metrics", "Export &Metrics as CSV…", self.export_metrics, None,
                       "Save the run's per-step and per-epoch values as CSV", "file",
                       RUN_EXPORTS_SECTION, 2),
            *self.menu.contributions(),
        ])

    def installed(self, host: FeatureHost) -> None:
        self.host = host
        runs = self.training.views.runs
        runs.show_requested.connect(self.show_run)
        runs.resume_requested.connect(self.resume_run)
        runs.open_requested.connect(self.open_run)
        runs.menu_requested.connect(self.show_run_menu)

    def show_run_menu(self, run: Path, at: Any) -> QMenu:
        """The context menu of ``run`` in the runs list (its entries: ``RunMenu``)."""
        return self.menu.popup(run, at)

    @property
    def prompts(self) -> Any:
        return self.window.prompts

    def run_dir(self) -> Path | None:
        """The run the exports and checks act on: the one training or last trained, else the
        one last shown."""
        return self.window.run_focus.run

    def fail(self, title: str, message: str) -> bool:
        self.prompts.show_error(title, message)
        self.window.show_message(message)
        return False

    # ----- showing and resuming ---------------------------------------------------------------
    def open_run(self, path: str | Path | None = None) -> bool:
        run = self.add_run(path)
        return run is not None and self.show_run(run)

    def focus_run(self, path: str | Path | None = None) -> bool:
        """Open a run directory into the runs list and put it in focus without showing its
        curves (the Analyze workspace's Browse…: the user stays where they are)."""
        run = self.add_run(path)
        if run is not None:
            self.window.run_focus.set_run(run)
        return run is not None

    def add_run(self, path: str | Path | None = None) -> Path | None:
        """Add a run directory (asked for when ``path`` is None) to the runs list; None,
        with the reason shown, when it is no run directory or the user cancels."""
        if path is None:
            path = self.prompts.ask_directory("Open a run directory",
                                              str(self.training.runner.runs_root()))
            if not path:
                return None
        try:
            self.training.views.runs.add_run(Path(path))
        except RunReadError as exc:
            self.fail("Cannot open the run", str(exc))
            return None
        return Path(path)

    def show_run(self, path: Path) -> bool:
        """Show a finished (or stopped, or CLI-written) run's curves in the live views."""
        if self.training.bridge.is_active():
            return self.fail("A run is training", "Its curves are on show; open other runs "
                                                   "when it has ended.")
        try:
            history = RunHistory.load(path)
        except RunReadError as exc:
            return self.fail("Cannot show the run", str(exc))
        self.shown_run = path
        self.training.show_history(history)
        self.window.run_focus.set_run(path)
        self.window.show_message(f"Showing run {path.name}")
        return True

    def resume_run(self, path: Path) -> bool:
        """Go on training a stopped run from its ``last.pt``, in the same run directory.
        The checkpoint's settings are kept; the epoch count is the larger of its own and the
        panel's, so a finished run can also be trained longer."""
        if self.training.bridge.is_active():
            return False
        from ...train.checkpoint import CheckpointError, load_checkpoint  # torch: on first use

        try:
            checkpoint = load_checkpoint(path / LAST)
            config = TrainConfig.from_dict(checkpoint["config"])
            graph = from_dict(checkpoint.get("graph") or {}, self.window.document.graph.lookup,
                              str(path / LAST))
        except (CheckpointError, ConfigError, GraphError) as exc:
            return self.fail("Cannot resume the run", str(exc))
        epochs = max(config.epochs, self.training.epochs_setting())
        return self.training.runner.resume(graph, config.replace(epochs=epochs), path,
                                           path / LAST)

    # ----- exports ----------------------------------------------------------------------------
    def export_ckpt(self, target: str | None = None, run: Path | None = None) -> bool:
        """Copy the best or the last checkpoint of ``run`` (the run in focus), as the user
        answers, and say which one was written."""
        run = run or self.run_dir()
        if run is None:
            return self.fail("No run to export", NO_RUN_IN_FOCUS)
        choices = checkpoint_choices(run)
        if not choices:
            return self.fail("Nothing to export", f"{run.name} has no checkpoint yet: one is "
                              "written at the end of each epoch and when a run is stopped.")
        source = (choices[0][1] if len(choices) == 1  # nothing to choose from
                  else ask_checkpoint(self.prompts, run, "Export Checkpoint"))
        if not isinstance(source, Path):
            return False
        target = target or self.prompts.ask_save_path(
            "Export checkpoint", str(run.parent / f"{run.name}-{source.stem}.pt"),
            "Checkpoints (*.pt)")
        if not target:
            return False
        try:
            export_checkpoint(source, Path(target))
        except ExportError as exc:
            return self.fail("Cannot export the checkpoint", str(exc))
        label = next(label for label, path in choices if path == source)
        self.window.show_message(f"Exported {label} of {run.name} to {target}")
        return True

    def export_plots(self, target: str | None = None) -> bool:
        if self.training.views.plots is None:
            return self.fail("Nothing to export", NO_CURVES)
        view = getattr(self.training.views.tabs.currentWidget(), "view", None)
        target = target or self.prompts.ask_save_path("Export plots", "plots.png",
                                                      "PNG images (*.png)")
        if not target or view is None:
            return False
        try:
            export_png(view, Path(target))
        except OSError as exc:
            return self.fail("Cannot export the plots", str(exc))
        self.window.show_message(f"Exported the plots to {target}")
        return True

    def export_metrics(self, target: str | None = None) -> bool:
        if not len(self.training.history):
            return self.fail("Nothing to export", NO_CURVES)
        target = target or self.prompts.ask_save_path("Export metrics", "metrics.csv",
                                                      "CSV files (*.csv)")
        if not target:
            return False
        try:
            export_metrics(self.training.history, Path(target))
        except OSError as exc:
            return self.fail("Cannot export the metrics", str(exc))
        self.window.show_message(f"Exported the metrics to {target}")
        return True

    # ----- single-image check -----------------------------------------------------------------
    def check_image(self) -> PredictDialog | None:
        """Open the top-5 dialog on the current run's model (or its best checkpoint)."""
        from ...train.checkpoint import CheckpointError  # torch: loaded on first use
        from ...train.setup import EngineError
        from . import image_check, predict

        run = self.run_dir()
        try:
            model, label = self.model_for_check(run)
        except (CheckpointError, EngineError, GraphError, FileNotFoundError) as exc:
            self.fail("Cannot check an image", str(exc))
            return None
        info = image_check.data_facts(run) or read_data_info(run) or self.training.history.data
        dialog = predict.PredictDialog(model, info, label, image_check.sampler(run),
                               lambda: self.prompts.ask_open_file(
                                   "Open an image", str(Path.home()), IMAGE_FILTER),
                               self.window)
        dialog.show()
        return dialog

    def model_for_check(self, run: Path | None) -> tuple[Any, str]:
        """The run's trained network (a ``torch.nn.Module``) and which checkpoint it is."""
        from .image_check import model_for_check

        return model_for_check(run, self.window.document.graph.lookup)
