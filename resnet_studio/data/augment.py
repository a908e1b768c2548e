"""Batched image augmentation as tensor operations on the training device.

A whole batch is augmented at once: random crop with zero padding and horizontal flip are one
``gather`` on the uint8 images, colour jitter is a few broadcast multiplies, cutout is one
masked fill. Every random number comes from a ``torch.Generator`` seeded from
(seed, epoch, batch, rank), so a batch is the same whenever and wherever it is produced — which
is what makes exact mid-epoch resume possible.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import torch
from torch import Tensor

# ITU-R BT.601 luma weights, as torchvision's rgb_to_grayscale uses.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Augment:
    """Which augmentations a training split applies (all off: evaluation)."""

    crop_padding: int = 0
    flip: bool = False
    cutout: int = 0
    color_jitter: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.crop_padding or self.flip or self.cutout or self.color_jitter)

    def describe(self) -> str:
        """What is applied, in words ("random crop (padding 4), horizontal flip"); "" if none."""
        parts = [f"random crop (padding {self.crop_padding})" if self.crop_padding else "",
                 "horizontal flip" if self.flip else "",
                 f"cutout {self.cutout}×{self.cutout}" if self.cutout else "",
                 f"colour jitter {self.color_jitter:g}" if self.color_jitter else ""]
        return ", ".join(p for p in parts if p)


def derive_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers, so nearby (epoch, batch) pairs are unrelated streams."""
    digest = hashlib.blake2b(struct.pack(f"<{len(parts)}q", *parts), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


class Normaliser:
    """Maps uint8 images to float32 ``(x / 255 - mean) / std`` per channel in one fused op."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], device: torch.device):
        m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.mean, self.std = m, s
        self._scale, self._shift = 1.0 / (255.0 * s), -m / s

    def from_uint8(self, images: Tensor) -> Tensor:
        return torch.addcmul(self._shift, images.float(), self._scale)

    def from_unit(self, images: Tensor) -> Tensor:
        """Normalise float images already scaled to [0, 1]."""
        return (images - self.mean) / self.std


def augment_batch(images: Tensor, aug: Augment, norm: Normaliser, gen: torch.Generator) -> Tensor:
    """Augment a uint8 N×C×H×W batch and return it normalised as float32.

    Order as in the usual CIFAR recipe: crop and flip on pixels, colour jitter on [0, 1] values,
    normalisation, then cutout (which, as in DeVries & Taylor 2017, zeroes normalised values,
    i.e. paints the patch with the dataset mean).
    """
    if aug.crop_padding or aug.flip:
        images = crop_flip(images, aug.crop_padding, aug.flip, gen)
    if aug.color_jitter:
        x = norm.from_unit(color_jitter(images.float() / 255.0, aug.color_jitter, gen))
    else:
        x = norm.from_uint8(images)
    if aug.cutout:
        x = cutout(x, aug.cutout, gen)
    return x


def crop_flip(images: Tensor, padding: int, flip: bool, gen: torch.Generator) -> Tensor:
    """Random crop of the zero-padded batch back to H×W, with a random horizontal flip.

    Both are one ``gather`` over the flattened padded image: each output pixel reads
    ``(oy + i, ox + j)``, or ``(oy + i, ox + W - 1 - j)`` for flipped samples. Offsets are
    uniform in ``[0, 2 * padding]`` like torchvision's ``RandomCrop(size, padding)``.
    """
    n, c, h, w = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4) if padding else images
    hp, wp = h + 2 * padding, w + 2 * padding
    oy = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=gen, device=dev)
    ox = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=gen, device=dev)
    cols = torch.arange(w, device=dev).view(1, 1, w).expand(n, 1, w)
    if flip:
        flipped = torch.rand(n, 1, 1, generator=gen, device=dev) < 0.5
        cols = torch.where(flipped, w - 1 - cols, cols)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    index = ((oy + rows) * wp + ox + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, hp * wp).gather(2, index).view(n, c, h, w)


def color_jitter(x: Tensor, strength: float, gen: torch.Generator) -> Tensor:
    """Brightness, contrast and saturation each scaled by a factor in [1 - s, 1 + s] per image.

    Same blends as torchvision's ``ColorJitter`` (towards black, the mean grey, and the grey
    image), in a fixed order; saturation needs colour and is skipped for one channel.
    """
    n, c = x.shape[:2]
    factors = 1.0 + strength * (2 * torch.rand(3, n, 1, 1, 1, generator=gen, device=x.device) - 1)
    x = (x * factors[0]).clamp_(0, 1)
    grey_mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
    x = torch.lerp(grey_mean.expand_as(x), x, factors[1]).clamp_(0, 1)
    if c == 3:
        x = torch.lerp(_grey(x).expand_as(x), x, factors[2]).clamp_(0, 1)
    return x


def _grey(x: Tensor) -> Tensor:
    if x.shape[1] != 3:
        return x
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def cutout(x: Tensor, size: int, gen: torch.Generator) -> Tensor:
    """Zero one ``size``×``size`` square per image, centred uniformly over the image and clipped
    at its border (DeVries & Taylor 2017, https://arxiv.org/abs/1708.04552)."""
    n, _, h, w = x.shape
    dev = x.device
    top = torch.randint(0, h, (n, 1), generator=gen, device=dev) - size // 2
    left = torch.randint(0, w, (n, 1), generator=gen, device=dev) - size // 2
    rows = torch.arange(h, device=dev).view(1, h)
    cols = torch.arange(w, device=dev).view(1, w)
    inside_r = (rows >= top) & (rows < top + size)
    inside_c = (cols >= left) & (cols < left + size)
    mask = (inside_r.view(n, 1, h, 1) & inside_c.view(n, 1, 1, w))
    return x.masked_fill(mask, 0.0)
