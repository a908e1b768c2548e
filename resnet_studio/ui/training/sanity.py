"""Sanity tools in the Training menu: Find Learning Rate…, Overfit One Batch, Preview
Augmentation….

Each runs the matching function of ``train/sanity.py`` on the project's network and training
settings (the same ones Start would use) on a worker thread, with a busy progress dialog,
and shows its numbers in a dialog: the range test's loss against the learning rate with the
suggestion marked and a button that applies it to the settings (an undoable edit), the loss
of one batch trained over and over with the verdict, and the first batch the engine feeds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ...train.config import ConfigError
from ..background import BackgroundTask
from ..features import ActionSpec, Contributions, Feature
from .recipe_sync import app_wording

if TYPE_CHECKING:
    from ..main_window import MainWindow
    from .controller import TrainingController

SANITY_SECTION = 30  # in the Training menu, after the run actions


class SanityTools(QObject, Feature):
    """The three tools as a feature of ``window``, using ``training``'s settings."""

    def __init__(self, window: MainWindow, training: TrainingController):
        super().__init__(window)
        self.window, self.training = window, training
        self.lr_steps, self.overfit_steps, self.preview_count = 100, 100, 32
        self.task: BackgroundTask | None = None
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

        steps = self.lr_steps

        def show(result: Any) -> LrFinderDialog:
            # later runs of this project say when their rate is far from the suggestion
            self.training.bridge.suggested_lr = result.suggested_lr
            return LrFinderDialog(result, self.training.sync.apply_lr, self.window)

        return self._run("Finding a learning rate…",
                         lambda net, cfg: lr_range_test(net, cfg, steps=steps), show)

    def overfit(self) -> bool:
        from ...train.sanity import overfit_batch

        steps = self.overfit_steps
        return self._run("Training on one batch…",
                         lambda net, cfg: overfit_batch(net, cfg, steps=steps),
                         lambda result: OverfitDialog(result, self.window))

    def preview(self) -> bool:
        from ...train.sanity import preview_grid

        folder = Path(tempfile.mkdtemp(prefix="resnet-studio-preview-"))
        count = self.preview_count

        def work(net: Any, cfg: Any) -> tuple[Path, int, Path]:
            path = folder / "batch.png"
            try:
                return path, preview_grid(net, cfg, path, count), folder
            except Exception:
                _remove(folder)  # the dialog that would have read it never opens
                raise

        return self._run("Preparing the first batch…", work,
                         lambda result: PreviewDialog(*result, self.window))

    def _run(self, label: str, work: Any, show: Any) -> bool:
        """``work(network, config)`` on a worker thread, then ``show(result)`` as the dialog."""
        if self.busy():
            return False
        try:
            network, config = self.training._configure(self.window.document.graph.copy())
        except ConfigError as exc:
            self.training.panel.set_state(str(exc), error=True)
            self.window.show_message(str(exc))
            return False
        self.task = BackgroundTask(lambda: work(network, config), label, self.window,
                                   lambda result: self._show(show(result)), self._failed)
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


def _plot(parent: QWidget, x_label: str, y_label: str, log_x: bool = False) -> pg.PlotWidget:
    plot = pg.PlotWidget(parent, background="w")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.setLogMode(x=log_x, y=False)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumSize(480, 300)
    return plot


class LrFinderDialog(QDialog):
    """The range test's smoothed loss against the learning rate, the suggestion marked, and
    Apply, which sets the learning rate in the settings (undoable)."""

    def __init__(self, result: Any, apply: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Find Learning Rate")
        self.result, self._apply = result, apply
        self.plot = _plot(self, "learning rate", "training loss (smoothed)", log_x=True)
        self.curve = self.plot.plot(np.asarray(result.lrs), np.asarray(result.losses),
                                    pen=pg.mkPen("#1f77b4", width=2))
        self.marker: pg.InfiniteLine | None = None
        suggested = result.suggested_lr
        if suggested:
            self.marker = pg.InfiniteLine(np.log10(suggested), pen=pg.mkPen("#d62728",
                                                                             style=Qt.PenStyle.DashLine))
            self.plot.addItem(self.marker)
        self.verdict = QLabel(self._text(), self, wordWrap=True)
        self.apply_button = QPushButton(f"Use {suggested:.2g}" if suggested else "Use", self)
        self.apply_button.setEnabled(bool(suggested))
        self.apply_button.clicked.connect(self.apply)
        _lay_out(self, [self.plot, self.verdict], self.apply_button)

    def _text(self) -> str:
        r = self.result
        if not r.lrs:
            return "The loss diverged at once: no learning rate in the range could be tried."
        span = f"{len(r.lrs)} steps from {r.lrs[0]:.1g} to {r.lrs[-1]:.2g}"
        if r.suggested_lr is None:
            return f"{span}: the loss never fell, so there is no suggestion."
        return (f"{span}: the loss falls fastest at {r.suggested_lr:.2g} (Smith 2017, "
                "arXiv:1506.01186) — a good peak learning rate to start from.")

    def apply(self) -> None:
        if self.result.suggested_lr:
            self._apply(float(self.result.suggested_lr))
            self.apply_button.setText("Applied")
            self.apply_button.setEnabled(False)


class OverfitDialog(QDialog):
    """The loss of one batch over the steps, and whether the network could fit it."""

    def __init__(self, result: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Overfit One Batch")
        self.result = result
        self.plot = _plot(self, "step", "loss on the batch")
        steps = np.arange(1, len(result.losses) + 1, dtype=float)
        self.curve = self.plot.plot(steps, np.asarray(result.losses),
                                    pen=pg.mkPen("#2ca02c" if result.learned else "#d62728",
                                                 width=2))
        self.verdict = QLabel(result.verdict()[:1].upper() + result.verdict()[1:] + ".", self,
                              wordWrap=True)
        self.verdict.setStyleSheet("font-weight: 600;")
        _lay_out(self, [self.plot, self.verdict])


class PreviewDialog(QDialog):
    """The first training batch (augmented as the engine feeds it) as a grid of images."""

    def __init__(self, path: Path, count: int, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preview Augmentation")
        self.pixmap = QPixmap(str(path))
        _remove(folder)  # the picture is in memory now
        self.image = QLabel(self)
        self.image.setPixmap(self.pixmap.scaled(self.pixmap.size() * _zoom(self.pixmap)))
        self.caption = QLabel(f"The first {count} images of the first training batch, as the "
                              "engine feeds them (augmented, shown un-normalised).", self,
                              wordWrap=True)
        self.count = count
        _lay_out(self, [self.image, self.caption])


def _zoom(pixmap: QPixmap) -> int:
    """Small images (28×28 digits) drawn larger, up to a grid about 640 pixels wide."""
    return max(1, min(4, 640 // max(pixmap.width(), 1)))


def _remove(folder: Path) -> None:
    for path in folder.glob("*"):
        path.unlink(missing_ok=True)
    folder.rmdir()


def _lay_out(dialog: QDialog, widgets: list[QWidget], extra: QWidget | None = None) -> None:
    layout = QVBoxLayout(dialog)
    for widget in widgets:
        layout.addWidget(widget)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    if extra is not None:
        buttons.addButton(extra, QDialogButtonBox.ButtonRole.ActionRole)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
