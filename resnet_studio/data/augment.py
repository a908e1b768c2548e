"""Batched image augmentation as tensor operations on the training device.

A whole batch is augmented at once: random crop with zero padding and horizontal flip are one
``gather`` on the uint8 images, colour jitter is a few broadcast multiplies, cutout is one
masked fill. Every random parameter comes from a CPU ``torch.Generator`` seeded from
(seed, epoch, batch, rank) and reaches the device in one small copy, so a batch is the same
whenever and wherever it is produced — on any device — which is what makes exact mid-epoch
resume possible, also on another machine.
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


# Columns of ``Draws.packed``.
_TOP, _LEFT, _FLIP, _CUT_ROW, _CUT_COL, _JITTER = 0, 1, 2, 3, 4, 5
_COLUMNS = _JITTER + 3  # brightness, contrast, saturation factors


class Draws:
    """The random numbers of one batch's augmentation, drawn on the host.

    They are drawn from a CPU generator, so a batch is augmented the same way on every device
    (a CUDA generator gives other numbers than a CPU one for the same seed), and packed into
    one N×8 float32 tensor — crop offsets (top, left), flip (0/1), cutout centre (row, column),
    jitter factors (brightness, contrast, saturation) — that reaches the device in one copy.
    Columns of augmentations that are off stay 0. Integers this small are exact in float32.
    """

    def __init__(self, packed: Tensor):
        self.packed = packed

    @classmethod
    def draw(cls, aug: Augment, n: int, height: int, width: int,
             gen: torch.Generator) -> Draws:
        """The parameters of ``n`` images of ``height``×``width`` from the CPU ``gen``, in a
        fixed order: crop offsets, flips, jitter factors, cutout centres."""
        packed = torch.zeros(n, _COLUMNS)
        span = 2 * aug.crop_padding + 1  # torchvision RandomCrop(size, padding): [0, 2p]
        packed[:, _TOP] = torch.randint(0, span, (n,), generator=gen).float()
        packed[:, _LEFT] = torch.randint(0, span, (n,), generator=gen).float()
        if aug.flip:
            packed[:, _FLIP] = (torch.rand(n, generator=gen) < 0.5).float()
        if aug.color_jitter:
            uniform = torch.rand(3, n, generator=gen)
            packed[:, _JITTER:] = (1.0 + aug.color_jitter * (2 * uniform - 1)).T
        if aug.cutout:
            packed[:, _CUT_ROW] = torch.randint(0, height, (n,), generator=gen).float()
            packed[:, _CUT_COL] = torch.randint(0, width, (n,), generator=gen).float()
        return cls(packed)

    def to(self, device: torch.device) -> Draws:
        """On ``device`` in one copy: from pinned memory and non-blocking to a CUDA device (a
        fresh pinned buffer per batch, which the caching host allocator keeps alive until the
        copy is done), so the host never waits for it."""
        if device.type == "cuda":
            return Draws(self.packed.pin_memory().to(device, non_blocking=True))
        return Draws(self.packed.to(device))

    @property
    def offsets(self) -> Tensor:
        """N×2 int64 crop offsets (top, left) into the padded image."""
        return self.packed[:, _TOP:_LEFT + 1].long()

    @property
    def flips(self) -> Tensor:
        """N bools: which images are mirrored."""
        return self.packed[:, _FLIP] > 0.5

    @property
    def centres(self) -> Tensor:
        """N×2 int64 cutout centres (row, column)."""
        return self.packed[:, _CUT_ROW:_CUT_COL + 1].long()

    @property
    def factors(self) -> Tensor:
        """3×N jitter factors: brightness, contrast, saturation."""
        return self.packed[:, _JITTER:].T


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

    ``gen`` is a CPU generator: the parameters are drawn on the host (``Draws``), copied to the
    images' device at once and applied there, so the result depends on the generator's seed
    only, not on the device.
    """
    if not aug.active:
        return norm.from_uint8(images)
    n, _, h, w = images.shape
    return apply_draws(images, aug, norm, Draws.draw(aug, n, h, w, gen).to(images.device))


def apply_draws(images: Tensor, aug: Augment, norm: Normaliser, draws: Draws) -> Tensor:
    """Augment with given parameters (on the images' device), vectorised over the batch.

    Order as in the usual CIFAR recipe: crop and flip on pixels, colour jitter on [0, 1] values,
    normalisation, then cutout (which, as in DeVries & Taylor 2017, zeroes normalised values,
    i.e. paints the patch with the dataset mean).
    """
    if aug.crop_padding or aug.flip:
        images = crop_flip(images, aug.crop_padding, draws.offsets,
                           draws.flips if aug.flip else None)
    if aug.color_jitter:
        x = norm.from_unit(color_jitter(images.float() / 255.0, draws.factors))
    else:
        x = norm.from_uint8(images)
    if aug.cutout:
        x = cutout(x, aug.cutout, draws.centres)
    return x


def crop_flip(images: Tensor, padding: int, offsets: Tensor, flips: Tensor | None) -> Tensor:
    """Crop of the zero-padded batch back to H×W at ``offsets`` (N×2: top, left), each image
    mirrored where ``flips`` (N bools; None: none) is set.

    Both are one ``gather`` over the flattened padded image: each output pixel reads
    ``(oy + i, ox + j)``, or ``(oy + i, ox + W - 1 - j)`` for flipped samples.
    """
    n, c, h, w = images.shape
    dev = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4) if padding else images
    hp, wp = h + 2 * padding, w + 2 * padding
    oy, ox = offsets[:, 0].view(n, 1, 1), offsets[:, 1].view(n, 1, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w).expand(n, 1, w)
    if flips is not None:
        cols = torch.where(flips.view(n, 1, 1), w - 1 - cols, cols)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    index = ((oy + rows) * wp + ox + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, hp * wp).gather(2, index).view(n, c, h, w)


def color_jitter(x: Tensor, factors: Tensor) -> Tensor:
    """Brightness, contrast and saturation of each image scaled by its ``factors`` (3×N, each
    in [1 - s, 1 + s] for strength s).

    Same blends as torchvision's ``ColorJitter`` (towards black, the mean grey, and the grey
    image), in a fixed order; saturation needs colour and is skipped for one channel.
    """
    n, c = x.shape[:2]
    f = factors.to(x.dtype).view(3, n, 1, 1, 1)
    x = (x * f[0]).clamp_(0, 1)
    grey_mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
    x = torch.lerp(grey_mean.expand_as(x), x, f[1]).clamp_(0, 1)
    if c == 3:
        x = torch.lerp(_grey(x).expand_as(x), x, f[2]).clamp_(0, 1)
    return x


def _grey(x: Tensor) -> Tensor:
    if x.shape[1] != 3:
        return x
    w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def cutout(x: Tensor, size: int, centres: Tensor) -> Tensor:
    """Zero one ``size``×``size`` square per image around its centre (N×2: row, column; drawn
    uniformly over the image) and clipped at its border (DeVries & Taylor 2017,
    https://arxiv.org/abs/1708.04552)."""
    n, _, h, w = x.shape
    dev = x.device
    top = centres[:, :1] - size // 2
    left = centres[:, 1:] - size // 2
    rows = torch.arange(h, device=dev).view(1, h)
    cols = torch.arange(w, device=dev).view(1, w)
    inside_r = (rows >= top) & (rows < top + size)
    inside_c = (cols >= left) & (cols < left + size)
    mask = (inside_r.view(n, 1, h, 1) & inside_c.view(n, 1, 1, w))
    return x.masked_fill(mask, 0.0)
