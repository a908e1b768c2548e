"""Dense sets in the data configuration and the data spec: names, batches in the task models'
form, reproducible epochs, and errors naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_studio.data import DataConfig, DataError, load_data
from resnet_studio.data.spec import DataSpec, load_spec, make_spec


@pytest.mark.parametrize("dataset, task", [
    ("shapes-detection", "detection"), ("shapes-segmentation", "segmentation"),
    ("coco:/data/x", "detection"), ("masks:/data/y", "segmentation"),
    ("synthetic", "classification"), ("folder:/data/z", "classification")])
def test_each_dataset_names_its_task(dataset, task):
    cfg = DataConfig(dataset=dataset).validate()
    assert cfg.task == task
    assert cfg.dense_folder == (dataset.split(":", 1)[1] if task != "classification"
                                and ":" in dataset else "")


@pytest.mark.parametrize("changes, named", [
    ({"dataset": "coco:"}, "needs a path"), ({"dataset": "masks: "}, "needs a path"),
    ({"dataset": "shapes-detection", "cutout": 4}, "cutout"),
    ({"dataset": "shapes-segmentation", "subset": 10}, "subset"),
    ({"dataset": "shapes-detection", "color_jitter": 0.2}, "color_jitter")])
def test_settings_a_dense_set_cannot_honour_are_refused_by_name(changes, named):
    with pytest.raises(DataError, match=named):
        DataConfig(**changes).validate()


def shapes(task: str, **changes) -> DataConfig:
    return DataConfig(dataset=f"shapes-{task}", train_size=10, val_size=5, image_size=32,
                      fit="none", **changes)


def test_detection_batches_are_images_and_box_targets():
    bundle = load_data(shapes("detection"), 4)
    x, y = next(iter(bundle.train.epoch(0)))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 0.5  # normalised
    assert len(y) == 4 and all(set(t) == {"boxes", "labels"} for t in y)
    assert all(t["boxes"].shape == (len(t["labels"]), 4) and t["labels"].dtype == torch.int64
               for t in y)
    assert all(((t["labels"] >= 1) & (t["labels"] <= 3)).all() for t in y)
    assert bundle.info.task == "detection" and bundle.info.classes == 4
    assert len(bundle.train) == 2 and len(bundle.val) == 2  # 10 // 4 dropping the tail; 5 / 4


def test_segmentation_batches_are_images_and_class_masks():
    bundle = load_data(shapes("segmentation"), 5)
    x, y = next(iter(bundle.val.epoch(0)))
    assert x.shape == (5, 3, 32, 32) and y.shape == (5, 32, 32) and y.dtype == torch.int64
    assert set(torch.unique(y).tolist()) <= {0, 1, 2, 3}


def test_an_epoch_resumed_at_a_batch_sees_the_same_augmented_batches():
    bundle = load_data(shapes("segmentation", crop_padding=4), 2)
    whole = list(bundle.train.epoch(3))
    resumed = list(bundle.train.epoch(3, start_batch=2))
    assert len(resumed) == len(whole) - 2
    for (xa, ya), (xb, yb) in zip(whole[2:], resumed):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    other = list(bundle.train.epoch(4))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(whole, other))


def test_the_network_input_decides_the_served_size():
    cfg = shapes("detection").replace(fit="network")
    bundle = load_data(cfg, 2, target=(1, 48, 48))
    x, _ = next(iter(bundle.val.epoch(0)))
    assert x.shape == (2, 1, 48, 48)


def test_a_dense_spec_records_its_task_and_rebuilds_the_same_batches():
    cfg = shapes("detection")
    bundle = load_data(cfg, 4)
    spec = make_spec(cfg, None, bundle.info)
    data = spec.to_dict()
    assert data["task"] == "detection" and data["version"] == 2
    again = DataSpec.from_dict(data)
    assert again == spec
    rebuilt = load_spec(again, 4)
    (xa, ya), (xb, yb) = next(iter(bundle.val.epoch(0))), next(iter(rebuilt.val.epoch(0)))
    assert torch.allclose(xa, xb)
    assert all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(ya, yb))


def test_a_version_one_spec_reads_as_classification():
    bundle = load_data(DataConfig(train_size=20, val_size=10, image_size=16, classes=2), 4)
    old = make_spec(DataConfig(train_size=20, val_size=10, image_size=16, classes=2), None,
                    bundle.info).to_dict()
    del old["task"]
    old["version"] = 1
    assert DataSpec.from_dict(old).task == "classification"


def _mask_folder(root, bad_size: bool = False):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(4):
        Image.new("RGB", (20, 16), (200, 30, 30)).save(root / "images" / f"p{i}.png")
        mask = np.zeros((16, 20 if not (bad_size and i == 2) else 18), np.uint8)
        mask[4:10, 5:12] = 1
        Image.fromarray(mask, mode="L").save(root / "masks" / f"p{i}.png")
    return root


def test_a_mask_folder_is_split_and_fitted(tmp_path):
    folder = _mask_folder(tmp_path / "seg")
    cfg = DataConfig(dataset=f"masks:{folder}", val_fraction=0.25, image_size=32, fit="none")
    bundle = load_data(cfg, 1)
    assert (bundle.info.train_size, bundle.info.val_size) == (3, 1)
    assert bundle.info.class_names == ["background", "class 1"]
    x, y = next(iter(bundle.val.epoch(0)))
    assert x.shape == (1, 3, 32, 32) and y.shape == (1, 32, 32)
    assert set(torch.unique(y).tolist()) == {0, 1}


def test_a_mask_of_the_wrong_size_is_named_with_its_image(tmp_path):
    folder = _mask_folder(tmp_path / "seg", bad_size=True)
    with pytest.raises(DataError, match=r"mask .*p2\.png is 18×16 but its image p2\.png"):
        load_data(DataConfig(dataset=f"masks:{folder}", fit="none"), 1)
