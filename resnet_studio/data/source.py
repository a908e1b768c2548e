"""A loaded dataset before batching: both splits, class names and normalisation statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class Split:
    """One split: uint8 N×C×H×W images held in memory, or image ``files`` decoded on demand."""

    labels: Tensor
    images: Tensor | None = None
    files: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def in_memory(self) -> bool:
        return self.images is not None


@dataclass
class Source:
    """What a dataset loader hands to ``load_data``."""

    name: str
    train: Split
    val: Split
    class_names: list[str]
    shape: tuple[int, int, int]  # C, H, W
    mean: tuple[float, ...]
    std: tuple[float, ...]
    flip: bool  # whether horizontal flips suit the data (digits and text: no)


def channel_stats(images: Tensor, max_images: int = 10_000) -> tuple[tuple[float, ...],
                                                                     tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images scaled to [0, 1].

    Computed on an evenly spaced subset of at most ``max_images`` images, in float64 sums over
    chunks so memory stays small however large the set.
    """
    step = max(1, len(images) // max_images)
    subset = images[::step]
    c = subset.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for chunk in subset.split(1024):
        x = chunk.to("cpu", torch.float64).div_(255).transpose(0, 1).reshape(c, -1)
        total += x.sum(1)
        squares += (x * x).sum(1)
    count = subset[:, 0].numel()
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(1e-12).sqrt().clamp_min(1e-3)
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())
