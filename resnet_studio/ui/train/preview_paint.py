"""Drawing a dense run's predictions (a ``PreviewRecord``) with QPainter: where each image
goes, its predicted boxes (solid, class name and score) and true boxes (dashed), or its
predicted and true masks as translucent colour over the image.

Images are a few dozen pixels across, so they are scaled up to fill the view, without
smoothing (each input pixel stays a visible square: that is what the network saw). Boxes are
in pixel-edge coordinates (``x1 = 2`` is the left edge of pixel column 2), so a box maps to
the scaled image by the same factor, with no half-pixel shift.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen

from ..widgets.class_colours import class_hex

IGNORED_COLOUR = "#9aa4ad"
OVERLAY_ALPHA = 185  # of 255: the (greyed) image stays readable under the mask
IGNORE = 255
GAP, CAPTION = 20.0, 18.0  # pixels between tiles, and for the line of text under each image
PANEL_GAP = 6.0  # between a segmentation tile's two panels
TEXT = QColor("#1f2328")
OUTLINE = QColor(0, 0, 0, 200)
DASH, GAP_DASH = 6.0, 4.0  # a true box's dashes and gaps, in pixels


def class_colour(class_id: int) -> QColor:
    if class_id == IGNORE:
        return QColor(IGNORED_COLOUR)
    return QColor(class_hex(class_id))


@dataclass(frozen=True)
class Layout:
    """Where the images go: ``columns`` tiles a row, each panel ``scale`` times the image;
    a segmentation tile holds two panels (predicted, true) side by side."""

    columns: int
    scale: float
    panel_w: float
    panel_h: float
    panels: int
    left: float = GAP  # the grid is centred across the widget

    @property
    def tile_w(self) -> float:
        return self.panels * self.panel_w + (self.panels - 1) * PANEL_GAP

    def panel_rect(self, index: int, panel: int = 0) -> QRectF:
        row, col = divmod(index, self.columns)
        x = self.left + col * (self.tile_w + GAP) + panel * (self.panel_w + PANEL_GAP)
        y = GAP + row * (self.panel_h + CAPTION + GAP)
        return QRectF(x, y, self.panel_w, self.panel_h)


def lay_out(count: int, height: int, width: int, panels: int, area_w: float,
            area_h: float) -> Layout:
    """The columns that make the images largest in ``area_w`` × ``area_h``."""
    best = Layout(1, 0.0, 0.0, 0.0, panels)
    for columns in range(1, max(count, 1) + 1):
        rows = math.ceil(count / columns)
        free_w = area_w - GAP * (columns + 1) - columns * (panels - 1) * PANEL_GAP
        free_h = area_h - GAP * (rows + 1) - rows * CAPTION
        scale = min(free_w / (columns * panels * width), free_h / (rows * height))
        if scale > best.scale:
            best = Layout(columns, scale, width * scale, height * scale, panels)
    used = best.columns * best.tile_w + (best.columns - 1) * GAP
    return replace(best, left=max(GAP, (area_w - used) / 2))


def rgb_image(pixels: np.ndarray) -> QImage:
    """An H×W×3 uint8 array as a QImage (copied: the array may go)."""
    pixels = np.ascontiguousarray(pixels, np.uint8)
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


@functools.cache
def _overlay_table() -> np.ndarray:
    """RGBA by class id: clear for the background, translucent class colours for the rest."""
    table = np.zeros((256, 4), np.uint8)
    for class_id in range(1, 256):
        c = class_colour(class_id)
        table[class_id] = (c.red(), c.green(), c.blue(), OVERLAY_ALPHA)
    return table


def mask_overlay(mask: np.ndarray) -> QImage:
    """Class ids as translucent colour (background 0 clear, ignored 255 grey)."""
    h, w = mask.shape
    rgba = np.ascontiguousarray(_overlay_table()[mask])
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def grey_image(pixels: np.ndarray) -> QImage:
    """The image in grey, its contrast halved: a mask's colours read true over it, and the
    shapes stay visible."""
    grey = np.asarray(pixels, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = np.clip(96 + grey / 2, 0, 255).astype(np.uint8)
    return rgb_image(np.repeat(grey[..., None], 3, axis=2))


def draw_image(painter: QPainter, rect: QRectF, image: QImage) -> None:
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(rect, image)
    painter.setPen(QPen(QColor("#d0d7de"), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)


def draw_caption(painter: QPainter, rect: QRectF, text: str) -> None:
    painter.setPen(TEXT)
    painter.drawText(QRectF(rect.left(), rect.bottom() + 2, rect.width(), CAPTION - 2),
                     Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)


def box_rect(rect: QRectF, scale: float, box: np.ndarray) -> QRectF:
    x1, y1, x2, y2 = (float(v) for v in box)
    return QRectF(rect.left() + x1 * scale, rect.top() + y1 * scale, (x2 - x1) * scale,
                  (y2 - y1) * scale)


def draw_box(painter: QPainter, target: QRectF, colour: QColor, dashed: bool) -> None:
    """A box in its class colour over a dark outline, so that it reads on any image; a
    dashed one has 6-pixel dashes in both strokes (Qt's dashes scale with the pen's width)."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for pen_colour, width in ((OUTLINE, 4.0), (colour, 2.0)):
        pen = QPen(pen_colour, width)
        if dashed:  # flat ends: square caps would lengthen each dash over the gaps
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            pen.setDashPattern([DASH / width, GAP_DASH / width])
        painter.setPen(pen)
        painter.drawRect(target)


def draw_tag(painter: QPainter, target: QRectF, bounds: QRectF, text: str,
             colour: QColor) -> None:
    """``text`` on a label in ``colour`` above the box's top-left corner (inside the box when
    the image's top edge leaves no room), kept within ``bounds``."""
    metrics = QFontMetricsF(painter.font())
    w, h = metrics.horizontalAdvance(text) + 6, metrics.height() + 2
    top = target.top() - h if target.top() - h >= bounds.top() else target.top()
    left = min(max(target.left(), bounds.left()), bounds.right() - w)
    tag = QRectF(left, top, w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRect(tag)
    light = colour.lightnessF() > 0.55
    painter.setPen(QColor("#000000") if light else QColor("#ffffff"))
    painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)


def tag_font() -> QFont:
    font = QFont()
    font.setPointSizeF(8.5)
    font.setBold(True)
    return font


def shown_boxes(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the predictions scoring at least ``threshold``, best last (drawn on top)."""
    keep = np.flatnonzero(np.asarray(scores, np.float64) >= threshold)
    return keep[np.argsort(np.asarray(scores)[keep], kind="stable")]


def name_of(class_names: tuple[str, ...], class_id: int) -> str:
    return class_names[class_id] if 0 <= class_id < len(class_names) else f"class {class_id}"


def paint_detection(painter: QPainter, rect: QRectF, scale: float, record, index: int,
                    threshold: float) -> int:
    """Image ``index`` with its true boxes (dashed) and predictions scoring at least
    ``threshold`` (solid, tagged); returns how many predictions were drawn."""
    draw_image(painter, rect, rgb_image(record.images[index]))
    painter.save()
    painter.setClipRect(rect.adjusted(-3, -3, 3, 3))  # a box's outline may sit on the edge
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for box, label in zip(record.true_boxes[index], record.true_labels[index]):
        draw_box(painter, box_rect(rect, scale, box), class_colour(int(label)), dashed=True)
    boxes, labels, scores = (record.boxes[index], record.labels[index], record.scores[index])
    keep = shown_boxes(scores, threshold)
    targets = [box_rect(rect, scale, boxes[i]) for i in keep]
    for i, target in zip(keep, targets):
        draw_box(painter, target, class_colour(int(labels[i])), dashed=False)
    painter.setFont(tag_font())
    for i, target in zip(keep, targets):
        text = f"{name_of(record.class_names, int(labels[i]))} {float(scores[i]):.2f}"
        draw_tag(painter, target, rect, text, class_colour(int(labels[i])))
    painter.restore()
    return len(keep)


def paint_segmentation(painter: QPainter, layout: Layout, record, index: int) -> None:
    """Image ``index`` twice, in grey: with the predicted mask over it, and with the true
    mask."""
    image = grey_image(record.images[index])
    for panel, (mask, caption) in enumerate(((record.masks[index], "predicted"),
                                             (record.true_masks[index], "true"))):
        rect = layout.panel_rect(index, panel)
        draw_image(painter, rect, image)
        painter.drawImage(rect, mask_overlay(mask))
        draw_caption(painter, rect, f"{index + 1}: {caption}")


def legend_entries(record) -> list[tuple[str, str]]:
    """(colour, class name) for each class the record shows, background left out; the
    ignored pixels when a true mask has any."""
    ids: set[int] = set()
    if record.task == "detection":
        for labels in (*record.labels, *record.true_labels):
            ids.update(int(v) for v in labels)
    else:
        ids.update(int(v) for v in np.unique(record.masks))
        ids.update(int(v) for v in np.unique(record.true_masks))
    entries = [(class_colour(i).name(), name_of(record.class_names, i))
               for i in sorted(ids - {0, IGNORE})]
    if IGNORE in ids:
        entries.append((IGNORED_COLOUR, "ignored"))
    return entries
