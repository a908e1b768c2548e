"""What one can do with a run: show it, resume it, open one from disk, export it, check an image.

Every file choice and question goes through the window's prompts, so tests answer them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PySide6.QtGui import QAction, QKeySequence

from ...compiler import build
from ...data import DataConfig, DataError, load_data
from ...graph import Graph, GraphError
from ...graph.project import from_dict
from ...train import TrainConfig
from ...train.checkpoint import CheckpointError, load_checkpoint
from ...train.config import ConfigError
from ...train.history import RunHistory
from ...train.rundir import RunReadError, find_checkpoint, read_data_info, read_train_config
from ...train.setup import EngineError, load_weights
from .exports import export_checkpoint, export_metrics, export_png
from .predict import PredictDialog

if TYPE_CHECKING:
    from .controller import TrainingController

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class RunActions:
    """Run-level commands of the training controller ``c`` (adds their actions to it)."""

    def __init__(self, controller: TrainingController):
        self.c = controller
        self.shown_run: Path | None = None
        table = (
            ("open_run", "&Open Run…", "Ctrl+Shift+O", "Show the curves of any run directory",
             self.open_run),
            ("check_image", "Check an &Image…", "Ctrl+I",
             "See the trained model's top-5 predictions for one image", self.check_image),
            ("export_checkpoint", "Export &Checkpoint…", "",
             "Save the run's latest checkpoint (last.pt) under a new name", self.export_ckpt),
            ("export_plots", "Export &Plots as PNG…", "", "Save the visible plots as an image",
             self.export_plots),
            ("export_metrics", "Export &Metrics as CSV…", "",
             "Save the run's per-step and per-epoch values as CSV", self.export_metrics),
        )
        for key, text, shortcut, tip, slot in table:
            action = QAction(text, controller.window)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.triggered.connect(lambda checked=False, s=slot: s())
            controller.actions[key] = action
            controller.window.actions[key] = action

    @property
    def prompts(self) -> Any:
        return self.c.window.prompts

    def run_dir(self) -> Path | None:
        """The run the exports and checks act on: the one training or last trained, else the
        one last shown."""
        return self.c.current_run or self.shown_run

    def _fail(self, title: str, message: str) -> bool:
        self.prompts.show_error(title, message)
        self.c.window.show_message(message)
        return False

    # ----- showing and resuming ---------------------------------------------------------------
    def open_run(self, path: str | Path | None = None) -> bool:
        if path is None:
            path = self.prompts.ask_directory("Open a run directory", str(self.c.runs_root()))
            if not path:
                return False
        try:
            self.c.runs.add_run(Path(path))
        except RunReadError as exc:
            return self._fail("Cannot open the run", str(exc))
        return self.show_run(Path(path))

    def show_run(self, path: Path) -> bool:
        """Show a finished (or stopped, or CLI-written) run's curves in the live views."""
        if self.c.bridge.is_active():
            return self._fail("A run is training", "Its curves are on show; open other runs "
                                                   "when it has ended.")
        try:
            history = RunHistory.load(path)
        except RunReadError as exc:
            return self._fail("Cannot show the run", str(exc))
        self.c.current_run, self.shown_run = None, path
        self.c.show_docks()
        self.c.show_history(history)
        self.c.tabs.setCurrentIndex(0)
        self.c.window.show_message(f"Showing run {path.name}")
        return True

    def resume_run(self, path: Path) -> bool:
        """Go on training a stopped run from its ``last.pt``, in the same run directory.
        The checkpoint's settings are kept; the epoch count is the larger of its own and the
        panel's, so a finished run can also be trained longer."""
        if self.c.bridge.is_active():
            return False
        try:
            checkpoint = load_checkpoint(path / "last.pt")
            config = TrainConfig.from_dict(checkpoint["config"])
            graph = from_dict(checkpoint.get("graph") or {}, self.c.window.document.graph.lookup,
                              str(path / "last.pt"))
        except (CheckpointError, ConfigError, GraphError) as exc:
            return self._fail("Cannot resume the run", str(exc))
        epochs = max(config.epochs, self.c.panel.settings.epochs.value())
        self.c.compare_after = []
        return self.c.launch(graph, config.replace(epochs=epochs), path,
                             resume_from=path / "last.pt")

    # ----- exports ----------------------------------------------------------------------------
    def export_ckpt(self, target: str | None = None) -> bool:
        run = self.run_dir()
        if run is None:
            return self._fail("Nothing to export", "Train a network or open a run first.")
        target = target or self.prompts.ask_save_path(
            "Export checkpoint", str(run.parent / f"{run.name}.pt"), "Checkpoints (*.pt)")
        if not target:
            return False
        try:
            export_checkpoint(run, Path(target))
        except OSError as exc:
            return self._fail("Cannot export the checkpoint", str(exc))
        self.c.window.show_message(f"Exported the checkpoint of {run.name} to {target}")
        return True

    def export_plots(self, target: str | None = None) -> bool:
        if self.c.plots is None:
            return self._fail("Nothing to export", "Train a network or open a run first.")
        view = getattr(self.c.tabs.currentWidget(), "view", None)
        target = target or self.prompts.ask_save_path("Export plots", "plots.png",
                                                      "PNG images (*.png)")
        if not target or view is None:
            return False
        try:
            export_png(view, Path(target))
        except OSError as exc:
            return self._fail("Cannot export the plots", str(exc))
        self.c.window.show_message(f"Exported the plots to {target}")
        return True

    def export_metrics(self, target: str | None = None) -> bool:
        if not len(self.c.history):
            return self._fail("Nothing to export", "Train a network or open a run first.")
        target = target or self.prompts.ask_save_path("Export metrics", "metrics.csv",
                                                      "CSV files (*.csv)")
        if not target:
            return False
        try:
            export_metrics(self.c.history, Path(target))
        except OSError as exc:
            return self._fail("Cannot export the metrics", str(exc))
        self.c.window.show_message(f"Exported the metrics to {target}")
        return True

    # ----- single-image check -----------------------------------------------------------------
    def check_image(self) -> PredictDialog | None:
        """Open the top-5 dialog on the current run's model (or its best checkpoint)."""
        run = self.run_dir()
        try:
            model, label = self.model_for_check(run)
        except (CheckpointError, EngineError, GraphError, FileNotFoundError) as exc:
            self._fail("Cannot check an image", str(exc))
            return None
        info = read_data_info(run) or self.c.history.data
        config = read_train_config(run)
        dialog = PredictDialog(model, info, label, self._sampler(config),
                               lambda: self.prompts.ask_open_file(
                                   "Open an image", str(Path.home()), IMAGE_FILTER),
                               self.c.window)
        dialog.show()
        return dialog

    def model_for_check(self, run: Path | None) -> tuple[torch.nn.Module, str]:
        """The run's trained network, from its checkpoint (``best.pt``, else ``last.pt``):
        the same whether the run trained in this window, in another, or on the command line."""
        if run is None:
            raise FileNotFoundError("Train a network or open a run first.")
        checkpoint = find_checkpoint(run)
        if checkpoint is None:
            raise FileNotFoundError(f"{run} has no checkpoint yet (best.pt is written after "
                                    "the first epoch).")
        return self._load_model(checkpoint), f"{checkpoint.name} of {run.name}"

    def _load_model(self, path: Path) -> torch.nn.Module:
        checkpoint = load_checkpoint(path)
        graph: Graph = from_dict(checkpoint.get("graph") or {},
                                 self.c.window.document.graph.lookup, str(path))
        model = build(graph)
        load_weights(model, checkpoint)
        return model.eval()

    @staticmethod
    def _sampler(config: dict[str, Any]):
        """``index → (normalised image, label)`` of the run's validation split, loaded on
        first use with the run's batch size (None when its data settings cannot be read)."""
        data, batch_size = config.get("data"), config.get("batch_size")
        if not isinstance(data, dict) or not isinstance(batch_size, int):
            return None
        cache: dict[str, Any] = {}

        def sample(index: int) -> tuple[torch.Tensor, int]:
            if "val" not in cache:
                cache["val"] = load_data(DataConfig.from_dict(data), batch_size, "cpu").val
            val = cache["val"]
            for i, (x, y) in enumerate(val.epoch(0)):
                if i == index // val.batch_size:
                    return x[index % val.batch_size].cpu(), int(y[index % val.batch_size])
            raise IndexError(index)

        try:
            DataConfig.from_dict(data)
        except DataError:
            return None
        return sample
