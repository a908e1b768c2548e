"""Batches for image folders too large for memory: a ``DataLoader`` decodes, the device augments.

Worker processes decode and resize whole batches with PIL (``folders.decode_image``) and hand
over uint8 tensors; augmentation and normalisation then run on the training device exactly as
for in-memory sets. The two paths therefore produce identical batches for the same images, and
this path keeps the same deterministic order and exact mid-epoch resume.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .augment import Augment, Normaliser
from .batches import Batches, Sampling
from .config import DataError
from .folders import decode_image


class _EpochBatches(Dataset):
    """Item ``i`` is the ``i``-th remaining batch of an epoch, decoded: (uint8 images, labels).

    A decoding failure is returned rather than raised, so the main process re-raises the
    ``DataError`` with its own message instead of a worker traceback.
    """

    def __init__(self, files: list[str], labels: Tensor, chunks: tuple[Tensor, ...],
                 shape: tuple[int, int, int]):
        self.files, self.labels, self.chunks, self.shape = files, labels, chunks, shape

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor] | DataError:
        idx = self.chunks[i]
        try:
            images = torch.stack([decode_image(self.files[j], self.shape) for j in idx.tolist()])
        except DataError as exc:
            return exc
        return images, self.labels[idx]


def default_workers() -> int:
    """Decoding processes when the configuration leaves it open: all cores but one, up to 8."""
    return min(8, max(1, (os.cpu_count() or 2) - 1))


class StreamBatches(Batches):
    """A split decoded from image files batch by batch through a ``DataLoader``."""

    def __init__(self, files: list[str], labels: Tensor, shape: tuple[int, int, int],
                 batch_size: int, device: torch.device, norm: Normaliser, augment: Augment,
                 sampling: Sampling, workers: int | None = None):
        super().__init__(len(files), batch_size, device, norm, augment, sampling)
        self.files, self.labels, self.shape = files, labels, shape
        self.workers = default_workers() if workers is None else workers

    def _iterate(self, epoch, start_batch, chunks):
        if not chunks:
            return
        workers = min(self.workers, len(chunks))
        loader = DataLoader(_EpochBatches(self.files, self.labels, chunks, self.shape),
                            batch_size=None, shuffle=False, num_workers=workers,
                            pin_memory=self.device.type == "cuda",
                            prefetch_factor=4 if workers else None)
        for batch, item in enumerate(loader, start_batch):
            if isinstance(item, DataError):
                raise item
            images, labels = item
            images = images.to(self.device, non_blocking=True)
            yield self._finish(images, epoch, batch), labels.to(self.device, non_blocking=True)
