"""The sanity tools' result dialogs: the LR range test's curve with its suggestion, the loss
of one batch trained over and over with the verdict, the first batch as a grid of images."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ..shell.window_titles import fit_title


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

    def __init__(self, path: Path, count: int, folder: Path, augmentation: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preview Augmentation")
        self.pixmap = QPixmap(str(path))
        shutil.rmtree(folder, ignore_errors=True)  # the picture is in memory now
        self.image = QLabel(self)
        self.image.setPixmap(self.pixmap.scaled(self.pixmap.size() * _zoom(self.pixmap)))
        shown = (f"augmented: {augmentation}" if augmentation
                 else "no augmentation: it is off in the training settings")
        self.caption = QLabel(f"The first {count} images of the first training batch, as the "
                              f"engine feeds them ({shown}; shown un-normalised).", self,
                              wordWrap=True)
        self.count = count
        _lay_out(self, [self.image, self.caption])


def _zoom(pixmap: QPixmap) -> int:
    """Small images (28×28 digits) drawn larger, up to a grid about 640 pixels wide."""
    return max(1, min(4, 640 // max(pixmap.width(), 1)))


def _lay_out(dialog: QDialog, widgets: list[QWidget], extra: QWidget | None = None) -> None:
    layout = QVBoxLayout(dialog)
    for widget in widgets:
        layout.addWidget(widget)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    if extra is not None:
        buttons.addButton(extra, QDialogButtonBox.ButtonRole.ActionRole)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    fit_title(dialog)
