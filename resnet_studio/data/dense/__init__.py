"""Data for dense tasks — object detection and semantic segmentation — beside the
classification sets: the built-in synthetic shapes, COCO-style detection folders, image + mask
segmentation folders, fitting to the network's input and augmentation that moves boxes and
masks with the image.

Readers and transforms work on ``DenseSample`` arrays (numpy); the datasets turn them into
tensors in torchvision's reference form. Names load on first use (PEP 562), like ``data``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import lazy_exports

_EXPORTS = {
    "coco": ("CocoSet", "read_coco"),
    "dataset": ("CocoDataset", "DenseDataset", "MaskDataset", "ShapesDataset",
                "collate_detection", "collate_segmentation"),
    "sample": ("IGNORE", "DenseSample", "DenseSource", "split_indices"),
    "synthetic": ("CLASS_NAMES", "ShapesSource", "draw_shapes"),
    "transforms": ("DenseAugment", "augment_sample", "crop", "fit_sample", "hflip", "resize"),
    "voc": ("MaskSet", "read_masks"),
}

__all__ = ["CLASS_NAMES", "IGNORE", "CocoDataset", "CocoSet", "DenseAugment", "DenseDataset",
           "DenseSample", "DenseSource", "MaskDataset", "MaskSet", "ShapesDataset",
           "ShapesSource", "augment_sample", "collate_detection", "collate_segmentation", "crop",
           "draw_shapes", "fit_sample", "hflip", "read_coco", "read_masks", "resize",
           "split_indices"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .coco import CocoSet, read_coco
    from .dataset import (
        CocoDataset,
        DenseDataset,
        MaskDataset,
        ShapesDataset,
        collate_detection,
        collate_segmentation,
    )
    from .sample import IGNORE, DenseSample, DenseSource, split_indices
    from .synthetic import CLASS_NAMES, ShapesSource, draw_shapes
    from .transforms import DenseAugment, augment_sample, crop, fit_sample, hflip, resize
    from .voc import MaskSet, read_masks
