"""A training subset for any dataset: class-balanced, drawn from the data seed, with the
statistics of the images kept, and counted by the study's estimate."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from test_analysis_support import image_folder

from resnet_studio.data import DataConfig, DataError, load_data
from resnet_studio.study.estimate import data_sizes
from resnet_studio.train.config import TrainConfig


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return image_folder(tmp_path_factory.mktemp("subset"), 1, 12, per_class=(30, 14, 6))


def training_set(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor, object]:
    bundle = load_data(cfg, 2, target=(1, 12, 12))
    images = torch.cat([x for x, _ in bundle.train.epoch(0)])
    labels = torch.cat([y for _, y in bundle.train.epoch(0)])
    return images, labels, bundle.info


def config(folder, **changes) -> DataConfig:
    return DataConfig(dataset=f"folder:{folder}", val_fraction=0.2, augment=False, **changes)


def test_the_subset_is_balanced_and_its_statistics_are_its_own(folder):
    _, full_labels, full = training_set(config(folder))
    images, labels, info = training_set(config(folder, subset=12))
    assert full.train_size == 40 and Counter(full_labels.tolist()) == {0: 24, 1: 11, 2: 5}
    assert info.train_size == 12 and Counter(labels.tolist()) == {0: 4, 1: 4, 2: 4}
    assert tuple(info.train_counts) == (4, 4, 4)
    assert info.val_size == full.val_size  # validation stays whole
    # Statistics of the kept images, computed here from the raw pixels they came from.
    raw = images * torch.tensor(info.std) + torch.tensor(info.mean)
    assert raw.mean().item() == pytest.approx(info.mean[0], abs=2e-3)
    assert raw.std(unbiased=False).item() == pytest.approx(info.std[0], abs=2e-3)
    assert info.mean != full.mean
    assert "class-balanced subset of 12 of the 40 training images" in info.fit


def test_the_subset_follows_the_data_seed(folder):
    first = training_set(config(folder, subset=12, seed=3))[0]
    again = training_set(config(folder, subset=12, seed=3))[0]
    other = training_set(config(folder, subset=12, seed=4))[0]
    key = lambda images: sorted(map(tuple, images.flatten(1).tolist()))  # noqa: E731
    assert key(first) == key(again) and key(first) != key(other)


def test_a_subset_larger_than_the_split_keeps_everything(folder):
    assert training_set(config(folder, subset=1000))[2].train_size == 40


@pytest.mark.parametrize("value", [0, -5, 2.5, True])
def test_a_bad_subset_is_refused_by_name(value):
    with pytest.raises(DataError, match="subset"):
        DataConfig(subset=value).validate()


def test_the_estimate_counts_the_subset():
    data = TrainConfig().data
    synthetic = TrainConfig(data=data.replace(train_size=2000, subset=300)).to_dict()
    mnist = TrainConfig(data=data.replace(dataset="mnist", subset=5000)).to_dict()
    assert data_sizes(synthetic) == (300, 500)
    assert data_sizes(mnist) == (5000, 6000)
    assert data_sizes(TrainConfig(data=data.replace(dataset="mnist")).to_dict()) == (54000, 6000)
