"""The Predictions view: a dense run's latest predictions on a few validation images.

Detection: each image with its predicted boxes (solid, class name and score; those scoring
below the threshold in the bar left out) and its true boxes (dashed). Segmentation: each image
with the predicted mask over it and, beside it, the true mask; a legend names the colours.
The view renders ``RunHistory.preview`` (sent by the engine after each validation, or read
from the run's preview.npz); before the first one, for a classifier, or when the file is
damaged, a hint says why there is nothing to see.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...train.history import RunHistory
from ...train.preview_file import preview_problem
from ...train.records import PreviewRecord
from ..widgets.empty_state import EmptyState
from ..widgets.spin_boxes import DoubleSpinBox
from . import preview_paint as paint

DEFAULT_THRESHOLD = 0.5
CLASSIFIER_HINT = ("Predictions on validation images are drawn here for detection and "
                   "segmentation networks (a head block makes the project one). This run is a "
                   "classifier: its confusion matrix and Check an Image show its predictions.")
WAITING_HINT = ("The network's predictions on a few validation images appear here after the "
                "first validation: boxes or masks drawn over the images, beside the truth.")
INFO_STYLE = "color: #5f6b76; padding: 2px 6px;"


class PreviewCanvas(QWidget):
    """Paints one ``PreviewRecord``, its images as large as the widget allows."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: PreviewRecord | None = None
        self.threshold = DEFAULT_THRESHOLD
        self.drawn_boxes = 0  # predictions drawn by the last paint (all images)
        self.setMinimumSize(240, 160)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), Qt.GlobalColor.white)
        self.setPalette(palette)

    def show_record(self, record: PreviewRecord | None, threshold: float) -> None:
        self.record, self.threshold = record, threshold
        self.update()

    def layout_for(self, width: float, height: float) -> paint.Layout | None:
        """Where the images go in a ``width`` × ``height`` widget (None: nothing to draw)."""
        r = self.record
        if r is None or not len(r.images):
            return None
        panels = 2 if r.task == "segmentation" else 1
        n, h, w = r.images.shape[:3]
        return paint.lay_out(n, h, w, panels, width, height)

    def paintEvent(self, event) -> None:
        layout = self.layout_for(self.width(), self.height())
        if layout is None or layout.scale <= 0:
            return
        painter = QPainter(self)
        try:
            self._paint(painter, layout)
        finally:
            painter.end()

    def _paint(self, painter: QPainter, layout: paint.Layout) -> None:
        r = self.record
        self.drawn_boxes = 0
        for i in range(len(r.images)):
            if r.task == "segmentation":
                paint.paint_segmentation(painter, layout, r, i)
                continue
            rect = layout.panel_rect(i)
            self.drawn_boxes += paint.paint_detection(painter, rect, layout.scale, r, i,
                                                      self.threshold)
            paint.draw_caption(painter, rect, f"{i + 1}: {len(r.true_boxes[i])} true, "
                               f"{len(paint.shown_boxes(r.scores[i], self.threshold))} "
                               "predicted")

    def box_rects(self, index: int) -> list[QRectF]:
        """The widget rectangles of image ``index``'s shown predictions, as painted."""
        layout = self.layout_for(self.width(), self.height())
        r = self.record
        rect = layout.panel_rect(index)
        keep = paint.shown_boxes(r.scores[index], self.threshold)
        return [paint.box_rect(rect, layout.scale, r.boxes[index][i]) for i in keep]


class PredictionsView(QWidget):
    """The latest predictions of a ``RunHistory``, with a caption, a legend and, for
    detection, the score a box needs to be shown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: PreviewRecord | None = None
        self.caption = QLabel(self, wordWrap=True)
        self.caption.setStyleSheet(INFO_STYLE)
        self.legend = QLabel(self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet("padding: 0px 6px;")
        self.threshold = DoubleSpinBox(self, minimum=0.0, maximum=1.0, singleStep=0.05,
                                       decimals=2, value=DEFAULT_THRESHOLD)
        self.threshold.setToolTip("Predicted boxes scoring less than this are not drawn.")
        self.threshold.valueChanged.connect(self._redraw)
        self.threshold_label = QLabel("Show boxes scoring at least", self)
        self.canvas = PreviewCanvas(self)
        self.stack = EmptyState(self.canvas, WAITING_HINT, self)
        self._lay_out()
        self.show_history(RunHistory())

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 2, 6, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.threshold_label)
        bar.addWidget(self.threshold)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.legend)
        layout.addWidget(self.stack, 1)

    @property
    def empty(self) -> bool:
        return self.stack.empty

    def show_history(self, history: RunHistory) -> None:
        """Show ``history``'s latest preview, or say why there is none."""
        record = history.preview
        if record is self.record and record is not None:
            return  # drawn already (the per-epoch views follow every epoch)
        problem = preview_problem(record) if record is not None else ""
        self.record = None if problem else record
        if self.record is None:
            self._show_hint(history, problem and f"The predictions of epoch {record.epoch} "
                            f"cannot be drawn: {problem}.")
            return
        self.stack.set_empty(False)
        self._show_caption(record)
        self.legend.setText(_legend_html(record))
        self.legend.show()
        detection = record.task == "detection"
        self.threshold.setVisible(detection)
        self.threshold_label.setVisible(detection)
        self._redraw()

    def _show_hint(self, history: RunHistory, problem: str = "") -> None:
        if problem or history.preview_problem:
            hint = problem or history.preview_problem
        else:
            fresh = not history.data and not len(history)  # no run shown: nothing to say of it
            hint = WAITING_HINT if history.dense or fresh else CLASSIFIER_HINT
        self.stack.hint.setText(hint)
        self.stack.set_empty(True)
        self.caption.setText("")
        self.legend.hide()
        self.threshold.hide()
        self.threshold_label.hide()
        self.canvas.show_record(None, self.threshold.value())

    def _show_caption(self, r: PreviewRecord) -> None:
        n = len(r.images)
        if r.task == "detection":
            what = "predicted boxes solid (class and score), true boxes dashed"
        else:
            what = "predicted mask over each image, the true mask beside it"
        self.caption.setText(f"Validation images after epoch {r.epoch} (step {r.step:,}), "
                             f"{n} image{'s' * (n != 1)}: {what}.")

    def _redraw(self) -> None:
        self.canvas.show_record(self.record, self.threshold.value())


def _legend_html(record: PreviewRecord) -> str:
    return "&nbsp;&nbsp;&nbsp;".join(
        f"<span style='color:{colour}; font-size:13pt'>■</span>&nbsp;{name}"
        for colour, name in paint.legend_entries(record))
