"""One dense-task sample as plain arrays, and the pixel reading every dense reader shares.

Boxes are in pixel-edge coordinates, ``[x1, y1, x2, y2]`` with ``0 <= x1 < x2 <= W``: a shape
covering columns 2…9 has ``x1 = 2, x2 = 10``, so a horizontal flip maps ``x`` to ``W - x``
and a resize by ``s`` maps it to ``s·x`` exactly (torchvision's detection models read boxes
this way). Labels start at 1; 0 is the background. A semantic ``mask`` holds class ids with
``IGNORE`` (255, as in Pascal VOC) for pixels no loss should count; instance ``masks`` hold one
0/1 plane per box.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import DataError
from ..images import ImageTooLargeError, open_image

IGNORE = 255
#: torchvision's ImageFolder extensions, spelled out so the readers need no torch.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class DenseSample:
    """An image with its targets: what readers produce and transforms consume.

    ``image`` is uint8 H×W×C; ``boxes`` float32 N×4 (xyxy, pixels); ``labels`` int64 N;
    ``mask`` uint8 H×W class ids or None; ``masks`` uint8 N×H×W instance masks or None.
    ``name`` says where the sample came from, for messages.
    """

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    mask: np.ndarray | None = None
    masks: np.ndarray | None = None
    name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    def with_(self, **changes) -> DenseSample:
        return replace(self, **changes)


class DenseSource(Protocol):
    """What a dense dataset reads from: the synthetic shapes, a COCO set, a mask folder."""

    class_names: tuple[str, ...]

    def __len__(self) -> int: ...

    def load(self, index: int, channels: int = 3) -> DenseSample: ...


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random train/validation split of ``count`` items: ``val_fraction`` of them
    (at least one, never all) for validation; both lists sorted."""
    if count < 2:
        raise DataError(f"splitting off validation images needs at least two images, not {count}")
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be strictly between 0 and 1, not {val_fraction:g}")
    order = np.random.default_rng((seed, 41)).permutation(count)
    held = min(count - 1, max(1, round(count * val_fraction)))
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def no_boxes() -> tuple[np.ndarray, np.ndarray]:
    """Empty boxes (0×4 float32) and labels (int64), the form of an image with no objects."""
    return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """The tight pixel-edge box of each N×H×W mask's pixels (all zeros for an empty mask)."""
    out = np.zeros((len(masks), 4), np.float32)
    for i, plane in enumerate(masks):
        rows, cols = np.nonzero(plane.any(1))[0], np.nonzero(plane.any(0))[0]
        if len(rows):
            out[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return out


def read_pixels(path: str | Path, channels: int) -> np.ndarray:
    """An image file as uint8 H×W×channels (1: grey, 3: RGB); DataError naming it otherwise."""
    try:
        with open_image(path) as img:
            pixels = np.array(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    except ImageTooLargeError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path} ({exc}); replace or remove the file") from exc
    return pixels[:, :, None] if channels == 1 else pixels


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from an image file's header, without decoding its pixels."""
    try:
        with open_image(path) as img:
            return img.width, img.height
    except ImageTooLargeError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path} ({exc}); replace or remove the file") from exc


def box_text(box) -> str:
    """"[2, 3, 10, 12]" — numbers as short as they are exact."""
    return "[" + ", ".join(f"{float(v):g}" for v in box) + "]"
