"""The engine trains detectors and segmenters through their task objects: task metrics in
the epoch records, previews after validation, per-layer norms of backbone and head, and the
data's errors ending the run with one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from dense_models import detector, segmenter
from PIL import Image

from resnet_studio.data import DataConfig
from resnet_studio.train import Engine, TrainConfig
from resnet_studio.train.records import EpochRecord, PreviewRecord, RunEndRecord, StepRecord


class Collect:
    def __init__(self):
        self.records = []

    def on_record(self, record):
        self.records.append(record)

    def close(self):
        pass

    def of(self, kind):
        return [r for r in self.records if isinstance(r, kind)]


def config(dataset: str, **data) -> TrainConfig:
    data = {"train_size": 8, "val_size": 6, "image_size": 32, "fit": "none", **data}
    return TrainConfig(optimizer="adamw", lr=1e-3, epochs=1, batch_size=4, device="cpu",
                       telemetry_every=1, data=DataConfig(dataset=dataset, **data))


def run(model, cfg: TrainConfig) -> Collect:
    sink = Collect()
    torch.manual_seed(0)
    Engine(model, cfg, sinks=[sink]).run()
    return sink


def test_a_detector_trains_and_reports_map_and_previews():
    sink = run(detector(32), config("shapes-detection"))
    end = sink.of(RunEndRecord)[-1]
    assert end.status == "finished", end.message
    epoch = sink.of(EpochRecord)[0]
    assert set(epoch.metrics) == {"map", "map_50"}
    assert epoch.val_acc == epoch.metrics["map_50"]
    assert all(0.0 <= v <= 1.0 for v in epoch.metrics.values())
    assert math.isnan(epoch.train_acc) and math.isfinite(epoch.train_loss)
    assert math.isfinite(epoch.val_loss) and epoch.val_loss > 0
    assert epoch.confusion.shape == (0, 0)
    assert "mAP@0.5" in end.message
    preview = sink.of(PreviewRecord)
    assert len(preview) == 1 and preview[0].task == "detection" and preview[0].epoch == 1
    p = preview[0]
    assert p.images.dtype == np.uint8 and p.images.shape == (4, 32, 32, 3)
    assert len(p.boxes) == len(p.labels) == len(p.scores) == len(p.true_boxes) == 4
    assert all(b.shape[1:] == (4,) for b in p.true_boxes) and sum(map(len, p.true_boxes)) > 0
    assert p.class_names == ("background", "square", "disc", "triangle")


def test_a_detectors_layers_are_its_backbone_stages_and_heads():
    sink = run(detector(32), config("shapes-detection"))
    start = sink.records[0]
    assert start.layer_names == ("backbone.body.conv1", "backbone.body.bn1",
                                 "backbone.body.layer1", "backbone.body.layer2",
                                 "backbone.fpn", "rpn", "roi_heads")
    step = sink.of(StepRecord)[0]
    assert step.grad_norms.shape == (7,) and (step.grad_norms > 0).all()
    assert math.isnan(step.accuracy)


def test_a_segmenter_trains_and_reports_iou_from_the_pixel_confusion():
    sink = run(segmenter(), config("shapes-segmentation"))
    end = sink.of(RunEndRecord)[-1]
    assert end.status == "finished", end.message
    epoch = sink.of(EpochRecord)[0]
    assert set(epoch.metrics) == {"miou", "pixel_acc"}
    assert epoch.val_acc == epoch.metrics["miou"]
    assert epoch.confusion.shape == (4, 4)
    assert epoch.confusion.sum() == 6 * 32 * 32  # every validation pixel, none ignored
    accuracy = np.trace(epoch.confusion) / epoch.confusion.sum()
    assert epoch.metrics["pixel_acc"] == pytest.approx(accuracy)
    assert 0.0 <= epoch.train_acc <= 1.0
    p = sink.of(PreviewRecord)[0]
    assert p.task == "segmentation" and p.masks.shape == p.true_masks.shape == (4, 32, 32)
    assert p.images.shape == (4, 32, 32, 3) and p.masks.dtype == np.uint8
    assert set(np.unique(p.true_masks)) <= {0, 1, 2, 3} and len(np.unique(p.true_masks)) > 1


def test_the_preview_images_are_the_validation_pixels_with_normalisation_undone():
    from resnet_studio.data.dense import ShapesDataset

    sink = run(segmenter(), config("shapes-segmentation", augment=False))
    p = sink.of(PreviewRecord)[0]
    drawn = ShapesDataset(6, (3, 32, 32), seed=0, split="val")
    for i in range(4):
        assert np.abs(p.images[i].astype(int) - drawn.sample(i).image.astype(int)).max() <= 1
        assert (p.true_masks[i] == drawn.sample(i).mask).all()


def test_a_classifier_on_a_dense_set_is_refused_naming_both():
    from resnet_studio.graph import InputSpec
    from resnet_studio.presets import create

    sink = run(create("resnet18", InputSpec(3, 32, 32, 4)), config("shapes-detection"))
    end = sink.of(RunEndRecord)[-1]
    assert end.status == "failed"
    assert "classification network" in end.message and "shapes-detection" in end.message


def _coco(folder: Path, bbox: list[float]) -> Path:
    (folder / "images").mkdir(parents=True)
    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (40, 30), (90, 20, 200)).save(folder / "images" / name)
    data = {"images": [{"id": i, "file_name": n, "width": 40, "height": 30}
                       for i, n in enumerate(("a.png", "b.png", "c.png"), 1)],
            "annotations": [{"image_id": 1, "bbox": [2, 2, 10, 10], "category_id": 7},
                            {"image_id": 2, "bbox": bbox, "category_id": 7}],
            "categories": [{"id": 7, "name": "thing"}]}
    (folder / "annotations.json").write_text(json.dumps(data))
    return folder


def test_a_bad_box_ends_the_run_with_one_line_naming_file_image_and_box(tmp_path):
    folder = _coco(tmp_path / "set", [30, 5, 20, 10])  # x + w = 50 > 40
    sink = run(detector(32, classes=2), config(f"coco:{folder}", val_fraction=0.34))
    end = sink.of(RunEndRecord)[-1]
    assert end.status == "failed" and "\n" not in end.message
    assert str(folder / "annotations.json") in end.message
    assert "'b.png'" in end.message and "box 0" in end.message
    assert "[30, 5, 20, 10]" in end.message


def test_a_coco_folder_trains_at_the_networks_input(tmp_path):
    folder = _coco(tmp_path / "set", [20, 5, 10, 10])
    cfg = config(f"coco:{folder}", val_fraction=0.34)
    cfg = cfg.replace(batch_size=2, data=cfg.data.replace(fit="none", image_size=32))
    sink = run(detector(32, classes=2), cfg)
    end = sink.of(RunEndRecord)[-1]
    assert end.status == "finished", end.message
    start = sink.records[0]
    assert start.data["class_names"] == ["background", "thing"]
    assert (start.data["height"], start.data["width"]) == (32, 32)
    assert start.data["train_size"] == 2 and start.data["val_size"] == 1


def test_overfitting_one_batch_uses_the_tasks_loss():
    from resnet_studio.train.sanity import overfit_batch

    cfg = config("shapes-segmentation").replace(lr=3e-3)
    torch.manual_seed(0)
    result = overfit_batch(segmenter(), cfg, steps=25)
    assert result.losses[-1] < 0.8 * result.losses[0]  # the pixel loss falls
    assert 0.0 <= result.accuracy <= 1.0
    torch.manual_seed(0)
    found = overfit_batch(detector(32), config("shapes-detection"), steps=3)
    assert all(math.isfinite(v) for v in found.losses) and math.isnan(found.accuracy)
    assert "nan" not in found.verdict()


def test_a_dense_run_writes_its_run_directory_and_resumes(tmp_path):
    cfg = config("shapes-segmentation")
    torch.manual_seed(0)
    first = Engine(segmenter(), cfg, run_dir=tmp_path / "run").run()
    assert first.status == "finished", first.message
    spec = json.loads((tmp_path / "run" / "config.json").read_text())["data_spec"]
    assert spec["task"] == "segmentation" and spec["version"] == 2
    sink = Collect()
    again = Engine(segmenter(), cfg.replace(epochs=2), sinks=[sink], run_dir=tmp_path / "run",
                   resume_from=tmp_path / "run" / "last.pt")
    end = again.run()
    assert end.status == "finished", end.message
    assert [r.epoch for r in sink.of(EpochRecord)] == [2]
    assert [r.epoch for r in sink.of(PreviewRecord)] == [2]


def test_an_fcns_layers_are_its_backbone_stages_and_classifier():
    from resnet_studio.train.telemetry import Layers

    assert Layers.of(segmenter()).names == ("backbone.conv1", "backbone.bn1", "backbone.layer1",
                                            "backbone.layer2", "classifier")


def test_a_classifier_keeps_its_records_without_metrics_or_previews():
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu", data=DataConfig(
        train_size=16, val_size=8, image_size=16, classes=3, fit="none"))
    sink = run(model, cfg)
    epoch = sink.of(EpochRecord)[0]
    assert epoch.metrics == {} and sink.of(PreviewRecord) == []
    assert epoch.confusion.shape == (3, 3) and epoch.confusion.sum() == 8
    assert epoch.val_acc == pytest.approx(np.trace(epoch.confusion) / 8)
    assert 0.0 <= epoch.train_acc <= 1.0
    assert "validation accuracy" in sink.of(RunEndRecord)[-1].message
