"""The built-in synthetic dataset: determinism, shapes, balance, statistics, learnability."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_studio.data import DataConfig, load_data
from resnet_studio.data.synthetic import CLASS_NAMES, MAX_CLASSES, make_synthetic


def test_same_seed_same_images_different_seed_different():
    a_images, a_labels = make_synthetic(300, 32, 3, 10, seed=5, split="train")
    b_images, b_labels = make_synthetic(300, 32, 3, 10, seed=5, split="train")
    c_images, c_labels = make_synthetic(300, 32, 3, 10, seed=6, split="train")
    assert torch.equal(a_images, b_images) and torch.equal(a_labels, b_labels)
    assert not torch.equal(a_images, c_images)
    assert not torch.equal(a_labels, c_labels)


def test_train_and_val_are_different_draws():
    train, _ = make_synthetic(100, 16, 1, 4, seed=0, split="train")
    val, _ = make_synthetic(100, 16, 1, 4, seed=0, split="val")
    assert not torch.equal(train, val)


def test_bundles_from_equal_configs_are_identical():
    cfg = DataConfig(train_size=200, val_size=50, image_size=16, seed=9)
    first, second = load_data(cfg, 32), load_data(cfg, 32)
    for (x1, y1), (x2, y2) in zip(first.train.epoch(2), second.train.epoch(2), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert first.info == second.info


@pytest.mark.parametrize("size, channels", [(28, 1), (28, 3), (32, 1), (32, 3), (8, 3), (61, 1)])
def test_shapes(size, channels):
    bundle = load_data(DataConfig(train_size=64, val_size=20, image_size=size, channels=channels),
                       16)
    x, y = next(bundle.train.epoch(0))
    assert x.shape == (16, channels, size, size) and x.dtype == torch.float32
    assert y.shape == (16,) and y.dtype == torch.int64
    info = bundle.info
    assert (info.channels, info.height, info.width) == (channels, size, size)
    assert len(info.mean) == len(info.std) == channels
    assert (info.train_size, info.val_size) == (64, 20)


@pytest.mark.parametrize("size, classes", [(1003, 7), (40, 20), (10, 2)])
def test_classes_are_balanced(size, classes):
    _, labels = make_synthetic(size, 8, 1, classes, seed=1, split="train")
    counts = torch.bincount(labels, minlength=classes)
    assert len(counts) == classes
    assert counts.max() - counts.min() <= 1


def test_labels_are_shuffled_not_cycled():
    _, labels = make_synthetic(100, 8, 1, 10, seed=1, split="train")
    assert not torch.equal(labels, torch.arange(100) % 10)


def test_class_names_and_info():
    bundle = load_data(DataConfig(classes=12, train_size=120, val_size=24, image_size=16), 8)
    assert bundle.info.classes == 12
    assert bundle.info.class_names == list(CLASS_NAMES[:12])
    assert len(set(CLASS_NAMES)) == MAX_CLASSES == 20
    assert bundle.info.name == "synthetic"


def test_normalisation_statistics_are_those_of_the_training_images():
    images, _ = make_synthetic(500, 16, 3, 10, seed=2, split="train")
    bundle = load_data(DataConfig(train_size=500, val_size=10, image_size=16, seed=2), 50)
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1)
    assert torch.allclose(torch.tensor(bundle.info.mean, dtype=torch.float64), pixels.mean(1),
                          atol=1e-4)
    assert torch.allclose(torch.tensor(bundle.info.std, dtype=torch.float64), pixels.std(1),
                          atol=1e-3)


def test_colour_and_brightness_alone_do_not_tell_the_classes_apart():
    """Nearest class centroid on per-channel mean and spread stays near chance: the classes
    differ in shape, orientation and texture, which is what a CNN has to learn."""
    train, train_labels = make_synthetic(2000, 32, 3, 10, seed=0, split="train")
    val, val_labels = make_synthetic(1000, 32, 3, 10, seed=0, split="val")

    def features(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.float().mean((2, 3)), x.float().std((2, 3))], 1)

    train_f = features(train)
    centroids = torch.stack([train_f[train_labels == c].mean(0) for c in range(10)])
    predicted = torch.cdist(features(val), centroids).argmin(1)
    assert (predicted == val_labels).float().mean() < 0.2  # chance is 0.1


def _tiny_cnn(channels: int, classes: int) -> nn.Module:
    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*stage(channels, 16), *stage(16, 32), *stage(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def test_a_tiny_cnn_learns_it_well_above_chance():
    torch.manual_seed(0)
    cfg = DataConfig(train_size=2000, val_size=500, augment=False, seed=0)
    bundle = load_data(cfg, 32)
    net = _tiny_cnn(3, 10)
    epochs = 6  # 6 × 62 = 372 steps
    opt = torch.optim.Adam(net.parameters(), 5e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / (epochs * len(bundle.train)))
    for epoch in range(epochs):
        for x, y in bundle.train.epoch(epoch):
            loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    with torch.no_grad():
        correct = sum((net(x).argmax(1) == y).sum().item() for x, y in bundle.val.epoch(0))
    assert correct / bundle.info.val_size > 0.6  # chance is 0.1
