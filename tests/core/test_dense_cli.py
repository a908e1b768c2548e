"""``resnet-studio train`` with dense sets: transfer flags, the epoch line's task metrics, the
recipe of a dense project, and the data's errors as one line."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from test_train_support import tiny_project

from resnet_studio.cli import main
from resnet_studio.presets import create
from resnet_studio.presets.recipes import SHAPES_DETECTION, SHAPES_SEGMENTATION
from resnet_studio.train.command import settings
from resnet_studio.train.config import TrainConfig
from resnet_studio.train.progress import ProgressSink
from resnet_studio.train.recipe import merge, project_training, recipe_config
from resnet_studio.train.records import EpochRecord


def _parsed(argv):
    import argparse

    from resnet_studio.train.command import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_transfer_flags_reach_the_configuration():
    args = _parsed(["train", "p.json", "--freeze-stages", "2", "--frozen-bn",
                    "--stage-lr-mult", "0.1,0.5", "--dataset", "shapes-detection"])
    config = settings(args, TrainConfig())
    assert (config.freeze_stages, config.frozen_bn, config.stage_lr_mult) == (2, True,
                                                                               (0.1, 0.5))
    assert config.data.task == "detection"


def test_a_bad_multiplier_list_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        _parsed(["train", "p.json", "--stage-lr-mult", "0.1,x"])
    assert "not a comma-separated list of numbers" in capsys.readouterr().err


def _epoch(metrics, train_acc):
    return EpochRecord(3, 30, 0.5, train_acc, 0.25, next(iter(metrics.values())),
                       np.zeros((0, 0)), True, 12.0, 0.01, metrics)


def test_the_epoch_line_shows_a_detectors_metrics_and_no_training_accuracy():
    line = ProgressSink.epoch_line(_epoch({"map": 0.412, "map_50": 0.734}, float("nan")))
    assert "mAP 0.412" in line and "mAP@0.5 0.734" in line
    assert "nan" not in line and "acc" not in line


def test_the_epoch_line_shows_a_segmenters_metrics_and_pixel_accuracy():
    line = ProgressSink.epoch_line(_epoch({"miou": 0.71, "pixel_acc": 0.93}, 0.9))
    assert "mIoU 0.710" in line and "pixel acc 0.930" in line and "pixel acc 90.0%" in line


def test_the_progress_of_a_dense_run_prints_metrics_per_epoch():
    stream = io.StringIO()
    sink = ProgressSink(stream, tty=False)
    sink.on_record(_epoch({"miou": 0.5, "pixel_acc": 0.8}, 0.75))
    assert "mIoU 0.500" in stream.getvalue()


@pytest.mark.parametrize("head, recipe", [("faster_rcnn", SHAPES_DETECTION),
                                          ("fcn_head", SHAPES_SEGMENTATION)])
def test_a_dense_project_without_settings_trains_with_its_heads_recipe(head, recipe):
    graph = create("resnet20")
    graph.nodes[list(graph.nodes)[-1]].type_id = head
    training = project_training(graph)
    assert training.recipe is recipe
    assert training.config.data.task == ("detection" if head == "faster_rcnn"
                                         else "segmentation")


def test_the_dense_recipes_validate_and_cite_torchvision():
    for recipe in (SHAPES_DETECTION, SHAPES_SEGMENTATION):
        config = recipe_config(recipe)
        assert "references/" in recipe.citation and config.data.task != "classification"
        assert merge(config, {"epochs": 2}, "x").epochs == 2


def test_a_bad_coco_box_through_the_cli_is_one_line(tmp_path, capsys):
    folder = tmp_path / "coco"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (20, 20)).save(folder / "images" / "one.png")
    Image.new("RGB", (20, 20)).save(folder / "images" / "two.png")
    (folder / "annotations.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "one.png", "width": 20, "height": 20},
                   {"id": 2, "file_name": "two.png", "width": 20, "height": 20}],
        "annotations": [{"image_id": 2, "bbox": [5, 5, -3, 4], "category_id": 1}],
        "categories": [{"id": 1, "name": "spot"}]}))
    # a preset adapts to the data, so the data is read (and refused) before any task check
    code = main(["train", "preset:small_resnet", "--dataset", f"coco:{folder}",
                 "--epochs", "1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    line = next(x for x in err.splitlines() if "annotations.json" in x)
    assert "'two.png'" in line and "box 0" in line and "[5, 5, -3, 4]" in line


def test_a_classifier_on_a_dense_set_through_the_cli_names_both(tmp_path, capsys):
    code = main(["train", str(tiny_project(tmp_path)), "--dataset", "shapes-segmentation",
                 "--train-size", "4", "--val-size", "2", "--epochs", "1",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "classification network" in err and "shapes-segmentation" in err


def test_the_summary_names_the_transfer_settings():
    from resnet_studio.train.recipe import ProjectTraining, describe

    text = "\n".join(describe(ProjectTraining(TrainConfig(freeze_stages=2, frozen_bn=True,
                                                          stage_lr_mult=(0.1, 0.5)), None)))
    assert "first 2 stage(s) frozen; batch norms frozen; stage lr × 0.1, 0.5" in text
    assert "transfer" not in "\n".join(describe(ProjectTraining(TrainConfig(), None)))
