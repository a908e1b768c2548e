"""The batched augmentation against a plain per-image reference, and its independence of the
device: every random parameter is drawn on the host, whatever device the images live on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from resnet_studio.data import augment as augment_module
from resnet_studio.data import batches as batches_module
from resnet_studio.data.augment import Augment, Draws, Normaliser, augment_batch, make_generator
from resnet_studio.data.batches import Sampling, TensorBatches

CPU = torch.device("cpu")
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
LUMA = np.array([0.299, 0.587, 0.114])


def _images(n: int, c: int, h: int, w: int, seed: int = 7) -> torch.Tensor:
    gen = make_generator(CPU, seed)
    return torch.randint(0, 256, (n, c, h, w), generator=gen, dtype=torch.uint8)


def _grey(x: np.ndarray) -> np.ndarray:
    return np.tensordot(LUMA, x, axes=1)[None] if len(x) == 3 else x


def _jitter(x: np.ndarray, brightness: float, contrast: float, saturation: float) -> np.ndarray:
    """torchvision ColorJitter's three blends, in this order, for one C×H×W image in [0, 1]."""
    x = np.clip(x * brightness, 0, 1)
    mean = _grey(x).mean()
    x = np.clip(mean + contrast * (x - mean), 0, 1)
    if len(x) == 3:
        grey = _grey(x)
        x = np.clip(grey + saturation * (x - grey), 0, 1)
    return x


def _reference(image: np.ndarray, aug: Augment, row: np.ndarray) -> np.ndarray:
    """One uint8 C×H×W image augmented by hand with the parameters ``row`` of ``Draws``."""
    c, h, w = image.shape
    top, left, flip, cut_row, cut_col = (int(v) for v in row[:5])
    p = aug.crop_padding
    padded = np.pad(image, ((0, 0), (p, p), (p, p)))
    out = padded[:, top:top + h, left:left + w]
    if aug.flip and flip:
        out = out[:, :, ::-1]
    x = out.astype(np.float64) / 255.0
    if aug.color_jitter:
        x = _jitter(x, *row[5:8])
    x = (x - np.array(MEAN[:c])[:, None, None]) / np.array(STD[:c])[:, None, None]
    if aug.cutout:
        y0, x0 = cut_row - aug.cutout // 2, cut_col - aug.cutout // 2
        x[:, max(y0, 0):max(y0 + aug.cutout, 0), max(x0, 0):max(x0 + aug.cutout, 0)] = 0.0
    return x


CASES = [
    (Augment(crop_padding=3), 3, 7, 9),
    (Augment(flip=True), 3, 5, 11),                      # padding 0: flip alone
    (Augment(crop_padding=2, flip=True), 1, 9, 7),
    (Augment(cutout=4), 3, 9, 9),
    (Augment(cutout=5), 1, 7, 13),                       # odd size, clipped at the border
    (Augment(color_jitter=0.4), 3, 6, 5),
    (Augment(color_jitter=0.5), 1, 5, 5),                # one channel: no saturation
    (Augment(crop_padding=4, flip=True, cutout=3, color_jitter=0.3), 3, 11, 9),
]


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize(("aug", "c", "h", "w"), CASES)
def test_batched_augmentation_equals_the_per_image_reference(aug, c, h, w, seed):
    images = _images(24, c, h, w, seed)
    norm = Normaliser(MEAN[:c], STD[:c], CPU)
    out = augment_batch(images, aug, norm, make_generator(CPU, seed))
    draws = Draws.draw(aug, 24, h, w, make_generator(CPU, seed)).packed.numpy()
    expected = np.stack([_reference(i, aug, r) for i, r in zip(images.numpy(), draws,
                                                                 strict=True)])
    assert out.shape == images.shape and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=2e-5)


def test_drawn_parameters_follow_the_documented_ranges():
    aug = Augment(crop_padding=3, flip=True, cutout=4, color_jitter=0.25)
    draws = Draws.draw(aug, 400, 7, 9, make_generator(CPU, 3))
    offsets, centres = draws.offsets, draws.centres
    assert set(offsets.flatten().tolist()) == set(range(7))  # RandomCrop: [0, 2 * padding]
    assert 150 < int(draws.flips.sum()) < 250
    assert set(centres[:, 0].tolist()) == set(range(7))
    assert set(centres[:, 1].tolist()) == set(range(9))
    factors = draws.factors
    assert factors.shape == (3, 400)
    assert factors.min() >= 0.75 and factors.max() <= 1.25 and factors.std() > 0.1
    assert Draws.draw(aug, 400, 7, 9, make_generator(CPU, 3)).packed.equal(draws.packed)


def test_an_augmentation_that_is_off_draws_nothing_for_it():
    draws = Draws.draw(Augment(crop_padding=2), 50, 8, 8, make_generator(CPU, 0))
    assert draws.offsets.max() > 0
    assert not draws.flips.any() and not draws.centres.any()
    assert not draws.packed[:, 5:].any()


def _recorder(monkeypatch) -> list[str]:
    """Record the device of every generator the batches make and every generator that draws
    augmentation parameters."""
    devices: list[str] = []
    real_make, real_draw = batches_module.make_generator, Draws.draw.__func__

    def make(device, seed):
        devices.append(torch.device(device).type)
        return real_make(device, seed)

    def draw(cls, aug, n, h, w, gen):
        devices.append(gen.device.type)
        return real_draw(cls, aug, n, h, w, gen)

    monkeypatch.setattr(batches_module, "make_generator", make)
    monkeypatch.setattr(augment_module.Draws, "draw", classmethod(draw))
    return devices


def test_parameters_are_drawn_on_the_host_whatever_the_images_device(monkeypatch):
    devices = _recorder(monkeypatch)
    # Images on the meta device stand in for an accelerator: the pixels never reach the
    # host, yet every generator must be a CPU one.
    images = torch.empty(12, 3, 6, 6, dtype=torch.uint8, device="meta")
    labels = torch.empty(12, dtype=torch.long, device="meta")
    norm = Normaliser(MEAN, STD, torch.device("meta"))
    aug = Augment(crop_padding=2, flip=True, cutout=3, color_jitter=0.2)
    split = TensorBatches(images, labels, 4, norm, aug, Sampling(seed=5, shuffle=True))
    out = [x for x, _ in split.epoch(1)]
    assert len(out) == 3 and all(x.device.type == "meta" and x.shape == (4, 3, 6, 6)
                                 for x in out)
    assert devices.count("cpu") == len(devices) and len(devices) >= 2 * 3  # made, drawn: each batch


def _split(aug: Augment) -> TensorBatches:
    images, labels = _images(20, 3, 7, 7, seed=4), torch.arange(20) % 3
    return TensorBatches(images, labels, 6, Normaliser(MEAN, STD, CPU), aug,
                         Sampling(seed=9, shuffle=True, drop_last=True))


def test_a_batch_depends_only_on_seed_epoch_and_batch():
    aug = Augment(crop_padding=2, flip=True, cutout=3, color_jitter=0.3)
    first, second = _split(aug), _split(aug)
    a = [x for x, _ in first.epoch(2)]
    b = [x for x, _ in second.epoch(2)]
    assert len(a) == 3 and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    resumed = [x for x, _ in second.epoch(2, start_batch=1)]
    assert all(torch.equal(x, y) for x, y in zip(a[1:], resumed, strict=True))
    assert not torch.equal(a[0], next(iter(first.epoch(3)))[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_and_cuda_augment_a_batch_alike():
    cuda = torch.device("cuda")
    aug = Augment(crop_padding=4, flip=True, cutout=5, color_jitter=0.4)
    images = _images(64, 3, 15, 17)
    host = augment_batch(images, aug, Normaliser(MEAN, STD, CPU), make_generator(CPU, 11))
    device = augment_batch(images.to(cuda), aug, Normaliser(MEAN, STD, cuda),
                           make_generator(CPU, 11))
    torch.testing.assert_close(device.cpu(), host, rtol=0, atol=1e-5)
    geometric = Augment(crop_padding=4, flip=True, cutout=5)
    host = augment_batch(images, geometric, Normaliser(MEAN, STD, CPU), make_generator(CPU, 2))
    device = augment_batch(images.to(cuda), geometric, Normaliser(MEAN, STD, cuda),
                           make_generator(CPU, 2))
    torch.testing.assert_close(device.cpu(), host, rtol=0, atol=1e-6)
