"""The explain tab: the image as the network saw it, the top-k predictions, Grad-CAM over
the image, the pixel attribution, and a grid of the first feature maps of every stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..shell import theme
from .base import AnalysisView, rgb_pixmap, rgba_pixmap, scalar_pixmap

PICTURE = 176     # pixels: the image, Grad-CAM and attribution pictures, at the least
FEATURES = 150    # pixels: each stage's mosaic of feature maps, at the least
LARGEST = 2.4     # times those: how far the pictures grow with the tab's room
TOP_K_ROOM = 220  # pixels beside the three pictures for the top-k table
OVERLAY_ALPHA = 0.5


def gradcam_overlay(image: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """The image with Grad-CAM (in [0, 1]) blended over it in the turbo colour map, RGBA."""
    rgb = image if image.shape[-1] == 3 else np.repeat(image[..., :1], 3, axis=-1)
    heat = pg.colormap.get("turbo").map(cam.clip(0, 1), mode="float")[..., :3]
    heat = heat.reshape(*cam.shape, 3)
    mixed = (1 - OVERLAY_ALPHA) * rgb + OVERLAY_ALPHA * heat
    alpha = np.ones((*mixed.shape[:2], 1))
    return (np.concatenate([mixed, alpha], -1) * 255).round().astype(np.uint8)


def captioned(pixmap_label: QLabel, caption: str) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(pixmap_label, 0, Qt.AlignmentFlag.AlignHCenter)
    text = QLabel(caption, wordWrap=True, alignment=Qt.AlignmentFlag.AlignHCenter)
    text.setFont(theme.ui_font(8.5))
    column.addWidget(text)
    return box


def _picture() -> QLabel:
    """A label for a picture that does not hold the tab at its width: the pictures are
    scaled to the room the tab has (``ExplainView.picture_sizes``), so they may shrink."""
    label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(PICTURE // 2)
    return label


class ExplainView(AnalysisView):
    title = "Explaining one image"
    empty_text = "Nothing analysed yet: Run… asks for an image to explain."
    key = "explain"
    needs_run = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.top_k = QLabel(alignment=Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.top_k.setTextFormat(Qt.TextFormat.RichText)
        self.pictures: dict[str, QLabel] = {}
        self.rendered: dict[str, QPixmap] = {}  # the pictures at their own size, by key

    def draw(self, result: Any, context: dict[str, Any]) -> None:
        segmenter = getattr(result, "scores", "probability") != "probability"
        ranked = (f"the {len(result.classes)} classes covering most pixels" if segmenter else
                  f"the network's top {len(result.classes)} predictions")
        target = (f"the pixels predicted as ‘{result.target}’" if segmenter else
                  f"‘{result.target}’")
        self.note.setText(
            f"{context.get('source', 'image')}: {ranked}; Grad-CAM on {result.gradcam_layer} "
            f"and {result.method.replace('_', ' ')} for {target} (both scaled to 0–1); "
            "the first channels of each stage's feature maps, each channel scaled to its own "
            "range.")
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None and widget is not self.top_k:
                widget.deleteLater()
        self.pictures = {key: _picture() for key in ("image", "gradcam", "attribution")}
        captions = ("input, as fitted to the network", f"Grad-CAM for ‘{result.target}’",
                    result.method.replace("_", " "))
        for column, (label, caption) in enumerate(zip(self.pictures.values(), captions)):
            self.grid.addWidget(captioned(label, caption), 0, column)
        self.top_k.setText(self._ranking(result))
        self.grid.addWidget(self.top_k, 0, 3)
        self._add_feature_maps(result)
        self.rendered = self._render(result)
        self._scale_pictures()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.result is not None and self.pictures:
            self._scale_pictures()

    def picture_sizes(self) -> tuple[int, int]:
        """The pictures' and the feature mosaics' heights for the tab's width: at least
        PICTURE and FEATURES, growing with the room up to LARGEST times those; a mosaic is
        never taller than the pictures."""
        width = self.body.width()
        stages = max(1, len(self.result.feature_maps))
        picture = int(min(max((width - TOP_K_ROOM) / 3.3, PICTURE), PICTURE * LARGEST))
        features = int(min(max(width / stages - 24, FEATURES), FEATURES * LARGEST, picture))
        return picture, features

    def _render(self, result: Any) -> dict[str, QPixmap]:
        """Each picture colour-mapped once, at the analysis's own resolution: a resize only
        scales these (as a fresh render at that height would, FastTransformation)."""
        from ...analysis.figures import mosaic

        def own(pixmap_of, values, *args) -> QPixmap:
            return pixmap_of(values, *args, values.shape[0])

        rendered = {"image": own(rgb_pixmap, result.image),
                    "gradcam": own(rgba_pixmap, gradcam_overlay(result.image, result.gradcam)),
                    "attribution": own(scalar_pixmap, result.attribution, "inferno")}
        for name, maps in result.feature_maps.items():
            rendered[f"stage:{name}"] = own(scalar_pixmap, mosaic(maps), "viridis")
        return rendered

    def _scale_pictures(self) -> None:
        picture, features = self.picture_sizes()
        for key, pixmap in self.rendered.items():
            height = features if key.startswith("stage:") else picture
            self.pictures[key].setPixmap(
                pixmap.scaledToHeight(height, Qt.TransformationMode.FastTransformation))

    def _ranking(self, result: Any) -> str:
        rows = "".join(f"<tr><td>{i + 1}.&nbsp;</td><td>{c}&nbsp;&nbsp;</td>"
                       f"<td align='right'>{p:.1%}</td></tr>"
                       for i, (c, p) in enumerate(zip(result.classes, result.probabilities)))
        scores = getattr(result, "scores", "probability")  # a segmenter's: pixel share
        by = "" if scores == "probability" else f" by {scores}"
        return f"<b>Top {len(result.classes)}{by}</b><table>{rows}</table>"

    def _add_feature_maps(self, result: Any) -> None:
        stages = QWidget()
        row = QGridLayout(stages)
        row.setContentsMargins(0, 6, 0, 0)
        for column, (name, maps) in enumerate(result.feature_maps.items()):
            label = _picture()
            self.pictures[f"stage:{name}"] = label
            row.addWidget(captioned(label, f"{name}: {len(maps)} channels, "
                                           f"{maps.shape[1]}×{maps.shape[2]}"), 0, column)
        self.grid.addWidget(stages, 1, 0, 1, 4)

    def export(self, folder: Path) -> list[Path]:
        from ...analysis.common import write_json
        from ...analysis.figures import explain_figure

        write_json(folder / "explain.json", {"image": self.context.get("source", ""),
                                             **self.result.to_json()})
        png = explain_figure(self.result, folder / "explain.png", self.context["title"])
        return [png, folder / "explain.json"]
