"""Batching: epoch length, deterministic order, exact mid-epoch resume, DDP sharding."""

from __future__ import annotations

import pytest
import torch

from resnet_studio.data import DataConfig, DataError, load_data
from resnet_studio.data.augment import Augment, Normaliser
from resnet_studio.data.batches import Sampling, TensorBatches
from resnet_studio.data.synthetic import make_synthetic

SMALL = DataConfig(train_size=300, val_size=70, image_size=16, classes=5, seed=4)
HEAVY = SMALL.replace(cutout=6, color_jitter=0.3)  # every augmentation on


def _plain(images: torch.Tensor, info) -> torch.Tensor:
    return Normaliser(info.mean, info.std, torch.device("cpu")).from_uint8(images)


def _same(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x1, x2) and torch.equal(y1, y2)
                                    for (x1, y1), (x2, y2) in zip(a, b, strict=True))


def test_lengths_drop_last_for_train_only():
    bundle = load_data(SMALL, 64)
    assert len(bundle.train) == 300 // 64
    assert len(bundle.val) == 2  # 64 + 6
    assert [len(y) for _, y in bundle.train.epoch(0)] == [64] * 4
    assert [len(y) for _, y in bundle.val.epoch(0)] == [64, 6]


def test_val_batches_are_the_plain_images_in_order_every_epoch():
    bundle = load_data(HEAVY, 32)
    images, labels = make_synthetic(70, 16, 3, 5, seed=4, split="val")
    for epoch in (0, 5):
        xs, ys = zip(*bundle.val.epoch(epoch), strict=True)
        assert torch.equal(torch.cat(ys), labels)
        assert torch.equal(torch.cat(xs), _plain(images, bundle.info))


def test_train_without_augmentation_is_the_plain_images_in_epoch_order():
    bundle = load_data(SMALL.replace(augment=False), 32)
    images, labels = make_synthetic(300, 16, 3, 5, seed=4, split="train")
    order = bundle.train.order(1)
    xs, ys = zip(*bundle.train.epoch(1), strict=True)
    used = order[: len(bundle.train) * 32]
    assert torch.equal(torch.cat(ys), labels[used])
    assert torch.equal(torch.cat(xs), _plain(images[used], bundle.info))


def test_train_with_augmentation_changes_images():
    bundle = load_data(SMALL, 32)
    images, _ = make_synthetic(300, 16, 3, 5, seed=4, split="train")
    x, _ = next(bundle.train.epoch(0))
    assert not torch.equal(x, _plain(images[bundle.train.order(0)[:32]], bundle.info))


def test_same_epoch_repeats_and_epochs_differ():
    bundle = load_data(HEAVY, 32)
    assert _same(list(bundle.train.epoch(3)), list(bundle.train.epoch(3)))
    assert not torch.equal(bundle.train.order(3), bundle.train.order(4))
    assert sorted(bundle.train.order(3).tolist()) == list(range(300))


@pytest.mark.parametrize("start", [0, 1, 4, 8, 9])
def test_resume_mid_epoch_reproduces_the_rest_exactly(start):
    bundle = load_data(HEAVY, 32)
    assert len(bundle.train) == 9
    full = list(bundle.train.epoch(2))
    # A fresh load stands in for a restarted process.
    resumed = list(load_data(HEAVY, 32).train.epoch(2, start_batch=start))
    assert _same(resumed, full[start:])


def test_resume_outside_the_epoch_is_an_error():
    bundle = load_data(SMALL, 32)
    with pytest.raises(DataError, match="cannot resume at batch 10: an epoch has 9 batches"):
        bundle.train.epoch(0, start_batch=10)


def _shards(size: int, world: int, epoch: int) -> list[torch.Tensor]:
    """Each rank's sample order for ``epoch`` over a set of ``size`` images."""
    images = torch.zeros(size, 1, 4, 4, dtype=torch.uint8)
    norm = Normaliser((0.5,), (0.5,), torch.device("cpu"))
    return [TensorBatches(images, torch.arange(size), 8, norm, Augment(),
                          Sampling(seed=7, shuffle=True, drop_last=True, rank=rank,
                                   world_size=world)).order(epoch)
            for rank in range(world)]


@pytest.mark.parametrize("size, world", [(96, 3), (100, 3), (64, 4), (50, 1)])
def test_shards_are_disjoint_equal_and_cover_the_permutation(size, world):
    shards = _shards(size, world, epoch=1)
    assert len({len(s) for s in shards}) == 1
    together = torch.cat(shards).tolist()
    assert len(set(together)) == len(together)  # disjoint
    assert len(together) == size - size % world  # covers all but the uneven tail
    assert set(together) <= set(range(size))
    assert shards[0].tolist() != _shards(size, world, epoch=2)[0].tolist()


def test_ranks_get_the_same_number_of_batches_and_their_own_samples():
    bundles = [load_data(SMALL.replace(augment=False), 16, rank=r, world_size=4) for r in range(4)]
    assert len({len(b.train) for b in bundles}) == 1
    assert len(bundles[0].train) == (300 // 4) // 16
    labels = [torch.cat([y for _, y in b.train.epoch(0)]) for b in bundles]
    _, all_labels = make_synthetic(300, 16, 3, 5, seed=4, split="train")
    for bundle, got in zip(bundles, labels, strict=True):
        assert torch.equal(got, all_labels[bundle.train.order(0)[: len(got)]])
    # Validation is not sharded: every rank evaluates the whole split.
    assert all(len(b.val) == len(bundles[0].val) for b in bundles)


def test_ranks_draw_different_augmentations():
    first = load_data(HEAVY.replace(color_jitter=0.0), 16, rank=0, world_size=2)
    second = load_data(HEAVY.replace(color_jitter=0.0), 16, rank=1, world_size=2)
    x0, _ = next(first.train.epoch(0))
    x1, _ = next(second.train.epoch(0))
    assert not torch.equal(x0, x1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_live_on_the_cuda_device_and_resume_exactly():
    bundle = load_data(HEAVY, 32, "cuda")
    x, y = next(bundle.train.epoch(0))
    assert x.is_cuda and y.is_cuda and x.dtype == torch.float32
    assert _same(list(bundle.train.epoch(1))[3:], list(bundle.train.epoch(1, start_batch=3)))
