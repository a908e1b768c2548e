"""Sanity tools in the Training menu: Find Learning Rate…, Overfit One Batch, Preview
Augmentation….

Each runs the matching function of ``train/sanity.py`` on the project's network and training
settings (the same ones Start would use) on a worker thread, with a busy progress dialog,
and shows its numbers in a dialog: the range test's loss against the learning rate with the
suggestion marked and a button that applies it to the settings (an undoable edit), the loss
of one batch trained over and over with the verdict, and the first batch the engine feeds
(``sanity_dialogs.py``, loaded with pyqtgraph on first use: not at start-up).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDialog

from ...train.config import ConfigError
from ..data.wording import app_wording
from ..shell.busy import ProgressTask, steps
from ..shell.features import ActionSpec, Contributions, Feature

if TYPE_CHECKING:
    from ..shell.context import StudioWindow
    from .controller import TrainingController

SANITY_SECTION = 30  # in the Training menu, after the run actions


class SanityTools(QObject, Feature):
    """The three tools as a feature of ``window``, using ``training``'s settings."""

    def __init__(self, window: StudioWindow, training: TrainingController):
        super().__init__(window)
        self.window, self.training = window, training
        self.lr_steps, self.overfit_steps, self.preview_count = 100, 100, 32
        self.task: ProgressTask | None = None
        self.dialog: QDialog | None = None

    def contributions(self) -> Contributions:
        m = "training"
        return Contributions([
            ActionSpec("find_lr", "Find &Learning Rate…", self.find_lr, None,
                       "Train a few batches with a growing learning rate and suggest one "
                       "(Smith 2017)", m, SANITY_SECTION, 0),
            ActionSpec("overfit_batch", "&Overfit One Batch", self.overfit, None,
                       "Train on one batch only: can the network learn at all?", m,
                       SANITY_SECTION, 1),
            ActionSpec("preview_augment", "Preview &Augmentation…", self.preview, None,
                       "Show the first batch exactly as the engine will feed it", m,
                       SANITY_SECTION, 2),
        ])

    # ----- the tools --------------------------------------------------------------------------
    def find_lr(self) -> bool:
        from ...train.sanity import lr_range_test
        from .sanity_dialogs import LrFinderDialog

        steps = self.lr_steps

        def show(result: Any) -> LrFinderDialog:
            # later runs of this project say when their rate is far from the suggestion
            self.training.bridge.suggested_lr = result.suggested_lr
            return LrFinderDialog(result, self.training.sync.apply_lr, self.window)

        return self._run("Finding a learning rate…",
                         lambda net, cfg, progress, cancel: lr_range_test(
                             net, cfg, steps=steps, progress=progress, cancel=cancel), show)

    def overfit(self) -> bool:
        from ...train.sanity import overfit_batch
        from .sanity_dialogs import OverfitDialog

        steps = self.overfit_steps
        return self._run("Training on one batch…",
                         lambda net, cfg, progress, cancel: overfit_batch(
                             net, cfg, steps, progress, cancel),
                         lambda result: OverfitDialog(result, self.window))

    def preview(self) -> bool:
        from ...train.sanity import preview_batch
        from .sanity_dialogs import PreviewDialog

        folder = Path(tempfile.mkdtemp(prefix="resnet-studio-preview-"))
        count = self.preview_count

        def work(net: Any, cfg: Any, progress: Any, cancel: Any) -> tuple[Path, int, Path, str]:
            path = folder / "batch.png"
            try:
                drawn, augmentation = preview_batch(net, cfg, path, count)
                return path, drawn, folder, augmentation
            except Exception:
                # the dialog that would have read it never opens
                shutil.rmtree(folder, ignore_errors=True)
                raise

        return self._run("Preparing the first batch…", work,
                         lambda result: PreviewDialog(*result, self.window))

    def _run(self, label: str, work: Any, show: Any) -> bool:
        """``work(network, config, progress, cancel)`` on a worker thread behind a progress
        dialog with Cancel and the time left, then ``show(result)`` as the dialog."""
        if self.busy():
            return False
        try:
            network, config = self.training._configure(self.window.document.graph.copy())
        except ConfigError as exc:
            self.training.panel.set_state(str(exc), error=True)
            self.window.show_message(str(exc))
            return False
        self.task = ProgressTask(
            lambda progress, cancel: work(network, config, steps(progress, label), cancel),
            label, self.window, lambda result: self._show(show(result)), self._failed)
        self.task.start()
        return True

    def busy(self) -> bool:
        return self.task is not None and not self.task.done

    def _show(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def _failed(self, exc: BaseException) -> None:
        self.window.prompts.show_error("Sanity check failed", app_wording(str(exc)))

    def shutdown(self) -> None:
        if self.task is not None:
            self.task.wait()
