"""What the network will be fed, from the data itself: a grid of real samples with their
labels, the images per class, one input at the size the network sees, and the augmented
batch as training draws it.

``load_samples`` runs on a worker thread (it loads the dataset with torch); ``Samples`` holds
plain NumPy arrays and numbers that the GUI draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

PER_CLASS = 4      # samples shown for each class
MAX_CLASSES = 10   # classes shown in the grid (CIFAR-100 has a hundred)
AUGMENTED = 8      # images of the augmented batch shown


@dataclass
class Samples:
    """Images are H×W×C floats in [0, 1] (C = 1 or 3), as the network sees them after the fit
    (un-normalised for display)."""

    name: str
    shape: tuple[int, int, int]
    class_names: list[str]
    train_counts: list[int]
    val_counts: list[int]
    fit: str
    grid: list[tuple[np.ndarray, str]] = field(default_factory=list)
    augmented: list[np.ndarray] = field(default_factory=list)
    augmentation: dict[str, Any] = field(default_factory=dict)
    augment_on: bool = False
    notes: list[str] = field(default_factory=list)


def load_samples(config: Any, target: tuple[int, int, int] | None) -> Samples:
    """Load ``config`` (a ``DataConfig``) as training would for a network whose input is
    ``target`` and pick what the Data workspace shows (runs on a worker thread)."""
    import torch

    from ...data import load_data

    # batches of one: any dataset with a training image has a batch, and the loops below
    # stop as soon as they have what they show
    bundle = load_data(config, batch_size=1, device="cpu", target=target)
    info = bundle.info
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)

    def shown(x: torch.Tensor) -> list[np.ndarray]:
        pictures = (x.float() * std + mean).clamp(0, 1).permute(0, 2, 3, 1)
        return list(pictures.numpy())

    if getattr(info, "task", "classification") != "classification":
        return _dense_samples(bundle, config, shown)
    x, y = _per_class(bundle.val, info.classes)
    augmented = torch.cat([x for x, _ in islice(bundle.train.epoch(0), AUGMENTED)])
    return Samples(info.name, (info.channels, info.height, info.width), list(info.class_names),
                   list(info.train_counts), list(info.val_counts), info.fit,
                   list(zip(shown(x), (info.class_names[int(c)] for c in y))),
                   shown(augmented), dict(info.augmentation),
                   bool(config.augment), list(info.notes))


def _dense_samples(bundle: Any, config: Any, shown: Any) -> Samples:
    """A dense set: validation images with their boxes or masks drawn, captioned with the
    classes they show (no per-class counts: an image holds several objects)."""
    from .dense_samples import dense_pictures

    info = bundle.info
    grid, augmented = dense_pictures(bundle, shown)
    drawn = "boxes" if info.task == "detection" else "masks"
    note = (f"· {info.train_size:,} training and {info.val_size:,} validation images; their "
            f"{drawn} drawn in each class's colour.")
    return Samples(info.name, (info.channels, info.height, info.width), list(info.class_names),
                   [], [], info.fit, grid, augmented, dict(info.augmentation),
                   bool(config.augment), [*info.notes, note])


def _per_class(batches: Any, classes: int) -> tuple[Any, Any]:
    """Up to ``PER_CLASS`` images of each of the first ``MAX_CLASSES`` classes, in class
    order, from the first batches of ``batches`` (not augmented: the validation split)."""
    import torch

    wanted = min(classes, MAX_CLASSES)
    picked: dict[int, list[torch.Tensor]] = {c: [] for c in range(wanted)}
    for x, y in batches.epoch(0):
        for image, label in zip(x, y.tolist()):
            if label < wanted and len(picked[label]) < PER_CLASS:
                picked[label].append(image)
        if all(len(v) == PER_CLASS for v in picked.values()):
            break
    images = [(img, c) for c in range(wanted) for img in picked[c]]
    return (torch.stack([i for i, _ in images]),
            torch.tensor([c for _, c in images])) if images else (torch.empty(0), [])
