"""``load_data``: from a ``DataConfig`` to training and validation batches on a device."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from .augment import Augment, Normaliser
from .batches import Batches, Sampling, TensorBatches
from .config import TORCHVISION_SETS, DataConfig, DataError
from .fit import Shape, fit_source, served_shape, shape_text
from .folders import load_folder
from .source import Source, Split, channel_stats
from .spec import balanced_indices
from .stream import StreamBatches
from .synthetic import CLASS_NAMES, make_synthetic
from .torchvision_sets import load_torchvision


@dataclass
class DataInfo:
    """What the network and the GUI need to know about the loaded dataset."""

    channels: int
    height: int
    width: int
    classes: int
    class_names: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train_size: int
    val_size: int
    name: str
    in_memory: bool = True
    fit: str = ""                     # what was done to the images, in one line
    notes: list[str] = field(default_factory=list)  # warnings about the data (one class …)
    train_counts: list[int] = field(default_factory=list)  # images per class
    val_counts: list[int] = field(default_factory=list)
    augmentation: dict[str, Any] = field(default_factory=dict)  # what training applies
    task: str = "classification"      # or "detection", "segmentation" (data.dense)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DataBundle:
    train: Batches
    val: Batches
    info: DataInfo


def load_data(cfg: DataConfig, batch_size: int, device: torch.device | str = "cpu", *,
              rank: int = 0, world_size: int = 1, target: Shape | None = None) -> DataBundle:
    """Load the dataset ``cfg`` names and serve it in batches of ``batch_size`` on ``device``.

    With ``world_size > 1`` the training split is sharded for DistributedDataParallel: every
    rank gets a disjoint share of each epoch's permutation and the same number of batches.
    The validation split is not sharded. ``target`` is the network's input (C, H, W) when it
    is known: with ``cfg.fit == "network"`` the images are served at it (see ``fit.py``).
    A dense set (``cfg.task`` detection or segmentation) is served by ``dense.loading``.
    Raises ``DataError`` for every user-facing problem.
    """
    cfg.validate()
    _check_run(batch_size, rank, world_size)
    if cfg.task != "classification":
        from .dense.loading import load_dense

        return load_dense(cfg, batch_size, device, rank=rank, world_size=world_size,
                          target=target)
    source, note = _load_source(cfg, target)
    bundle = serve(source, cfg, batch_size, device, rank=rank, world_size=world_size)
    bundle.info.fit = note
    bundle.info.notes = _notes(source)
    return bundle


def serve(source: Source, cfg: DataConfig, batch_size: int, device: torch.device | str = "cpu",
          *, rank: int = 0, world_size: int = 1) -> DataBundle:
    """Batches of an already loaded ``source`` with ``cfg``'s augmentation and sampling (the
    second half of ``load_data``; benchmarks and tools hand in their own images)."""
    device = torch.device(device)
    norm = Normaliser(source.mean, source.std, device)
    train_sampling = Sampling(cfg.seed, shuffle=True, drop_last=True, rank=rank,
                              world_size=world_size)
    augment = _augment(cfg, source)
    train = _batches(source.train, source, cfg, batch_size, device, norm, augment, train_sampling)
    val = _batches(source.val, source, cfg, batch_size, device, norm, Augment(), Sampling(cfg.seed))
    if len(train) == 0:
        per_rank = source.train.size // world_size
        raise DataError(f"batch_size {batch_size} is larger than the {per_rank} training images "
                        f"each of the {world_size} process(es) gets; lower batch_size or use "
                        "more training data")
    info = _info(source)
    info.augmentation = asdict(augment)
    return DataBundle(train, val, info)


def _check_run(batch_size: int, rank: int, world_size: int) -> None:
    for name, value in (("batch_size", batch_size), ("rank", rank), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DataError(f"{name} must be a whole number, not {value!r}")
    if batch_size < 1:
        raise DataError(f"batch_size must be at least 1, not {batch_size}")
    if world_size < 1 or not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is not one of the {world_size} processes (0 … world_size-1)")


def _load_source(cfg: DataConfig, target: Shape | None) -> tuple[Source, str]:
    """The dataset at the size it is served at (its training subset, when one is asked for),
    and the note saying what was done."""
    if cfg.is_folder:
        source, note = load_folder(cfg, served_shape(cfg, target))
    elif cfg.dataset in TORCHVISION_SETS:
        source, note = fit_source(load_torchvision(cfg), target, cfg)
    else:
        source = _synthetic(cfg, served_shape(cfg, target))
        note = f"synthetic {shape_text(source.shape)} images drawn"
    return _training_subset(source, note, cfg)


def _training_subset(source: Source, note: str, cfg: DataConfig) -> tuple[Source, str]:
    """``source`` with its training split cut to ``cfg.subset`` images, as evenly spread over
    the classes as they allow and drawn from ``cfg.seed``; in-memory statistics are those of
    the images kept."""
    total = source.train.size
    if cfg.subset is None or cfg.subset >= total:
        return source, note
    keep = balanced_indices(source.train.labels.tolist(), cfg.subset, cfg.seed)
    index = torch.tensor(keep, dtype=torch.long)
    split = source.train
    train = Split(split.labels[index], None if split.images is None else split.images[index],
                  [split.files[i] for i in keep] if split.files else [])
    mean, std = channel_stats(train.images) if train.in_memory else (source.mean, source.std)
    kept = replace(source, train=train, mean=mean, std=std)
    return kept, (f"{note}; a class-balanced subset of {len(keep):,} of the {total:,} "
                  "training images")


def _notes(source: Source) -> list[str]:
    if len(source.class_names) == 1:
        return [(f"the dataset has a single class (‘{source.class_names[0]}’): every prediction "
                "is right and accuracy means nothing; give each class its own sub-folder")]
    return []


def _synthetic(cfg: DataConfig, shape: Shape) -> Source:
    channels, size = shape[0], shape[1]
    if shape[1] != shape[2]:
        raise DataError(f"the synthetic set draws square images, but the network takes "
                        f"{shape[1]}×{shape[2]}; set the project's input to a square size")
    args = (size, channels, cfg.classes, cfg.seed)
    train_images, train_labels = make_synthetic(cfg.train_size, *args, split="train")
    val_images, val_labels = make_synthetic(cfg.val_size, *args, split="val")
    mean, std = channel_stats(train_images)
    return Source("synthetic", Split(train_labels, train_images), Split(val_labels, val_images),
                  list(CLASS_NAMES[:cfg.classes]), shape, mean, std, flip=True)


def _augment(cfg: DataConfig, source: Source) -> Augment:
    """Crop and flip follow ``augment``; cutout and colour jitter have their own settings."""
    flip = source.flip if cfg.flip is None else cfg.flip
    return Augment(crop_padding=cfg.crop_padding if cfg.augment else 0,
                   flip=flip and cfg.augment, cutout=cfg.cutout, color_jitter=cfg.color_jitter)


def _batches(split: Split, source: Source, cfg: DataConfig, batch_size: int,
             device: torch.device, norm: Normaliser, augment: Augment,
             sampling: Sampling) -> Batches:
    if split.images is not None:
        images, labels = split.images.to(device), split.labels.to(device)
        return TensorBatches(images, labels, batch_size, norm, augment, sampling)
    return StreamBatches(split.files, split.labels, source.shape, batch_size, device, norm,
                         augment, sampling, cfg.workers)


def _info(source: Source) -> DataInfo:
    c, h, w = source.shape
    return DataInfo(channels=c, height=h, width=w, classes=len(source.class_names),
                    class_names=list(source.class_names), mean=tuple(source.mean),
                    std=tuple(source.std), train_size=source.train.size,
                    val_size=source.val.size, name=source.name,
                    in_memory=source.train.in_memory,
                    train_counts=_counts(source.train, len(source.class_names)),
                    val_counts=_counts(source.val, len(source.class_names)))


def _counts(split: Split, classes: int) -> list[int]:
    return torch.bincount(split.labels, minlength=classes).tolist()
