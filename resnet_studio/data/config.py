"""What to train on: the data configuration, its validation, and the dataset catalogue.

``DataConfig`` is a frozen, JSON-serialisable dataclass so that it can travel inside a training
configuration, a checkpoint and a run directory unchanged. ``validate()`` checks every field
and raises a ``DataError`` whose message names the field and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

FOLDER_PREFIX = "folder:"
COCO_PREFIX = "coco:"
MASKS_PREFIX = "masks:"
SHAPES_DETECTION, SHAPES_SEGMENTATION = "shapes-detection", "shapes-segmentation"
#: The dense sets: name (or folder prefix) → the task it trains. Everything else classifies.
DENSE_TASKS = {SHAPES_DETECTION: "detection", SHAPES_SEGMENTATION: "segmentation",
               COCO_PREFIX: "detection", MASKS_PREFIX: "segmentation"}

#: Dataset name → one-line description (for combo boxes and ``--help``). ``folder:PATH`` is a
#: template: the dataset is any image folder, named by its path after the prefix.
DATASETS: dict[str, str] = {
    "synthetic": "built-in procedurally drawn shapes and textures; offline, any size (default)",
    "mnist": "MNIST handwritten digits, 28×28 grey, 10 classes (torchvision)",
    "fashion_mnist": "Fashion-MNIST clothing, 28×28 grey, 10 classes (torchvision)",
    "cifar10": "CIFAR-10 objects, 32×32 colour, 10 classes (torchvision)",
    "cifar100": "CIFAR-100 objects, 32×32 colour, 100 classes (torchvision)",
    "svhn": "SVHN street-view house numbers, 32×32 colour, 10 classes (torchvision, needs scipy)",
    FOLDER_PREFIX + "PATH": "any image folder laid out PATH/<class>/<image>.png (ImageFolder)",
    SHAPES_DETECTION: "built-in shapes with boxes (square, disc, triangle) for detection; "
                      "offline, any size",
    SHAPES_SEGMENTATION: "built-in shapes with masks (square, disc, triangle) for "
                         "segmentation; offline, any size",
    COCO_PREFIX + "PATH": "a COCO-style detection folder: PATH/images/ and "
                          "PATH/annotations.json (instances format)",
    MASKS_PREFIX + "PATH": "an image + mask segmentation folder: PATH/images/, PATH/masks/ "
                           "(palette or grey PNGs of class ids), optional PATH/classes.txt",
}

#: How images that differ from the network's input are treated: converted to its size and
#: channels ("network"), or served as they are ("none"; folders and the synthetic set then use
#: ``image_size`` and ``channels``).
FITS = ("network", "none")
TORCHVISION_SETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn")
SEED_LIMIT = 2**63 - 1


class DataError(Exception):
    """Every user-facing data failure: the message says what went wrong and what to do."""


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to load and how to augment it.

    ``fit="network"`` serves every dataset at the network's input size and channels (see
    ``fit.py``); ``image_size`` and ``channels`` then apply only where the network adapts to
    the data (a preset trained by name).
    ``flip=None`` means the dataset's default: off for digit sets and for image folders (flipping
    digits or text makes other symbols), on for the synthetic set and object photographs.
    ``subset`` trains on a seeded, class-balanced subset of that many training images, for any
    dataset (the validation split stays whole): a study on real data at a CPU's budget.
    ``in_memory=None`` decides by size: image folders whose decoded pixels take less than
    ``memory_limit_gib`` are held as tensors on the training device, larger ones are streamed
    through a ``DataLoader`` with ``workers`` processes (``None``: a few, by CPU count).

    Dense sets (``task`` detection or segmentation): the built-in shapes take ``train_size``
    and ``val_size``; a ``coco:PATH`` or ``masks:PATH`` folder splits off ``val_fraction``
    (or reads ``val_folder``, a folder of the same kind). Their augmentation is a random crop
    of ``crop_padding`` and a horizontal flip (``flip``, on unless set off) that move boxes and
    masks with the image; cutout, colour jitter and ``subset`` are classification-only.
    """

    dataset: str = "synthetic"
    root: str = "data"
    download: bool = False
    val_fraction: float = 0.1
    val_folder: str | None = None
    train_size: int = 2000
    val_size: int = 500
    subset: int | None = None
    image_size: int = 32
    channels: int = 3
    classes: int = 10
    fit: str = "network"
    augment: bool = True
    crop_padding: int = 4
    flip: bool | None = None
    cutout: int = 0
    color_jitter: float = 0.0
    seed: int = 0
    in_memory: bool | None = None
    memory_limit_gib: float = 2.0
    workers: int | None = None

    # ----- identity ---------------------------------------------------------------------------
    @property
    def is_folder(self) -> bool:
        return self.dataset.startswith(FOLDER_PREFIX)

    @property
    def folder(self) -> str:
        """The image folder path of a ``folder:PATH`` dataset."""
        return self.dataset[len(FOLDER_PREFIX):] if self.is_folder else ""

    @property
    def task(self) -> str:
        """What the dataset trains: "classification", "detection" or "segmentation"."""
        return DENSE_TASKS.get(self._kind(), "classification")

    @property
    def dense_folder(self) -> str:
        """The folder path of a ``coco:PATH`` or ``masks:PATH`` dataset ("" otherwise)."""
        kind = self._kind()
        return self.dataset[len(kind):] if kind in (COCO_PREFIX, MASKS_PREFIX) else ""

    def _kind(self) -> str:
        """The dataset's name, or its prefix for a set named by a path."""
        for prefix in (FOLDER_PREFIX, COCO_PREFIX, MASKS_PREFIX):
            if isinstance(self.dataset, str) and self.dataset.startswith(prefix):
                return prefix
        return self.dataset

    # ----- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        """Rebuild a configuration from ``to_dict()`` output, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise DataError(f"data configuration must be a JSON object, not {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"unknown data setting(s) {', '.join(unknown)}; "
                            f"known settings: {', '.join(sorted(known))}")
        return cls(**data).validate()

    def replace(self, **changes: Any) -> DataConfig:
        return dataclasses.replace(self, **changes)

    # ----- validation -------------------------------------------------------------------------
    def validate(self) -> DataConfig:
        """Check every field; return ``self`` so calls chain, raise ``DataError`` otherwise."""
        self._check_dataset()
        _check_type("root", self.root, str)
        if not self.root:
            raise DataError("root must name a folder for torchvision datasets, e.g. 'data'")
        _check_type("download", self.download, bool)
        _check_type("augment", self.augment, bool)
        if self.fit not in FITS:
            raise DataError(f"fit must be one of {', '.join(FITS)}, not {self.fit!r}")
        _check_optional("flip", self.flip, bool)
        _check_optional("in_memory", self.in_memory, bool)
        _check_optional("val_folder", self.val_folder, str)
        if self.val_folder == "":
            raise DataError("val_folder must be a folder path, or null to split off val_fraction")
        _check_float("val_fraction", self.val_fraction, 0.0, 1.0, open_range=True)
        _check_float("color_jitter", self.color_jitter, 0.0, 1.0)
        _check_float("memory_limit_gib", self.memory_limit_gib, 0.0, 1 << 20, open_range=True)
        self._check_sizes()
        return self

    def _check_dataset(self) -> None:
        _check_type("dataset", self.dataset, str)
        if self.is_folder:
            if not self.folder.strip():
                raise DataError("dataset 'folder:' needs a path after the colon, "
                                "e.g. 'folder:/data/flowers'")
        elif self._kind() in (COCO_PREFIX, MASKS_PREFIX):
            if not self.dense_folder.strip():
                raise DataError(f"dataset '{self._kind()}' needs a path after the colon, "
                                f"e.g. '{self._kind()}/data/shapes'")
        elif self.dataset not in DATASETS:
            names = ", ".join(n for n in DATASETS)
            raise DataError(f"dataset '{self.dataset}' is unknown; choose one of {names}")
        if self.task != "classification":
            self._check_dense()

    def _check_dense(self) -> None:
        """Settings a dense set cannot honour are refused rather than silently ignored."""
        for name, off in (("cutout", 0), ("color_jitter", 0.0), ("subset", None)):
            if getattr(self, name) != off:
                raise DataError(f"{name} is not available for the {self.task} dataset "
                                f"'{self.dataset}'; set it to {off if off is not None else 'null'}")

    def _check_sizes(self) -> None:
        _check_int("train_size", self.train_size, 1, 10_000_000)
        _check_int("val_size", self.val_size, 1, 10_000_000)
        _check_int("image_size", self.image_size, 8, 256)
        _check_int("classes", self.classes, 2, 20)
        _check_int("crop_padding", self.crop_padding, 0, self.image_size // 2)
        _check_int("cutout", self.cutout, 0, self.image_size)
        _check_int("seed", self.seed, 0, SEED_LIMIT)
        if self.workers is not None:
            _check_int("workers", self.workers, 0, 64)
        if self.subset is not None:
            _check_int("subset", self.subset, 1, 10_000_000)
        if self.channels not in (1, 3) or isinstance(self.channels, bool):
            raise DataError(f"channels must be 1 (grey) or 3 (colour), not {self.channels!r}")


def _check_type(name: str, value: Any, kind: type) -> None:
    if not isinstance(value, kind):
        raise DataError(f"{name} must be a {kind.__name__}, not {value!r}")


def _check_optional(name: str, value: Any, kind: type) -> None:
    if value is not None and not isinstance(value, kind):
        raise DataError(f"{name} must be a {kind.__name__} or null, not {value!r}")


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{name} must be a whole number between {lo} and {hi}, not {value!r}")
    if not lo <= value <= hi:
        raise DataError(f"{name} must be between {lo} and {hi}, not {value}")


def _check_float(name: str, value: Any, lo: float, hi: float, *, open_range: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise DataError(f"{name} must be a number between {lo:g} and {hi:g}, not {value!r}")
    inside = lo < value < hi if open_range else lo <= value <= hi
    if not inside:
        bounds = "strictly between" if open_range else "between"
        raise DataError(f"{name} must be {bounds} {lo:g} and {hi:g}, not {value:g}")
