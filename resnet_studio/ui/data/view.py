"""The Data workspace's main view: the samples grid with labels, the images per class, the
input at the network's size and the augmented batch (see ``samples``)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..shell import theme
from .samples import Samples
from .tiles import Tiles

THUMB = 64      # a sample's picture in the grid, pixels
LARGE = 160     # the input at the network's size, enlarged


def pixmap(image: np.ndarray, size: int) -> QPixmap:
    """An H×W×C picture in [0, 1] as a pixmap ``size`` pixels tall, pixels kept sharp."""
    rgb = image if image.shape[-1] == 3 else np.repeat(image[..., :1], 3, axis=-1)
    data = np.ascontiguousarray((rgb * 255).round().astype(np.uint8))
    h, w = data.shape[:2]
    made = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(made).scaledToHeight(size, Qt.TransformationMode.FastTransformation)


def _heading(text: str) -> QLabel:
    label = QLabel(text, wordWrap=True)  # a narrow column wraps it rather than scroll sideways
    label.setFont(theme.ui_font(10.5, bold=True))
    return label


def _muted(text: str = "") -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setStyleSheet(f"color: {theme.MUTED.name()};")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DataView(QScrollArea):
    """Shows one ``Samples``; ``show_status`` while loading or when loading failed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.samples: Samples | None = None
        body = QWidget(self)
        self.title = _heading("Data")
        self.status = _muted("Open the Data workspace to load the dataset.")
        self.grid = Tiles(parent=body)
        self.counts = QTableWidget(0, 3, body)
        self.counts.setHorizontalHeaderLabels(["Class", "Training", "Validation"])
        self.counts.verticalHeader().hide()
        self.counts.setMinimumWidth(320)
        self.input_picture = QLabel(body)
        self.input_text = _muted()
        self.augment_title = _heading("Augmentation")
        self.augment_note = _muted()
        self.augmented = Tiles(parent=body)
        self._lay_out(body)
        self.setWidget(body)

    def _lay_out(self, body: QWidget) -> None:
        layout = QVBoxLayout(body)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(_heading("Samples and their labels"))
        layout.addWidget(self.grid, 0, Qt.AlignmentFlag.AlignLeft)
        self.middle = middle = QHBoxLayout()
        self.middle_columns = left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(_heading("Images per class"))
        left.addWidget(self.counts)
        left.addStretch(1)  # the table stays under its heading beside a taller picture
        right.addWidget(_heading("The input the network sees"))
        right.addWidget(self.input_picture)
        right.addWidget(self.input_text)
        right.addStretch(1)
        middle.addLayout(left, 1)
        middle.addLayout(right, 1)
        layout.addLayout(middle)
        layout.addWidget(self.augment_title)
        layout.addWidget(self.augment_note)
        layout.addWidget(self.augmented, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        colour = "#b42318" if error else theme.MUTED.name()
        self.status.setStyleSheet(f"color: {colour};")

    def clear(self) -> None:
        """Show nothing of earlier data (while other data loads, or when it cannot)."""
        self.samples = None
        self.title.setText("Data")
        self.grid.set_tiles([])
        self.counts.setRowCount(0)
        self.input_picture.clear()
        self.input_text.clear()
        self.augmented.set_tiles([])

    def show_samples(self, samples: Samples) -> None:
        self.samples = samples
        c, h, w = samples.shape
        colour = "grey" if c == 1 else "RGB"
        self.title.setText(f"{samples.name} · {h}×{w} {colour} · {len(samples.class_names)} "
                           f"classes")
        self.show_status(" ".join([samples.fit, *samples.notes]).strip())
        self._fill_grid(samples)
        self._fill_counts(samples)
        self._fill_input(samples)
        self._fill_augmented(samples)

    def _fill_grid(self, samples: Samples) -> None:
        self.grid.set_tiles([_sample_tile(image, label) for image, label in samples.grid])
        self._fit_width()

    def _fill_counts(self, samples: Samples) -> None:
        table = self.counts
        table.setRowCount(len(samples.class_names))
        for row, name in enumerate(samples.class_names):
            # a dense set counts no images per class (an image shows several): "—"
            train = f"{samples.train_counts[row]:,}" if row < len(samples.train_counts) else "—"
            val = f"{samples.val_counts[row]:,}" if row < len(samples.val_counts) else "—"
            for col, text in enumerate((name, train, val)):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
        rows = min(len(samples.class_names), 12)
        table.setFixedHeight(table.horizontalHeader().height() + 4
                             + rows * table.verticalHeader().defaultSectionSize())

    def _fill_input(self, samples: Samples) -> None:
        if not samples.grid:
            self.input_picture.clear()
            self.input_text.setText("No images to show.")
            return
        image, label = samples.grid[0]
        self.input_picture.setPixmap(pixmap(image, LARGE))
        c, h, w = samples.shape
        self.input_text.setText(f"One ‘{label}’ image as the network receives it: "
                                f"{c}×{h}×{w} ({'grey' if c == 1 else 'RGB'}).")

    def _fill_augmented(self, samples: Samples) -> None:
        if samples.augment_on:
            what = ", ".join(f"{k} {v}" for k, v in samples.augmentation.items()) or "on"
            self.augment_title.setText("Augmentation: the first training batch as drawn")
            self.augment_note.setText(f"Training augments each batch ({what}).")
        else:
            self.augment_title.setText("Augmentation is off: the first training batch")
            self.augment_note.setText("Training sees these images as they are; turn on "
                                      "augmentation on the left to see random crops here.")
        pictures = []
        for image in samples.augmented:
            pictures.append(QLabel())
            pictures[-1].setPixmap(pixmap(image, THUMB))
        self.augmented.set_tiles(pictures)
        self._fit_width()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """Wrap the pictures to the view's width, the vertical scroll bar counted as shown
        (so that its coming and going cannot wrap them back and forth)."""
        margins = self.widget().layout().contentsMargins()
        width = (self.width() - 2 * self.frameWidth() - margins.left() - margins.right()
                 - self.verticalScrollBar().sizeHint().width())
        self.grid.fit_width(width)
        self.augmented.fit_width(width)
        left, right = self.middle_columns
        side_by_side = (left.minimumSize().width() + self.middle.spacing()
                        + right.minimumSize().width())
        self.middle.setDirection(QBoxLayout.Direction.LeftToRight if width >= side_by_side
                                 else QBoxLayout.Direction.TopToBottom)


def _sample_tile(image: np.ndarray, label: str) -> QWidget:
    """A sample's picture with its label under it, cut with "…" where it is wider (a dense
    image's classes), the whole label in its tooltip."""
    cell = QWidget()
    box = QVBoxLayout(cell)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(1)
    picture = QLabel(cell)
    picture.setPixmap(pixmap(image, THUMB))
    width = max(picture.sizeHint().width(), THUMB + 16)
    caption = QLabel(cell)
    caption.setText(caption.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, width))
    caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    caption.setMaximumWidth(width)
    caption.setToolTip(label)
    box.addWidget(picture, 0, Qt.AlignmentFlag.AlignHCenter)
    box.addWidget(caption)
    return cell

