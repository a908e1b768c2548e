"""One split of a dataset, served as batches on the training device.

Order and augmentation depend on (seed, epoch, batch index, rank) only: the epoch's permutation
is drawn from a generator seeded by (seed, epoch), and each batch's augmentation from one
seeded by (seed, epoch, batch, rank). So ``epoch(e, start_batch=k)`` reproduces exactly the
batches ``k, k+1, …`` of ``epoch(e)`` — a run resumed mid-epoch sees the data it would have seen.

For DistributedDataParallel every rank draws the same permutation and takes every
``world_size``-th sample of it (as ``DistributedSampler`` does); the tail that does not divide
evenly is left out, so all ranks run the same number of steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .augment import Augment, Normaliser, augment_batch, derive_seed, make_generator
from .config import DataError

_ORDER_STREAM, _AUGMENT_STREAM = 1, 2
_HOST = torch.device("cpu")


@dataclass(frozen=True)
class Sampling:
    """How a split walks through its samples each epoch."""

    seed: int = 0
    shuffle: bool = False
    drop_last: bool = False
    rank: int = 0
    world_size: int = 1


def epoch_order(size: int, epoch: int, sampling: Sampling) -> Tensor:
    """This rank's sample indices for ``epoch`` (CPU int64), before batching."""
    if sampling.shuffle:
        gen = make_generator(_HOST, derive_seed(sampling.seed, _ORDER_STREAM, epoch))
        order = torch.randperm(size, generator=gen)
    else:
        order = torch.arange(size)
    per_rank = size // sampling.world_size
    return order[sampling.rank: per_rank * sampling.world_size: sampling.world_size]


class Batches(ABC):
    """Batches of one split: ``len()`` per epoch and ``epoch(e, start_batch)`` to iterate.

    ``x`` is float32, normalised, N×C×H×W on ``device``; ``y`` is int64 class indices.
    Training splits shuffle and drop the last partial batch; evaluation splits do neither and
    are never augmented.
    """

    def __init__(self, size: int, batch_size: int, device: torch.device, norm: Normaliser,
                 augment: Augment, sampling: Sampling):
        self.size, self.batch_size, self.device = size, batch_size, device
        self.norm, self.augment, self.sampling = norm, augment, sampling

    @property
    def samples_per_epoch(self) -> int:
        """Samples this rank sees per epoch (the tail of a partial batch included if kept)."""
        per_rank = self.size // self.sampling.world_size
        return len(self) * self.batch_size if self.sampling.drop_last else per_rank

    def __len__(self) -> int:
        per_rank = self.size // self.sampling.world_size
        if self.sampling.drop_last:
            return per_rank // self.batch_size
        return (per_rank + self.batch_size - 1) // self.batch_size

    def order(self, epoch: int) -> Tensor:
        """This rank's sample indices for ``epoch``, in batch order."""
        return epoch_order(self.size, epoch, self.sampling)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield the batches ``start_batch, …, len(self) - 1`` of ``epoch``."""
        if not 0 <= start_batch <= len(self):
            raise DataError(f"cannot resume at batch {start_batch}: an epoch has {len(self)} "
                            "batches (was the batch size or dataset changed since the checkpoint?)")
        chunks = self.order(epoch)[: len(self) * self.batch_size].split(self.batch_size)
        return self._iterate(epoch, start_batch, chunks[start_batch:])

    @abstractmethod
    def _iterate(self, epoch: int, start_batch: int,
                 chunks: tuple[Tensor, ...]) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield finished batches for the index ``chunks`` (the first is batch ``start_batch``)."""

    def _finish(self, images: Tensor, epoch: int, batch: int) -> Tensor:
        """Augment (training) or just normalise (evaluation) a uint8 batch on the device; the
        augmentation's parameters come from a CPU generator, so they are the same on every
        device."""
        if not self.augment.active:
            return self.norm.from_uint8(images)
        seed = derive_seed(self.sampling.seed, _AUGMENT_STREAM, epoch, batch, self.sampling.rank)
        return augment_batch(images, self.augment, self.norm, make_generator(_HOST, seed))


class TensorBatches(Batches):
    """A split held as uint8 images and int64 labels on the training device."""

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int, norm: Normaliser,
                 augment: Augment, sampling: Sampling):
        super().__init__(len(images), batch_size, images.device, norm, augment, sampling)
        self.images, self.labels = images, labels

    def _iterate(self, epoch, start_batch, chunks):
        if not chunks:
            return
        # One host-to-device copy of the epoch's indices instead of one per batch.
        on_device = torch.cat(chunks).to(self.device).split(self.batch_size)
        for batch, idx in enumerate(on_device, start_batch):
            images = self.images.index_select(0, idx)
            yield self._finish(images, epoch, batch), self.labels.index_select(0, idx)
