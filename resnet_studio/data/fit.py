"""Fitting a dataset to the network: the image size and channels it is served at, and a note.

With ``DataConfig.fit == "network"`` (the default) and a network whose input is known, every
dataset is served at the network's C×H×W: image folders are decoded straight to it, the
synthetic set is drawn at it, and in-memory sets (torchvision's) are resized (bilinear, with
antialiasing) and converted grey↔RGB. With ``fit == "none"`` the images keep the dataset's own
size (folders and the synthetic set: ``image_size`` and ``channels``). Either way the run
says, in one line, what was done to the images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import DataConfig
from .source import Source, Split, channel_stats

Shape = tuple[int, int, int]  # C, H, W

_LUMA = torch.tensor((0.299, 0.587, 0.114)).view(1, 3, 1, 1)


def served_shape(cfg: DataConfig, target: Shape | None) -> Shape:
    """The C×H×W that folders and the synthetic set are produced at."""
    if target is not None and cfg.fit == "network":
        return target
    return (cfg.channels, cfg.image_size, cfg.image_size)


def describe(before: Shape, after: Shape) -> str:
    """"28×28 grey images used as they are" / "resized 64×64→32×32, grey→RGB"."""
    if before == after:
        return f"{shape_text(before)} images used as they are"
    changes = []
    if before[1:] != after[1:]:
        changes.append(f"resized {_size(before)}→{_size(after)}")
    if before[0] != after[0]:
        changes.append(f"{_colour(before[0])}→{'RGB' if after[0] == 3 else 'grey'}")
    return ", ".join(changes)


def fit_source(source: Source, target: Shape | None, cfg: DataConfig) -> tuple[Source, str]:
    """``source`` with in-memory images brought to ``target`` (when fitting is on), and the
    note saying what was done. Published statistics are recomputed only when pixels changed."""
    before = source.shape
    if target is None or cfg.fit != "network" or before == target or not source.train.in_memory:
        return source, describe(before, before)
    train, val = _fit_split(source.train, target), _fit_split(source.val, target)
    mean, std = channel_stats(train.images)
    fitted = Source(source.name, train, val, source.class_names, target, mean, std, source.flip)
    return fitted, describe(before, target)


def _fit_split(split: Split, target: Shape) -> Split:
    return Split(split.labels, fit_images(split.images, target), list(split.files))


def fit_images(images: Tensor, target: Shape, chunk: int = 2048) -> Tensor:
    """uint8 N×C×H×W images as uint8 N×target, in chunks to bound the float copies."""
    out = torch.empty((len(images), *target), dtype=torch.uint8)
    for start in range(0, len(images), chunk):
        x = images[start: start + chunk].float()
        if x.shape[1] == 3 and target[0] == 1:
            x = (x * _LUMA).sum(1, keepdim=True)
        elif x.shape[1] == 1 and target[0] == 3:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[2:]) != target[1:]:
            x = F.interpolate(x, size=target[1:], mode="bilinear", antialias=True,
                              align_corners=False)
        out[start: start + chunk] = x.round().clamp_(0, 255).to(torch.uint8)
    return out


def shape_text(shape: Shape) -> str:
    """"28×28 grey", "32×32 RGB"."""
    return f"{_size(shape)} {_colour(shape[0])}"


def _size(shape: Shape) -> str:
    return f"{shape[1]}×{shape[2]}"


def _colour(channels: int) -> str:
    return "grey" if channels == 1 else "RGB" if channels == 3 else f"{channels}-channel"
