"""Fitting and augmentation that move boxes and masks with the image.

Fitting resizes a sample to the network's input (H×W) and channels, as ``data/fit.py`` does
for in-memory classification sets: the image bilinear (antialiased when shrinking), boxes
scaled by the same factors, masks by nearest neighbour so class ids stay class ids.
Augmentation is a horizontal flip and a random crop of the zero-padded image back to its size
(offsets uniform in ``[0, 2·padding]``, like torchvision's ``RandomCrop(size, padding)`` and
the classification path's ``crop_flip``). Cropping clips boxes to the window and drops those
that keep less than ``MIN_BOX`` pixel of width or height, with their labels and instance masks
(as torchvision's ``SanitizeBoundingBoxes``); where instance masks exist each kept box is
tightened to its mask's visible pixels. Padding is ``IGNORE`` in a semantic mask, as in
torchvision's segmentation reference. Every random number comes from the ``numpy`` generator
passed in, so a seeded generator gives the same sample every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .sample import IGNORE, DenseSample, boxes_from_masks

MIN_BOX = 1.0
_LUMA = np.array((0.299, 0.587, 0.114))


@dataclass(frozen=True)
class DenseAugment:
    """Which augmentations a training split applies to dense samples (all off: evaluation)."""

    crop_padding: int = 0
    flip: bool = False

    @property
    def active(self) -> bool:
        return bool(self.crop_padding or self.flip)

    def describe(self) -> str:
        parts = [f"random crop (padding {self.crop_padding})" if self.crop_padding else "",
                 "horizontal flip" if self.flip else ""]
        return ", ".join(p for p in parts if p)


# ----- fitting --------------------------------------------------------------------------------
def fit_sample(sample: DenseSample, shape: tuple[int, int, int]) -> DenseSample:
    """``sample`` at C×H×W ``shape``: channels converted, then resized (see ``resize``)."""
    channels, height, width = shape
    return resize(sample.with_(image=convert_channels(sample.image, channels)), height, width)


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """uint8 H×W×C as H×W×``channels``: RGB → grey by BT.601 luma, grey → RGB by repeating."""
    have = image.shape[2]
    if have == channels:
        return image
    if channels == 1:
        grey = (image[:, :, :3].astype(np.float64) * _LUMA).sum(2, keepdims=True)
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return np.repeat(image[:, :, :1], channels, axis=2)


def resize(sample: DenseSample, height: int, width: int) -> DenseSample:
    """Resize to ``height``×``width``: boxes × (W'/W, H'/H), masks by nearest neighbour."""
    h, w = sample.size
    if (h, w) == (height, width):
        return sample
    scale = np.array([width / w, height / h] * 2, np.float32)
    return sample.with_(image=_resize_image(sample.image, height, width),
                        boxes=(sample.boxes * scale).astype(np.float32),
                        mask=_nearest(sample.mask, height, width),
                        masks=_nearest(sample.masks, height, width))


def _resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    planes = [np.asarray(Image.fromarray(image[:, :, c]).resize(
        (width, height), Image.Resampling.BILINEAR)) for c in range(image.shape[2])]
    return np.stack(planes, axis=2)


def _nearest(mask: np.ndarray | None, height: int, width: int) -> np.ndarray | None:
    """Nearest neighbour on the last two axes: output pixel i reads source pixel
    floor((i + 0.5) · in / out), the pixel whose area holds the output pixel's centre."""
    if mask is None:
        return None
    h, w = mask.shape[-2:]
    rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return np.ascontiguousarray(mask[..., rows[:, None], cols[None, :]])


# ----- augmentation ---------------------------------------------------------------------------
def augment_sample(sample: DenseSample, aug: DenseAugment, rng: np.random.Generator
                   ) -> DenseSample:
    """Random crop (if padding) then a coin-flip horizontal flip (if on)."""
    if aug.crop_padding:
        oy, ox = (int(v) for v in rng.integers(0, 2 * aug.crop_padding + 1, 2))
        sample = crop(sample, aug.crop_padding, oy, ox)
    if aug.flip and rng.random() < 0.5:
        sample = hflip(sample)
    return sample


def hflip(sample: DenseSample) -> DenseSample:
    """Mirror left–right: x becomes W − x, so [x1, y1, x2, y2] becomes [W−x2, y1, W−x1, y2]."""
    width = sample.size[1]
    boxes = sample.boxes.copy()
    boxes[:, 0], boxes[:, 2] = width - sample.boxes[:, 2], width - sample.boxes[:, 0]
    return sample.with_(image=np.ascontiguousarray(sample.image[:, ::-1]), boxes=boxes,
                        mask=_flip(sample.mask), masks=_flip(sample.masks))


def _flip(mask: np.ndarray | None) -> np.ndarray | None:
    return None if mask is None else np.ascontiguousarray(mask[..., ::-1])


def crop(sample: DenseSample, padding: int, top: int, left: int) -> DenseSample:
    """The H×W window at (``top``, ``left``) of the sample padded by ``padding`` on each side.

    A box moves by (padding − left, padding − top), is clipped to the window, and is dropped
    with its label (and instance mask) when less than ``MIN_BOX`` of it remains either way.
    """
    h, w = sample.size
    window = (slice(top, top + h), slice(left, left + w))
    image = _pad(sample.image, padding, 0, axes=(0, 1))[window]
    mask = None if sample.mask is None else _pad(sample.mask, padding, IGNORE)[window]
    masks = None if sample.masks is None else _pad(sample.masks, padding, 0)[(..., *window)]
    shift = np.array([padding - left, padding - top] * 2, np.float32)
    boxes = clip_boxes(sample.boxes + shift, h, w)
    if masks is not None:
        boxes = _tighten(boxes, masks)
    keep = box_keep(boxes)
    return sample.with_(image=image, boxes=boxes[keep], labels=sample.labels[keep], mask=mask,
                        masks=None if masks is None else masks[keep])


def _tighten(boxes: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Each box cut down to its mask's visible pixels; a mask with none left gives an empty
    box (dropped by ``box_keep``)."""
    tight = boxes_from_masks(masks)
    return np.concatenate([np.maximum(boxes[:, :2], tight[:, :2]),
                           np.minimum(boxes[:, 2:], tight[:, 2:])], axis=1)


def _pad(array: np.ndarray, padding: int, value: int, axes: tuple[int, int] = (-2, -1)
         ) -> np.ndarray:
    if not padding:
        return array
    widths = [(0, 0)] * array.ndim
    for axis in axes:
        widths[axis] = (padding, padding)
    return np.pad(array, widths, constant_values=value)


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boxes clipped to [0, W] × [0, H] (float32)."""
    limits = np.array([width, height] * 2, np.float32)
    return np.clip(boxes, 0, limits).astype(np.float32)


def box_keep(boxes: np.ndarray, min_size: float = MIN_BOX) -> np.ndarray:
    """Which boxes keep at least ``min_size`` pixels of width and of height."""
    return ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
