"""Single-image check: the top-5 predictions of a trained model for one image.

The image is an image file (decoded with torchvision, resized to the network's input, turned
grey or colour as the dataset is, normalised with the dataset's mean and std) or a sample of
the validation split. The model is the run's current one (when no run is training it) or the
best checkpoint of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...data import DataError
from ...data.folders import decode_image
from ...data.images import ImageTooLargeError
from ..shell.window_titles import fit_title

PREVIEW = 160


class ImageError(Exception):
    """An image file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Prediction:
    class_index: int
    name: str
    probability: float


def load_image(path: str | Path, info: dict[str, Any]) -> torch.Tensor:
    """The image at ``path`` as a C×H×W float tensor in [0, 1] shaped like the dataset's
    images (the image-folder loader's resize and centre crop, so a picture is prepared as a
    folder dataset's would be)."""
    shape = (int(info["channels"]), int(info["height"]), int(info["width"]))
    try:
        pixels = decode_image(str(path), shape)
    except ImageTooLargeError as exc:
        raise ImageError(str(exc)) from None
    except DataError:
        raise ImageError(f"{Path(path).name}: cannot be read as an image.") from None
    return pixels.float().div(255.0)


def normalise(image: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    mean = torch.tensor(info["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(info["std"], dtype=torch.float32).view(-1, 1, 1)
    return (image - mean) / std


def denormalise(image: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    mean = torch.tensor(info["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(info["std"], dtype=torch.float32).view(-1, 1, 1)
    return (image * std + mean).clamp(0, 1)


@torch.no_grad()
def top_predictions(model: torch.nn.Module, normalised: torch.Tensor, names: Sequence[str],
                    k: int = 5) -> list[Prediction]:
    """The ``k`` most probable classes for one normalised C×H×W image."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits = model(normalised.unsqueeze(0).to(device)).float()[0]
    finally:
        model.train(was_training)
    probabilities = torch.softmax(logits, dim=0).cpu()
    values, indices = probabilities.topk(min(k, len(probabilities)))
    return [Prediction(int(i), names[int(i)] if int(i) < len(names) else str(int(i)), float(v))
            for v, i in zip(values, indices)]


def to_pixmap(image: torch.Tensor, size: int = PREVIEW) -> QPixmap:
    """A C×H×W tensor in [0, 1] as a pixmap, scaled up without smoothing (pixels stay)."""
    array = (image.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().numpy())
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    array = np.ascontiguousarray(array)
    h, w, _ = array.shape
    qimage = QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


class PredictDialog(QDialog):
    """Open an image or pick a validation sample; shows it and the model's top-5.

    ``sample(index)`` returns (normalised image, true class index) of the validation split;
    ``ask_image()`` returns an image path or None.
    """

    def __init__(self, model: torch.nn.Module, info: dict[str, Any], model_label: str,
                 sample: Callable[[int], tuple[torch.Tensor, int]] | None,
                 ask_image: Callable[[], str | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Check one image — {model_label}")
        self.resize(560, 340)
        fit_title(self)  # a long run name
        self.model, self.info, self._sample, self._ask_image = model, info, sample, ask_image
        self.names = list(info.get("class_names") or [])
        self.predictions: list[Prediction] = []
        self.preview = QLabel(self, alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW + 8, PREVIEW + 8)
        self.preview.setStyleSheet("background: #f4f5f7; border: 1px solid #d0d7de;")
        self.caption = QLabel("Open an image or pick a validation sample.", self, wordWrap=True)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(("Class", "Probability"))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.index = QSpinBox(self, minimum=0, maximum=max(int(info.get("val_size", 1)) - 1, 0))
        self._lay_out()

    def _lay_out(self) -> None:
        open_button = QPushButton("Open image…", self)
        open_button.clicked.connect(self.open_image)
        sample_button = QPushButton("Validation sample", self)
        sample_button.clicked.connect(lambda: self.show_sample(self.index.value()))
        sample_button.setEnabled(self._sample is not None)
        controls = QHBoxLayout()
        controls.addWidget(open_button)
        controls.addStretch(1)
        controls.addWidget(QLabel("sample", self))
        controls.addWidget(self.index)
        controls.addWidget(sample_button)
        body = QHBoxLayout()
        body.addWidget(self.preview)
        body.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(body, 1)
        layout.addWidget(self.caption)
        layout.addWidget(buttons)

    def open_image(self, path: str | None = None) -> list[Prediction]:
        path = path or self._ask_image()
        if not path:
            return []
        try:
            image = load_image(path, self.info)
        except ImageError as exc:
            self.caption.setText(str(exc))
            return []
        return self._predict(normalise(image, self.info), image, Path(path).name, None)

    def show_sample(self, index: int) -> list[Prediction]:
        if self._sample is None:
            return []
        try:
            normalised, label = self._sample(index)
        except (DataError, IndexError) as exc:
            self.caption.setText(f"Cannot load validation sample {index}: {exc}")
            return []
        name = self.names[label] if label < len(self.names) else str(label)
        return self._predict(normalised, denormalise(normalised, self.info),
                             f"validation sample {index}", name)

    def _predict(self, normalised: torch.Tensor, shown: torch.Tensor, what: str,
                 truth: str | None) -> list[Prediction]:
        self.predictions = top_predictions(self.model, normalised, self.names)
        self.preview.setPixmap(to_pixmap(shown))
        self.table.setRowCount(len(self.predictions))
        for row, p in enumerate(self.predictions):
            self.table.setItem(row, 0, QTableWidgetItem(p.name))
            item = QTableWidgetItem(f"{p.probability:.1%}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, item)
        verdict = "" if truth is None else (
            f" — true class {truth}: " + ("right" if self.predictions[0].name == truth
                                          else "wrong"))
        self.caption.setText(f"{what}{verdict}")
        return self.predictions
