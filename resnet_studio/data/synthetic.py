"""The built-in synthetic dataset: procedurally drawn shapes and textures.

Each class is a figure — disk, square, triangle, ring, plus, stripes, checkerboard, … — drawn
with a random position, size, small rotation, random foreground and background colours (with a
guaranteed contrast), a soft background gradient and pixel noise. Figures are defined by signed
distance functions in the figure's own coordinates, so they render anti-aliased at any image
size from 8 to 256 pixels, and a whole chunk of images is drawn with a handful of tensor ops.

Telling the classes apart needs shape, orientation and texture, not colour or brightness (tests
check that per-channel colour statistics stay near chance). A small CNN learns the set to well
above chance within seconds on a CPU, while a deep plain network learns it far more slowly than
its residual twin — the contrast the application exists to show. Everything is drawn from one
generator seeded by (seed, split): same seed, same images.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .augment import derive_seed, make_generator

_SPLIT_STREAM = {"train": 11, "val": 12}
_CHUNK_PIXELS = 1 << 22  # images per chunk × H × W: bounds the float temporaries (~16 MB each)
_NOISE = 0.05
_MIN_CONTRAST = 0.35


# ----- figures: signed distances (negative inside) in figure coordinates, radius about 1 -----
def _box(u: Tensor, v: Tensor, a: float, b: float) -> Tensor:
    return torch.maximum(u.abs() - a, v.abs() - b)


def _stripes(t: Tensor, freq: Tensor) -> Tensor:
    """Bands where sin(π f t) > 0; the distance to the band edge is about |sin| / (π f)."""
    return -torch.sin(math.pi * freq * t) / (math.pi * freq)


def _rot45(u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    return (u + v) * math.sqrt(0.5), (v - u) * math.sqrt(0.5)


def _plus(u: Tensor, v: Tensor) -> Tensor:
    return torch.minimum(_box(u, v, 0.9, 0.25), _box(u, v, 0.25, 0.9))


def _triangle(u: Tensor, v: Tensor) -> Tensor:
    # Intersection of three half-planes whose normals are 120° apart: apex up, inradius 0.55.
    edges = [math.sin(a) * v + math.cos(a) * u for a in (math.pi / 2, 7 * math.pi / 6,
                                                         11 * math.pi / 6)]
    return torch.stack(edges).amax(0) - 0.55


def _textured(sdf_pattern: Tensor, u: Tensor, v: Tensor) -> Tensor:
    return torch.maximum(_box(u, v, 0.9, 0.9), sdf_pattern)


def _grid(u: Tensor, v: Tensor) -> Tensor:
    lines = torch.minimum(((u.abs() - 0.4).abs() - 0.1), ((v.abs() - 0.4).abs() - 0.1))
    return _textured(lines, u, v)


Sdf = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]  # (u, v, r, frequency) → distance
Coverage = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]  # … , pixel → [0, 1]


def _solid(sdf: Sdf) -> Coverage:
    """Hard-edged figure, anti-aliased: coverage ramps over one pixel across the edge."""
    return lambda u, v, r, f, pixel: (0.5 - sdf(u, v, r, f) / pixel).clamp_(0, 1)


def _gaussian(distance: Tensor, sigma: float) -> Tensor:
    return torch.exp(-(distance * distance) / (2 * sigma**2))


def _two_blobs(u: Tensor, v: Tensor) -> Tensor:
    return _gaussian(torch.minimum(torch.hypot(u - 0.5, v), torch.hypot(u + 0.5, v)), 0.3)


#: (class name, coverage of the figure from (u, v, r = radius, f = stripe frequency, pixel)),
#: in figure coordinates where the figure spans about [-1, 1]².
FIGURES: tuple[tuple[str, Coverage], ...] = (
    ("disk", _solid(lambda u, v, r, f: r - 0.9)),
    ("square", _solid(lambda u, v, r, f: _box(u, v, 0.75, 0.75))),
    ("triangle", _solid(lambda u, v, r, f: _triangle(u, v))),
    ("ring", _solid(lambda u, v, r, f: (r - 0.7).abs() - 0.2)),
    ("plus", _solid(lambda u, v, r, f: _plus(u, v))),
    ("x-cross", _solid(lambda u, v, r, f: _plus(*_rot45(u, v)))),
    ("h-stripes", _solid(lambda u, v, r, f: _textured(_stripes(v, f), u, v))),
    ("v-stripes", _solid(lambda u, v, r, f: _textured(_stripes(u, f), u, v))),
    ("checker", _solid(lambda u, v, r, f: _textured(
        -torch.sin(math.pi * f * u) * torch.sin(math.pi * f * v) / (math.pi * f), u, v))),
    ("frame", _solid(lambda u, v, r, f: (torch.maximum(u.abs(), v.abs()) - 0.7).abs() - 0.18)),
    ("blob", lambda u, v, r, f, pixel: _gaussian(r, 0.45)),
    ("two blobs", lambda u, v, r, f, pixel: _two_blobs(u, v)),
    ("ellipse", _solid(lambda u, v, r, f: (torch.sqrt(u * u + (v / 0.45) ** 2) - 0.9) * 0.45)),
    ("h-bar", _solid(lambda u, v, r, f: _box(u, v, 0.9, 0.22))),
    ("v-bar", _solid(lambda u, v, r, f: _box(u, v, 0.22, 0.9))),
    ("target", _solid(lambda u, v, r, f: torch.minimum((r - 0.75).abs() - 0.13, r - 0.25))),
    ("grid", _solid(lambda u, v, r, f: _grid(u, v))),
    ("dots", _solid(lambda u, v, r, f: torch.hypot(u.abs() - 0.45, v.abs() - 0.45) - 0.28)),
    ("half disk", _solid(lambda u, v, r, f: torch.maximum(r - 0.9, v - 0.1))),
    ("d-stripes", _solid(lambda u, v, r, f: _textured(_stripes(_rot45(u, v)[0], f), u, v))),
)

CLASS_NAMES: tuple[str, ...] = tuple(name for name, _ in FIGURES)
MAX_CLASSES = len(FIGURES)


# ----- drawing --------------------------------------------------------------------------------
def make_synthetic(size: int, image_size: int, channels: int, classes: int, seed: int,
                   split: str) -> tuple[Tensor, Tensor]:
    """Draw ``size`` images (uint8 N×C×S×S) and their labels (int64), balanced over classes.

    Labels cycle through the classes and are then shuffled, so class counts differ by at most
    one. ``split`` ("train" or "val") selects an independent stream for the same seed.
    """
    gen = make_generator(torch.device("cpu"), derive_seed(seed, _SPLIT_STREAM[split]))
    labels = (torch.arange(size) % classes)[torch.randperm(size, generator=gen)]
    params = _draw_params(size, channels, gen)
    images = torch.empty(size, channels, image_size, image_size, dtype=torch.uint8)
    step = max(1, _CHUNK_PIXELS // (image_size * image_size))
    for start in range(0, size, step):
        part = slice(start, min(size, start + step))
        chunk = {k: p[part] for k, p in params.items()}
        images[part] = _render(labels[part], chunk, image_size, gen)
    return images, labels


def _draw_params(n: int, channels: int, gen: torch.Generator) -> dict[str, Tensor]:
    def uniform(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, *shape, generator=gen)

    scale = uniform(0.45, 0.8)
    reach = 1.0 - 0.85 * scale  # keep most of the figure inside the frame
    background = uniform(0.0, 1.0, channels)
    # Foreground: brighter or darker than the background by at least _MIN_CONTRAST on average,
    # with an independent tint per channel, so brightness alone never names the class.
    direction = torch.where(background.mean(1, keepdim=True) < 0.5, 1.0, -1.0)
    contrast = uniform(_MIN_CONTRAST, 0.7, 1)
    foreground = (background + direction * contrast + uniform(-0.15, 0.15, channels)).clamp(0, 1)
    return {
        "scale": scale, "cx": uniform(-1, 1) * reach, "cy": uniform(-1, 1) * reach,
        "angle": uniform(-0.35, 0.35), "freq": uniform(2.0, 3.0),
        "background": background, "foreground": foreground,
        "gradient": uniform(-0.12, 0.12, 2),
    }


def _render(labels: Tensor, p: dict[str, Tensor], size: int, gen: torch.Generator) -> Tensor:
    n = len(labels)
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) * (2.0 / size) - 1.0
    x, y = axis.view(1, 1, size), axis.view(1, size, 1)

    def column(t: Tensor) -> Tensor:
        return t.view(n, 1, 1)

    dx = (x - column(p["cx"])) / column(p["scale"])
    dy = (y - column(p["cy"])) / column(p["scale"])
    cos, sin = column(torch.cos(p["angle"])), column(torch.sin(p["angle"]))
    u, v = cos * dx + sin * dy, cos * dy - sin * dx
    pixel = column(2.0 / (size * p["scale"]))
    cover = torch.empty(n, size, size)
    for cls in labels.unique().tolist():
        m = labels == cls
        um, vm = u[m], v[m]
        cover[m] = FIGURES[cls][1](um, vm, torch.hypot(um, vm), column(p["freq"])[m], pixel[m])
    ramp = column(p["gradient"][:, 0]) * x + column(p["gradient"][:, 1]) * y
    bg = p["background"].view(n, -1, 1, 1) + ramp.unsqueeze(1)
    fg = p["foreground"].view(n, -1, 1, 1)
    img = torch.lerp(bg, fg.expand_as(bg), cover.unsqueeze(1))
    img += _NOISE * torch.randn(img.shape, generator=gen)
    return (img.clamp_(0, 1) * 255).round_().to(torch.uint8)
