"""Batched tensor augmentation: crop, flip, colour jitter and cutout do what they say."""

from __future__ import annotations

import pytest
import torch

from resnet_studio.data.augment import (
    Augment,
    Draws,
    Normaliser,
    augment_batch,
    color_jitter,
    crop_flip,
    cutout,
    derive_seed,
    make_generator,
)

CPU = torch.device("cpu")


def _gen(seed: int = 0) -> torch.Generator:
    return make_generator(CPU, seed)


def _crop_flip(images: torch.Tensor, padding: int, flip: bool, gen: torch.Generator):
    draws = Draws.draw(Augment(crop_padding=padding, flip=flip), len(images), *images.shape[2:],
                       gen)
    return crop_flip(images, padding, draws.offsets, draws.flips if flip else None)


def _cutout(x: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    return cutout(x, size, Draws.draw(Augment(cutout=size), len(x), *x.shape[2:], gen).centres)


def _jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    draws = Draws.draw(Augment(color_jitter=strength), len(x), *x.shape[2:], gen)
    return color_jitter(x, draws.factors)


def _images(n: int = 64, c: int = 3, h: int = 10, w: int = 12) -> torch.Tensor:
    # Values 1..255 (never 0) so zero padding is recognisable in the output.
    return torch.randint(1, 256, (n, c, h, w), generator=_gen(99), dtype=torch.uint8)


def _placements(image: torch.Tensor, out: torch.Tensor, pad: int) -> list[tuple[int, int, bool]]:
    """Every (top, left, flipped) window of the zero-padded ``image`` that equals ``out``."""
    padded = torch.nn.functional.pad(image, (pad,) * 4)
    h, w = image.shape[1:]
    found = []
    for top in range(2 * pad + 1):
        for left in range(2 * pad + 1):
            window = padded[:, top:top + h, left:left + w]
            found += [(top, left, False)] if torch.equal(window, out) else []
            found += [(top, left, True)] if torch.equal(window.flip(-1), out) else []
    return found


def test_crop_keeps_shape_and_is_a_window_of_the_padded_image():
    images = _images()
    out = _crop_flip(images, 3, False, _gen())
    assert out.shape == images.shape and out.dtype == torch.uint8
    offsets = set()
    for image, result in zip(images, out, strict=True):
        places = _placements(image, result, 3)
        assert places and not any(flipped for *_, flipped in places)
        offsets.update((top, left) for top, left, _ in places)
    tops = {t for t, _ in offsets}
    assert {0, 6} <= tops  # both extremes of [0, 2 * padding] occur
    assert any(v == 0 for v in out.flatten().tolist())  # some padding shows


def test_flip_flips_about_half_and_nothing_else():
    images = _images()
    out = _crop_flip(images, 0, True, _gen())
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 10 < sum(flipped) < 54


def test_crop_and_flip_together():
    images = _images(32)
    out = _crop_flip(images, 2, True, _gen(3))
    places = [_placements(i, o, 2) for i, o in zip(images, out, strict=True)]
    assert all(places)
    assert any(p[0][2] for p in places) and not all(p[0][2] for p in places)


def test_same_generator_seed_same_augmentation():
    images = _images()
    aug = Augment(crop_padding=4, flip=True, cutout=4, color_jitter=0.4)
    norm = Normaliser((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), CPU)
    first = augment_batch(images, aug, norm, _gen(derive_seed(1, 2, 3)))
    again = augment_batch(images, aug, norm, _gen(derive_seed(1, 2, 3)))
    other = augment_batch(images, aug, norm, _gen(derive_seed(1, 2, 4)))
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("size", [8, 5])
def test_cutout_zeroes_one_square_clipped_at_the_border(size):
    x = torch.ones(200, 3, 16, 16)
    out = _cutout(x, size, _gen())
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # same square in every channel
    assert torch.all(out[~zero] == 1)
    full = 0
    for mask in zero[:, 0]:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        height, width = len(rows), len(cols)
        assert mask.sum() == height * width  # a rectangle …
        assert rows.max() - rows.min() + 1 == height and cols.max() - cols.min() + 1 == width
        assert size - size // 2 <= height <= size and size - size // 2 <= width <= size
        full += height == width == size  # … that is the square unless clipped at the border
    assert full > 50


def test_colour_jitter_stays_in_range_and_changes_images():
    x = torch.rand(50, 3, 8, 8, generator=_gen(5))
    out = _jitter(x, 0.5, _gen())
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out - x).abs().mean() > 0.02
    grey = torch.rand(50, 1, 8, 8, generator=_gen(5))
    assert not torch.equal(_jitter(grey, 0.5, _gen()), grey)


def test_colour_jitter_brightness_scales_dark_images_proportionally():
    # A uniform image has zero contrast and no saturation, so only brightness acts on it.
    x = torch.full((20, 3, 4, 4), 0.25)
    out = _jitter(x, 0.5, _gen())
    factors = out[:, 0, 0, 0] / 0.25
    assert torch.all((factors >= 0.5 - 1e-6) & (factors <= 1.5 + 1e-6))
    assert torch.allclose(out, factors.view(-1, 1, 1, 1) * x, atol=1e-6)
    assert factors.std() > 0.1


def test_normaliser_matches_the_formula():
    images = _images(4)
    norm = Normaliser((0.4, 0.5, 0.6), (0.2, 0.25, 0.3), CPU)
    expected = (images.float() / 255 - torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)) \
        / torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1)
    assert torch.allclose(norm.from_uint8(images), expected, atol=1e-5)


def test_inactive_augment_is_plain_normalisation():
    images = _images(4)
    norm = Normaliser((0.5,) * 3, (0.5,) * 3, CPU)
    assert not Augment().active
    assert torch.equal(augment_batch(images, Augment(), norm, _gen()), norm.from_uint8(images))


def test_derived_seeds_differ_for_nearby_inputs():
    seeds = {derive_seed(0, e, b) for e in range(10) for b in range(10)}
    assert len(seeds) == 100 and all(0 <= s < 2**63 for s in seeds)
