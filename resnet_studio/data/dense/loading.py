"""``load_dense``: a dense ``DataConfig`` (shapes, COCO folder, mask folder) as training and
validation batches on a device, in the form the task models take.

A detection batch is ``(images, targets)``: images one float32 B×C×H×W tensor (every image is
fitted to the network's input, so they stack; torchvision's detectors take a batch tensor as
well as a list) and targets a list of ``{"boxes": float32 N×4, "labels": int64 N}``. A
segmentation batch is ``(images, masks)`` with masks int64 B×H×W (255 = ignore). Order follows
``batches.epoch_order`` (seeded by (seed, epoch); DDP ranks take every world_size-th index) and
each item's augmentation is drawn from (seed, epoch, index), so resuming at a batch reproduces
the epoch exactly, as for the classification sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..augment import Normaliser
from ..batches import Sampling, epoch_order
from ..config import COCO_PREFIX, SHAPES_DETECTION, DataConfig, DataError
from ..fit import Shape, served_shape, shape_text
from .dataset import DenseDataset
from .sample import DenseSample, DenseSource, split_indices
from .synthetic import ShapesSource
from .transforms import DenseAugment


class DenseBatches:
    """Batches of one dense split: ``len()`` per epoch and ``epoch(e, start_batch)``, like
    ``data.batches.Batches``. Images are normalised with ``norm`` (replaceable, as a data
    spec's recorded statistics replace the measured ones)."""

    def __init__(self, dataset: DenseDataset, task: str, batch_size: int,
                 device: torch.device, norm: Normaliser, sampling: Sampling):
        self.dataset, self.task, self.batch_size = dataset, task, batch_size
        self.device, self.norm, self.sampling = device, norm, sampling
        self.size = len(dataset)
        self.augment = dataset.augment

    def __len__(self) -> int:
        per_rank = self.size // self.sampling.world_size
        if self.sampling.drop_last:
            return per_rank // self.batch_size
        return (per_rank + self.batch_size - 1) // self.batch_size

    @property
    def samples_per_epoch(self) -> int:
        per_rank = self.size // self.sampling.world_size
        return len(self) * self.batch_size if self.sampling.drop_last else per_rank

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[Any, Any]]:
        """Yield the batches ``start_batch, …, len(self) - 1`` of ``epoch``."""
        if not 0 <= start_batch <= len(self):
            raise DataError(f"cannot resume at batch {start_batch}: an epoch has {len(self)} "
                            "batches (was the batch size or dataset changed since the checkpoint?)")
        order = epoch_order(self.size, epoch, self.sampling)[: len(self) * self.batch_size]
        self.dataset.set_epoch(epoch)
        for chunk in order.split(self.batch_size)[start_batch:]:
            yield self.batch([int(i) for i in chunk])

    def batch(self, indices: list[int]) -> tuple[Any, Any]:
        """The items at ``indices`` (fitted, augmented on a training split) as one batch."""
        samples = [self._sample(i) for i in indices]
        pixels = torch.from_numpy(np.stack([s.image.transpose(2, 0, 1) for s in samples]))
        images = self.norm.from_uint8(pixels.to(self.device))
        if self.task == "segmentation":
            masks = np.stack([s.mask for s in samples]).astype(np.int64)
            return images, torch.from_numpy(masks).to(self.device)
        return images, [_boxes(s, self.device) for s in samples]

    def _sample(self, index: int) -> DenseSample:
        sample = self.dataset.sample(index)
        if self.task == "segmentation" and sample.mask is None:
            raise DataError(f"image {sample.name or index} has no mask; a segmentation set "
                            "needs one mask per image")
        return sample


def _boxes(sample: DenseSample, device: torch.device) -> dict[str, Tensor]:
    return {"boxes": torch.from_numpy(sample.boxes.astype(np.float32).reshape(-1, 4)).to(device),
            "labels": torch.from_numpy(sample.labels.astype(np.int64)).to(device)}


def dense_sources(cfg: DataConfig, shape: Shape) -> tuple[DenseSource, DenseSource, str]:
    """The training and validation sources of a dense ``cfg`` and the dataset's name."""
    if cfg.dataset in (SHAPES_DETECTION, "shapes-segmentation"):
        train = ShapesSource(cfg.train_size, cfg.seed, shape[1], shape[2], "train")
        val = ShapesSource(cfg.val_size, cfg.seed, shape[1], shape[2], "val")
        return train, val, cfg.dataset
    read = _read_coco if cfg.dataset.startswith(COCO_PREFIX) else _read_masks
    data = read(cfg.dense_folder)
    if cfg.val_folder is not None:
        val = read(cfg.val_folder)
        if tuple(val.class_names) != tuple(data.class_names):
            raise DataError(f"the validation folder {cfg.val_folder} has the classes "
                            f"{', '.join(val.class_names)}, the training folder "
                            f"{', '.join(data.class_names)}; they must match")
        return data, val, cfg.dense_folder
    train_idx, val_idx = split_indices(len(data), cfg.val_fraction, cfg.seed)
    return data.subset(train_idx), data.subset(val_idx), cfg.dense_folder


def _read_coco(folder: str):
    from .coco import read_coco

    return read_coco(folder)


def _read_masks(folder: str):
    from .voc import read_masks

    return read_masks(folder)


def dense_augment(cfg: DataConfig) -> DenseAugment:
    """Crop and flip follow ``augment``; flip is on unless set off (shapes and scenes have
    no handedness)."""
    if not cfg.augment:
        return DenseAugment()
    return DenseAugment(crop_padding=cfg.crop_padding, flip=cfg.flip is not False)


def load_dense(cfg: DataConfig, batch_size: int, device: torch.device | str = "cpu", *,
               rank: int = 0, world_size: int = 1, target: Shape | None = None) -> Any:
    """A ``DataBundle`` of the dense set ``cfg`` names, fitted to ``target`` (with fit
    "network"), in batches of ``batch_size`` on ``device``."""
    from ..loading import DataBundle

    device = torch.device(device)
    shape = served_shape(cfg, target)
    train_src, val_src, name = dense_sources(cfg, shape)
    augment = dense_augment(cfg)
    train_set = DenseDataset(train_src, shape, augment, cfg.seed)
    val_set = DenseDataset(val_src, shape, None, cfg.seed, mean=train_set.mean,
                           std=train_set.std)
    norm = Normaliser(train_set.mean, train_set.std, device)
    sampling = Sampling(cfg.seed, shuffle=True, drop_last=True, rank=rank, world_size=world_size)
    train = DenseBatches(train_set, cfg.task, batch_size, device, norm, sampling)
    val = DenseBatches(val_set, cfg.task, batch_size, device, norm, Sampling(cfg.seed))
    if len(train) == 0:
        raise DataError(f"batch_size {batch_size} is larger than the "
                        f"{len(train_set) // world_size} training images each of the "
                        f"{world_size} process(es) gets; lower batch_size or use more data")
    info = dense_info(cfg, name, shape, train_set, val_set, augment)
    return DataBundle(train, val, info)


def dense_info(cfg: DataConfig, name: str, shape: Shape, train: DenseDataset,
               val: DenseDataset, augment: DenseAugment) -> Any:
    from ..loading import DataInfo

    c, h, w = shape
    return DataInfo(channels=c, height=h, width=w, classes=len(train.class_names),
                    class_names=list(train.class_names), mean=tuple(train.mean),
                    std=tuple(train.std), train_size=len(train), val_size=len(val), name=name,
                    fit=f"{cfg.task} images served at {shape_text(shape)}",
                    augmentation={"crop_padding": augment.crop_padding, "flip": augment.flip,
                                  "cutout": 0, "color_jitter": 0.0},
                    task=cfg.task)
