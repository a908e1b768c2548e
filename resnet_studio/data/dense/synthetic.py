"""The built-in shapes set for detection and segmentation: offline, any size, seeded.

Each image holds one to three shapes — a square, a disc or a triangle — that do not overlap
(their boxes keep a pixel apart), each in a random colour that stands off the background, with
pixel noise over the whole image.
Shapes are drawn with hard edges from pixel-centre tests, so every target is exact: the
semantic mask holds each shape's class id, the instance masks one plane per shape, and each box
is the tight pixel-edge box of its shape's mask pixels. Image ``i`` is drawn from a generator
seeded by (seed, i) alone, so a sample is the same whatever the set's length or the order it is
asked for in; the validation split is an independent stream for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import DataError
from .sample import DenseSample, boxes_from_masks

CLASS_NAMES: tuple[str, ...] = ("background", "square", "disc", "triangle")
MAX_SHAPES = 3
MIN_SIZE, MAX_SIZE = 16, 512
SPLITS = {"train": 31, "val": 32}  # split → generator stream: the same seed, independent images
_PLACEMENT_TRIES = 20
_NOISE = 10.0  # standard deviation of the background noise, in 0…255 levels
_MIN_CONTRAST = 80  # summed |shape colour − background colour| over the channels, at least


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.ones(np.broadcast_shapes(u.shape, v.shape), bool)


def _disc(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Apex at the top centre, base along the bottom edge."""
    return np.abs(u - 0.5) <= v / 2


#: Class id (1, 2, 3) − 1 → inside test on pixel centres in the shape's unit square.
_SHAPES: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (_square, _disc, _triangle)


@dataclass(frozen=True)
class ShapesSource:
    """``count`` images of the shapes set for (``seed``, ``split``), drawn on demand."""

    count: int = 300
    seed: int = 0
    height: int = 64
    width: int = 64
    split: str = "train"
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        check_size(self.height, self.width)
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise DataError(f"synthetic shapes count must be a whole number ≥ 1, not "
                            f"{self.count!r}")
        _check_split(self.split)

    def __len__(self) -> int:
        return self.count

    def load(self, index: int, channels: int = 3) -> DenseSample:
        """Image ``index`` (RGB; the dataset converts ``channels``)."""
        return draw_shapes(index, self.seed, self.height, self.width, self.split)


def check_size(height: int, width: int) -> None:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or \
                not MIN_SIZE <= value <= MAX_SIZE:
            raise DataError(f"synthetic shapes {name} must be a whole number between "
                            f"{MIN_SIZE} and {MAX_SIZE}, not {value!r}")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"synthetic shapes split must be one of {', '.join(SPLITS)}, "
                        f"not {split!r}")


def draw_shapes(index: int, seed: int = 0, height: int = 64, width: int = 64,
                split: str = "train") -> DenseSample:
    """Image ``index`` of the shapes set for ``seed`` and ``split``: RGB, with boxes, labels
    and both masks."""
    check_size(height, width)
    _check_split(split)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"synthetic shapes seed must be a whole number ≥ 0, not {seed!r}")
    rng = np.random.default_rng((seed, SPLITS[split], index))
    background = rng.integers(0, 256, 3)
    image = np.broadcast_to(background, (height, width, 3)).astype(np.float64)
    planes, labels = [], []
    for top, left, side in _place(rng, height, width, int(rng.integers(1, MAX_SHAPES + 1))):
        label = int(rng.integers(1, len(_SHAPES) + 1))
        plane = _plane(label, top, left, side, height, width)
        image[plane] = _colour(rng, background)
        planes.append(plane)
        labels.append(label)
    image += rng.normal(0.0, _NOISE, image.shape)
    masks = np.stack(planes).astype(np.uint8)
    mask = (masks * np.array(labels, np.uint8)[:, None, None]).max(0).astype(np.uint8)
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return DenseSample(pixels, boxes_from_masks(masks), np.array(labels, np.int64), mask, masks,
                       f"synthetic shapes {split} image {index}")


def _place(rng: np.random.Generator, height: int, width: int,
           count: int) -> list[tuple[int, int, int]]:
    """Up to ``count`` squares (top, left, side) that keep a pixel apart; at least one."""
    short = min(height, width)
    lo, hi = max(5, short // 6), max(6, short * 2 // 5)
    placed: list[tuple[int, int, int]] = []
    for _ in range(count * _PLACEMENT_TRIES):
        if len(placed) == count:
            break
        side = int(rng.integers(lo, hi + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        if not any(_near(top, left, side, other) for other in placed):
            placed.append((top, left, side))
    return placed


def _near(top: int, left: int, side: int, other: tuple[int, int, int]) -> bool:
    """Whether two squares overlap or touch (less than one pixel between them)."""
    o_top, o_left, o_side = other
    return (top < o_top + o_side + 1 and o_top < top + side + 1
            and left < o_left + o_side + 1 and o_left < left + side + 1)


def _plane(label: int, top: int, left: int, side: int, height: int, width: int) -> np.ndarray:
    """The shape's pixels as an H×W bool plane (pixel centres tested in its unit square)."""
    centres = (np.arange(side) + 0.5) / side
    inside = _SHAPES[label - 1](centres[None, :], centres[:, None])
    plane = np.zeros((height, width), bool)
    plane[top: top + side, left: left + side] = inside
    return plane


def _colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random colour at least _MIN_CONTRAST away from the background (summed over RGB)."""
    while True:
        colour = rng.integers(0, 256, 3)
        if np.abs(colour - background).sum() >= _MIN_CONTRAST:
            return colour.astype(np.float64)
