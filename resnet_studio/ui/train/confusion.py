"""The confusion matrix of the latest validation: rows are true classes, columns predictions.
A segmentation run's counts pixels (its "accuracy" is the mean IoU; the caption says so).

Cells are coloured by the share of each true class (row-normalised, so rare classes read as
clearly as common ones) and, for up to ``MAX_LABELLED`` classes, show their counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...train.history import RunHistory
from . import plotstyle as style

MAX_LABELLED = 20
LIGHT, DARK = QColor("#f7fbff"), QColor("#08306b")


class ConfusionView(QWidget):
    """Shows one confusion matrix with class names on both axes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        self.class_names: list[str] = []
        self.pixels = False  # a segmentation run's matrix: pixels, and mean IoU
        self.caption = QLabel("The confusion matrix appears after the first validation.", self)
        self.caption.setStyleSheet("color: #5f6b76; padding: 2px 6px;")
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(style.BACKGROUND)
        self.plot = style.style_plot(self.view.addPlot(), "", "predicted class", "true class",
                                     grid=False)
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.ColorMap([0.0, 1.0], [LIGHT, DARK]))
        self.plot.addItem(self.image)
        self.counts = CountLabels()
        self.plot.addItem(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def set_class_names(self, names: Sequence[str]) -> None:
        self.class_names = list(names)

    def clear(self) -> None:
        self.matrix = None
        self.image.clear()
        self.counts.set_counts(None, np.zeros((0, 0)))
        self.caption.setText("The confusion matrix appears after the first validation.")

    def show_history(self, history: RunHistory) -> None:
        """The latest confusion matrix of ``history`` (cleared when it has none yet)."""
        self.set_class_names(history.class_names)
        self.pixels = history.task == "segmentation"
        if history.confusion is None or not history.confusion.matrix.size:
            self.clear()
        elif history.confusion.matrix is not self.matrix:
            c = history.confusion
            self.show_matrix(c.matrix, c.epoch, c.val_acc)

    def show_matrix(self, matrix: np.ndarray, epoch: int, accuracy: float) -> None:
        self.matrix = matrix = np.asarray(matrix, dtype=np.int64)
        k = matrix.shape[0]
        names = self.class_names if len(self.class_names) == k else [str(i) for i in range(k)]
        totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        self.image.setImage(matrix / totals, levels=(0.0, 1.0))
        self.image.setRect(QRectF(0, 0, k, k))
        ticks = [[(i + 0.5, name) for i, name in enumerate(names)], []]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        self._label_cells(matrix, totals)
        right = f"{int(np.trace(matrix)):,} of {int(matrix.sum()):,}"
        if self.pixels:
            self.caption.setText(f"Pixel confusion after epoch {epoch}: "
                                 f"mean IoU {accuracy:.1%}, {right} pixels right; rows are "
                                 "true classes, colour is the share of each row.")
            return
        self.caption.setText(f"Validation after epoch {epoch}: accuracy {accuracy:.1%} "
                             f"({right} right); rows are true classes, colour is the share "
                             "of each row.")

    def _label_cells(self, matrix: np.ndarray, totals: np.ndarray) -> None:
        shares = matrix / totals
        self.counts.set_counts(matrix if matrix.shape[0] <= MAX_LABELLED else None, shares)


class CountLabels(pg.GraphicsObject):
    """The count in every cell of a k × k matrix, as one item painted in one pass (a text
    item per cell takes tens of milliseconds to make for ten classes). Text is drawn in
    device pixels at each cell's centre, so it keeps its size whatever the zoom."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: np.ndarray | None = None
        self.dark = np.zeros((0, 0), dtype=bool)
        self.font = QFont()
        self.font.setPointSizeF(8.5)

    def set_counts(self, counts: np.ndarray | None, shares: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.counts = counts
        self.dark = shares > 0.5
        self.update()

    def boundingRect(self) -> QRectF:
        k = 0 if self.counts is None else self.counts.shape[0]
        return QRectF(0, 0, k, k)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.counts is None:
            return
        transform = painter.transform()
        painter.resetTransform()
        painter.setFont(self.font)
        k = self.counts.shape[0]
        for i in range(k):
            for j in range(k):
                centre = transform.map(QPointF(j + 0.5, i + 0.5))
                painter.setPen(QColor("#ffffff") if self.dark[i, j] else style.TEXT)
                painter.drawText(QRectF(centre.x() - 40, centre.y() - 10, 80, 20),
                                 Qt.AlignmentFlag.AlignCenter, str(self.counts[i, j]))
        painter.setTransform(transform)
