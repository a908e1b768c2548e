"""Dense-task datasets in torchvision's reference form, and their collate functions.

Each item is ``(image, target)``: the image a float32 C×H×W tensor fitted to the network's
input and normalised per channel like the classification path (``(x/255 − mean) / std``), the
target a dict of what the source has — ``boxes`` (float32 N×4 xyxy pixels), ``labels`` (int64,
1…K), ``masks`` (uint8 N×H×W instance masks), ``mask`` (int64 H×W class ids, 255 = ignore) —
plus ``image_id``. Augmentation is drawn from a generator seeded by (seed, epoch, index), so an
item is the same in any worker and any order; ``set_epoch`` moves to the next epoch's draws,
as ``DistributedSampler.set_epoch`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..config import DataError
from ..source import channel_stats
from .coco import CocoSet
from .sample import DenseSample, DenseSource
from .synthetic import ShapesSource
from .transforms import DenseAugment, augment_sample, fit_sample
from .voc import MaskSet

Shape = tuple[int, int, int]  # C, H, W
Target = dict[str, Tensor]
STATS_SAMPLE = 64  # fitted images that estimate the normalisation when none is given


class DenseDataset(Dataset):
    """The samples of ``source``, fitted to ``shape``, augmented, as tensors.

    ``mean``/``std`` default to the statistics of up to STATS_SAMPLE evenly spaced fitted
    images; pass the training split's to a validation split so both are normalised alike.
    Holds no closures, so ``DataLoader`` workers can receive it under any start method.
    """

    def __init__(self, source: DenseSource, shape: Shape, augment: DenseAugment | None = None,
                 seed: int = 0, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None):
        self.source, self.length, self.shape = source, len(source), check_shape(shape)
        self.class_names = tuple(source.class_names)
        self.augment, self.seed, self.epoch = augment or DenseAugment(), seed, 0
        if mean is None or std is None:
            mean, std = self._stats()
        self.mean, self.std = tuple(mean), tuple(std)
        self._mean = torch.tensor(self.mean, dtype=torch.float32).view(-1, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32).view(-1, 1, 1)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def sample(self, index: int) -> DenseSample:
        """Item ``index`` as arrays, fitted and (for a training split) augmented."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} is outside a dataset of {self.length} images")
        sample = fit_sample(self._load(index), self.shape)
        if self.augment.active:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            sample = augment_sample(sample, self.augment, rng)
        return sample

    def __getitem__(self, index: int) -> tuple[Tensor, Target]:
        return self.to_tensors(self.sample(index), index)

    def to_tensors(self, sample: DenseSample, index: int) -> tuple[Tensor, Target]:
        pixels = torch.from_numpy(np.ascontiguousarray(sample.image.transpose(2, 0, 1)))
        image = (pixels.float() / 255.0 - self._mean) / self._std
        return image, _target(sample, index)

    def _load(self, index: int) -> DenseSample:
        return self.source.load(index, self.shape[0])

    def _stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        step = max(1, self.length // STATS_SAMPLE)
        picks = range(0, self.length, step)[:STATS_SAMPLE]
        images = np.stack([fit_sample(self._load(i), self.shape).image for i in picks])
        return channel_stats(torch.from_numpy(images.transpose(0, 3, 1, 2)))


def check_shape(shape: Shape) -> Shape:
    """``shape`` as a C×H×W tuple; DataError unless C is 1 or 3 and H, W are 1…4096."""
    ok = len(shape) == 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in shape)
    if not ok or shape[0] not in (1, 3) or not all(1 <= v <= 4096 for v in shape[1:]):
        raise DataError(f"a dense dataset's input shape must be (channels 1 or 3, height, "
                        f"width) with sides of 1 to 4096 pixels, not {tuple(shape)!r}")
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def _target(sample: DenseSample, index: int) -> Target:
    target = {"boxes": torch.from_numpy(sample.boxes.astype(np.float32).reshape(-1, 4)),
              "labels": torch.from_numpy(sample.labels.astype(np.int64)),
              "image_id": torch.tensor(index, dtype=torch.int64)}
    if sample.masks is not None:
        target["masks"] = torch.from_numpy(np.ascontiguousarray(sample.masks, np.uint8))
    if sample.mask is not None:
        target["mask"] = torch.from_numpy(sample.mask.astype(np.int64))
    return target


class ShapesDataset(DenseDataset):
    """The built-in synthetic shapes (boxes, labels, instance masks and a semantic mask), drawn
    at the network's input size so no resizing blurs their edges."""

    def __init__(self, count: int = 300, shape: Shape = (3, 64, 64), seed: int = 0,
                 augment: DenseAugment | None = None, split: str = "train", **kw):
        source = ShapesSource(count, seed, shape[1], shape[2], split)
        super().__init__(source, shape, augment, seed, **kw)


class CocoDataset(DenseDataset):
    """A read COCO folder (``read_coco``, or a ``subset`` of one) as a detection dataset."""

    def __init__(self, coco: CocoSet, shape: Shape, augment: DenseAugment | None = None,
                 seed: int = 0, **kw):
        super().__init__(coco, shape, augment, seed, **kw)


class MaskDataset(DenseDataset):
    """A read segmentation folder (``read_masks``, or a ``subset`` of one) as a segmentation
    dataset."""

    def __init__(self, masks: MaskSet, shape: Shape, augment: DenseAugment | None = None,
                 seed: int = 0, **kw):
        super().__init__(masks, shape, augment, seed, **kw)


def collate_detection(batch: Sequence[tuple[Tensor, Target]]) -> tuple[list[Tensor],
                                                                       list[Target]]:
    """A batch as lists of images and targets, the form torchvision's detection models take
    (each image keeps its own number of boxes)."""
    return [image for image, _ in batch], [target for _, target in batch]


def collate_segmentation(batch: Sequence[tuple[Tensor, Target]]) -> tuple[Tensor, Tensor]:
    """A batch as stacked images (N×C×H×W) and masks (N×H×W int64), as segmentation models
    and ``cross_entropy(..., ignore_index=255)`` take them."""
    return (torch.stack([image for image, _ in batch]),
            torch.stack([target["mask"] for _, target in batch]))
