"""The analysis commands on a trained segmenter's run: signal measures it on its own
validation images and masks, explain draws its Grad-CAM on a chosen backbone stage, and the
lesion study refuses it in one line."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_studio.analysis.common import load_run
from resnet_studio.analysis.explain import validation_image
from resnet_studio.analysis.signal import run_batch
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.data import DataConfig
from resnet_studio.graph import project
from resnet_studio.train import Engine, TrainConfig

EXAMPLE = (Path(__file__).resolve().parents[2] / "resnet_studio" / "examples"
           / "shapes_segmenter.rstudio.json")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segmenter") / "run"
    config = TrainConfig(optimizer="adamw", lr=1e-3, epochs=1, batch_size=2, device="cpu",
                         seed=1, data=DataConfig(dataset="shapes-segmentation", train_size=4,
                                                 val_size=3, seed=2))
    engine = Engine(project.load(EXAMPLE, CATALOGUE), config, [], folder)
    end = engine.run()
    engine.close()
    assert end.status == "finished", end.message
    val = list(engine.session.data.val.epoch(0))
    x, y = torch.cat([b[0] for b in val]), torch.cat([b[1] for b in val])
    return SimpleNamespace(path=folder, x=x, y=y, info=engine.session.data.info)


def test_signal_of_a_segmenter_run_uses_its_validation_images_and_masks(trained):
    run = load_run(trained.path)
    x, masks = run_batch(run, 2)
    assert torch.equal(x, trained.x[:2]) and torch.equal(masks, trained.y[:2])


def test_a_segmenter_runs_validation_image_is_as_training_served_it(trained):
    image, label = validation_image(load_run(trained.path), 2)
    mean = torch.tensor(trained.info.mean).view(-1, 1, 1)
    std = torch.tensor(trained.info.std).view(-1, 1, 1)
    torch.testing.assert_close((image - mean) / std, trained.x[2], rtol=0, atol=1e-5)
    assert label == -1  # its target is a mask, not a class


def test_the_signal_command_on_a_segmenter_run(trained, tmp_path, capsys):
    assert main(["signal", str(trained.path), "--batch-size", "2", "--no-twin",
                 "-o", str(tmp_path)]) == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "signal.json").read_text())
    assert saved["settings"]["task"] == "segmentation"
    assert saved["settings"]["data"] == "shapes-segmentation"
    assert "class_counts" not in saved["settings"]
    names = [layer["name"] for layer in saved["curves"][0]["layers"]]
    assert names[0] == "backbone.conv1" and names[-1].startswith("classifier.")


def test_the_explain_command_on_a_segmenter_run(trained, tmp_path, capsys):
    pixels = (trained.x[0].permute(1, 2, 0).numpy() * 60 + 128).clip(0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "shapes.png")
    assert main(["explain", str(trained.path), str(tmp_path / "shapes.png"), "--method",
                 "saliency", "--layer", "layer3", "-o", str(tmp_path)]) == 0, \
        capsys.readouterr().err
    saved = json.loads((tmp_path / "explain.json").read_text())
    assert saved["gradcam_layer"] == "layer3"
    shares = [row["pixel_share"] for row in saved["top"]]
    assert len(shares) == 4 and shares == sorted(shares, reverse=True)  # all four classes
    assert sum(shares) == pytest.approx(1.0)
    assert (tmp_path / "explain.png").stat().st_size > 0


def test_the_lesion_command_refuses_a_segmenter_run_in_one_line(trained, tmp_path, capsys):
    assert main(["lesion", str(trained.path), "-o", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert "a segmentation network; the lesion study measures" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
