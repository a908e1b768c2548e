"""The Data workspace's samples of a dense set: validation images with their boxes drawn as
class-coloured outlines (detection) or their masks as translucent class colour
(segmentation), and the augmented training batch drawn the same way, so that one sees the
augmentation move the boxes and masks with the image.

Plain NumPy drawing (runs on the loader's worker thread); the colours are the Train
workspace's prediction colours, so a class looks the same in both places.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import numpy as np

from ..widgets.class_colours import class_hex

GRID = 16        # validation images shown
AUGMENTED = 8    # images of the augmented batch shown
MASK_ALPHA = 0.45


def _rgb(class_id: int) -> np.ndarray:
    code = class_hex(class_id).lstrip("#")
    return np.array([int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])


def _colour(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image.copy()


def draw_boxes(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``image`` (H×W×C in [0, 1]) as RGB with each box (x1, y1, x2, y2 pixels) outlined one
    pixel wide in its class's colour."""
    out = _colour(image)
    h, w = out.shape[:2]
    for (x1, y1, x2, y2), label in zip(np.asarray(boxes).reshape(-1, 4), labels):
        left, top = int(np.clip(np.floor(x1), 0, w - 1)), int(np.clip(np.floor(y1), 0, h - 1))
        right = int(np.clip(np.ceil(x2) - 1, left, w - 1))
        bottom = int(np.clip(np.ceil(y2) - 1, top, h - 1))
        colour = _rgb(int(label))
        out[top, left:right + 1] = out[bottom, left:right + 1] = colour
        out[top:bottom + 1, left] = out[top:bottom + 1, right] = colour
    return out


def draw_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` as RGB with every pixel of class id 1… blended with its class's colour
    (the background and ignored pixels, 255, stay as they are)."""
    out = _colour(image)
    for class_id in np.unique(mask):
        if 0 < class_id < 255:
            where = mask == class_id
            out[where] = (1 - MASK_ALPHA) * out[where] + MASK_ALPHA * _rgb(int(class_id))
    return out


def _drawn(task: str, images: list[np.ndarray], targets: Any) -> list[tuple[np.ndarray, set]]:
    """Each image with its targets drawn, and the class ids it shows."""
    result = []
    for index, image in enumerate(images):
        if task == "segmentation":
            mask = targets[index].cpu().numpy()
            result.append((draw_mask(image, mask), set(np.unique(mask).tolist()) - {0, 255}))
        else:
            boxes = targets[index]["boxes"].cpu().numpy()
            labels = targets[index]["labels"].cpu().numpy()
            result.append((draw_boxes(image, boxes, labels), set(labels.tolist())))
    return result


def _first(batches: Any, count: int, shown) -> tuple[list[np.ndarray], list]:
    images: list[np.ndarray] = []
    targets: list = []
    for x, y in islice(batches.epoch(0), count):
        images += shown(x)
        targets += list(y)
    return images[:count], targets[:count]


def dense_pictures(bundle: Any, shown) -> tuple[list[tuple[np.ndarray, str]],
                                                 list[np.ndarray]]:
    """The grid (image with its targets drawn, caption naming its classes) and the augmented
    batch drawn the same way."""
    info = bundle.info
    names = list(info.class_names)
    grid = _drawn(info.task, *_first(bundle.val, GRID, shown))
    augmented = _drawn(info.task, *_first(bundle.train, AUGMENTED, shown))
    captions = [", ".join(names[c] for c in sorted(ids)) or "no objects" for _, ids in grid]
    return ([(image, caption) for (image, _), caption in zip(grid, captions)],
            [image for image, _ in augmented])
