"""Segmentation folders, Pascal VOC style: ``FOLDER/images/NAME.jpg|png`` and
``FOLDER/masks/NAME.png``.

A mask is a palette PNG whose palette indices are the class ids (as VOC's
``SegmentationClass`` files are), a grey PNG whose values are the class ids, or a 1-bit PNG
(background 0, foreground 1); 255 marks pixels
to ignore (VOC draws object outlines with it). An optional ``FOLDER/classes.txt`` names the
classes, one a line, line number = class id (the first is the background); without it the
classes are those up to the largest id found, named by number. Reading checks every pair up
front — each image has its mask, the sizes agree, every id is a known class — and says in one
DataError which file and image are wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import DataError
from ..images import ImageTooLargeError, open_image
from .sample import IGNORE, IMG_EXTENSIONS, DenseSample, image_size, no_boxes, read_pixels

MAX_CLASSES = IGNORE  # ids 0…254; 255 is "ignore"
_MASK_MODES = ("P", "L", "1")  # palette, grey, 1-bit (0/1)


@dataclass(frozen=True)
class MaskPair:
    """One image file and its mask file."""

    image: Path
    mask: Path


@dataclass(frozen=True)
class MaskSet:
    """A read segmentation folder: its image/mask pairs and class names (index = class id)."""

    folder: Path
    pairs: tuple[MaskPair, ...]
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.pairs)

    def subset(self, indices: Sequence[int]) -> MaskSet:
        """The same set holding only the pairs at ``indices`` (e.g. from ``split_indices``)."""
        return replace(self, pairs=tuple(self.pairs[i] for i in indices))

    def load(self, index: int, channels: int = 3) -> DenseSample:
        """Pair ``index`` decoded: the image and its uint8 H×W mask of class ids."""
        pair = self.pairs[index]
        boxes, labels = no_boxes()
        mask = read_mask(pair.mask, len(self.class_names), pair.image.name)
        return DenseSample(read_pixels(pair.image, channels), boxes, labels, mask=mask,
                           name=str(pair.image))


def read_masks(folder: str | Path) -> MaskSet:
    """Read and check a segmentation folder (see the module docstring)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"segmentation folder {folder} does not exist or is not a folder")
    pairs = _pairs(folder)
    named = _class_file(folder / "classes.txt")
    limit = len(named) if named else MAX_CLASSES
    highest = max(_check_pair(pair, limit) for pair in pairs)
    names = named or tuple(["background"] + [f"class {i}" for i in range(1, highest + 1)])
    return MaskSet(folder, pairs, names)


def _pairs(folder: Path) -> tuple[MaskPair, ...]:
    images_dir, masks_dir = folder / "images", folder / "masks"
    for sub in (images_dir, masks_dir):
        if not sub.is_dir():
            raise DataError(f"segmentation folder {folder} needs an images/ and a masks/ "
                            f"sub-folder; {sub} is missing")
    images = sorted(p for p in images_dir.iterdir() if p.is_file() and not p.name.startswith(".")
                    and p.name.lower().endswith(IMG_EXTENSIONS))
    if not images:
        raise DataError(f"{images_dir} holds no images ({', '.join(IMG_EXTENSIONS)})")
    pairs = []
    for image in images:
        mask = masks_dir / f"{image.stem}.png"
        if not mask.is_file():
            raise DataError(f"image {image}: its mask {mask} is missing; add it or remove the "
                            "image")
        pairs.append(MaskPair(image, mask))
    return tuple(pairs)


def _class_file(path: Path) -> tuple[str, ...]:
    """The names in ``classes.txt`` (blank lines and surrounding spaces dropped), or ()."""
    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}); it should list class names, one a line") \
            from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not 2 <= len(names) <= MAX_CLASSES:
        raise DataError(f"{path} names {len(names)} class(es); list between 2 and {MAX_CLASSES}, "
                        "the background first")
    return names


def _check_pair(pair: MaskPair, classes: int) -> int:
    """The largest class id in the pair's mask, after checking its size against the image's."""
    width, height = image_size(pair.image)
    mask = read_mask(pair.mask, classes, pair.image.name)
    if mask.shape != (height, width):
        raise DataError(f"mask {pair.mask} is {mask.shape[1]}×{mask.shape[0]} but its image "
                        f"{pair.image.name} is {width}×{height}; masks must match their images")
    ids = mask[mask != IGNORE]
    return int(ids.max()) if ids.size else 0


def read_mask(path: Path, classes: int, image: str) -> np.ndarray:
    """A mask PNG as uint8 H×W class ids; DataError naming it (and its ``image``) when it is no
    palette or grey image, or holds an id of ``classes`` or more (other than IGNORE)."""
    try:
        with open_image(path) as img:
            if img.mode not in _MASK_MODES:
                raise DataError(f"mask {path} (image {image}) is an image of mode {img.mode}; "
                                "a mask is a palette or grey PNG whose values are class ids")
            mask = np.array(img, dtype=np.uint8)
    except (ImageTooLargeError, DataError):
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read mask {path} (image {image}): {exc}") from exc
    bad = mask[(mask >= classes) & (mask != IGNORE)]
    if bad.size:
        raise DataError(f"mask {path} (image {image}) holds class id {int(bad.max())}, but "
                        f"there are only {classes} classes (ids 0–{classes - 1}, {IGNORE} = "
                        "ignore); fix the mask or name more classes in classes.txt")
    return mask
