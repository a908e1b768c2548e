"""DataConfig validation, serialisation and the dataset catalogue."""

from __future__ import annotations

import json

import pytest

from resnet_studio.data import DATASETS, DataConfig, DataError, load_data


def test_defaults_are_valid_and_synthetic():
    cfg = DataConfig()
    assert cfg.validate() is cfg
    assert cfg.dataset == "synthetic"


def test_json_round_trip():
    cfg = DataConfig(dataset="folder:/tmp/x", val_folder="/tmp/v", flip=False, cutout=8, seed=3)
    text = json.dumps(cfg.to_dict())
    assert DataConfig.from_dict(json.loads(text)) == cfg


def test_from_dict_names_unknown_keys():
    with pytest.raises(DataError, match="imagesize"):
        DataConfig.from_dict({"imagesize": 32})


@pytest.mark.parametrize("field, value, fragment", [
    ("dataset", "imagenet", "dataset 'imagenet' is unknown"),
    ("dataset", "folder:", "needs a path"),
    ("dataset", 3, "dataset must be a str"),
    ("root", "", "root"),
    ("download", "yes", "download must be a bool"),
    ("val_fraction", 0.0, "val_fraction must be strictly between 0 and 1"),
    ("val_fraction", 1.0, "val_fraction"),
    ("val_fraction", float("nan"), "val_fraction"),
    ("val_folder", "", "val_folder"),
    ("val_folder", 5, "val_folder must be a str or null"),
    ("train_size", 0, "train_size must be between 1"),
    ("val_size", 2.5, "val_size must be a whole number"),
    ("image_size", 4, "image_size must be between 8 and 256"),
    ("image_size", 300, "image_size must be between 8 and 256"),
    ("image_size", 32.0, "image_size must be a whole number"),
    ("channels", 2, "channels must be 1 (grey) or 3 (colour)"),
    ("channels", True, "channels"),
    ("classes", 1, "classes must be between 2 and 20"),
    ("classes", 21, "classes must be between 2 and 20"),
    ("augment", 1, "augment must be a bool"),
    ("crop_padding", 17, "crop_padding must be between 0 and 16"),
    ("flip", "no", "flip must be a bool or null"),
    ("cutout", 33, "cutout must be between 0 and 32"),
    ("color_jitter", -0.1, "color_jitter must be between 0 and 1"),
    ("seed", -1, "seed must be between 0"),
    ("in_memory", "auto", "in_memory must be a bool or null"),
    ("memory_limit_gib", 0, "memory_limit_gib"),
    ("workers", -1, "workers must be between 0 and 64"),
])
def test_invalid_fields_are_named(field, value, fragment):
    with pytest.raises(DataError) as err:
        DataConfig(**{field: value}).validate()
    assert fragment in str(err.value)
    assert field in str(err.value) or field == "dataset"


def test_catalogue_lists_every_dataset_with_a_description():
    for name in ("synthetic", "mnist", "fashion_mnist", "cifar10", "cifar100", "svhn"):
        assert DATASETS[name].strip() and "\n" not in DATASETS[name]
        DataConfig(dataset=name).validate()
    assert any(key.startswith("folder:") for key in DATASETS)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"batch_size": 8, "rank": 2, "world_size": 2}, "rank 2"),
    ({"batch_size": 8, "world_size": 0}, "rank 0"),
    ({"batch_size": 4000}, "batch_size 4000 is larger than the 2000 training images"),
])
def test_load_data_checks_run_arguments(kwargs, fragment):
    with pytest.raises(DataError, match=fragment):
        load_data(DataConfig(train_size=2000, val_size=10, image_size=8), **kwargs)
