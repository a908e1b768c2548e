"""Data fitted to the network's input; resumed runs that change lr, momentum or weight decay."""

from __future__ import annotations

import json
import os

import pytest
import torch
from PIL import Image
from test_train_support import CLI_DATA as DATA
from test_train_support import (
    tiny_project,
)

from resnet_studio.cli import main
from resnet_studio.data import DataConfig, load_data
from resnet_studio.data.fit import describe, fit_images
from resnet_studio.train import load_checkpoint


def _folder(root, classes=("a", "b"), size=(12, 10), mode="L", per_class=4):
    for name in classes:
        os.makedirs(root / name, exist_ok=True)
        for i in range(per_class):
            Image.new(mode, size, 30 * i if mode == "L" else (30 * i, 9, 200)).save(
                root / name / f"{i}.png")
    return root


def test_a_folder_is_decoded_at_the_networks_input_and_says_so(tmp_path):
    _folder(tmp_path, size=(12, 12), mode="L")
    cfg = DataConfig(dataset=f"folder:{tmp_path}", val_fraction=0.25, workers=0)
    bundle = load_data(cfg, 2, target=(3, 8, 8))
    info = bundle.info
    assert (info.channels, info.height, info.width) == (3, 8, 8)
    assert info.fit == "resized 12×12→8×8, grey→RGB"
    kept = load_data(cfg.replace(fit="none", image_size=12, channels=1), 2, target=(3, 8, 8))
    assert (kept.info.channels, kept.info.height) == (1, 12)
    assert kept.info.fit == "12×12 grey images used as they are"


def test_a_folder_with_one_class_warns(tmp_path):
    _folder(tmp_path, classes=("only",))
    bundle = load_data(DataConfig(dataset=f"folder:{tmp_path}", image_size=8, workers=0), 2)
    assert len(bundle.info.notes) == 1 and "single class (‘only’)" in bundle.info.notes[0]


def test_in_memory_images_are_resized_and_converted():
    grey = torch.full((2, 1, 16, 16), 200, dtype=torch.uint8)
    rgb = fit_images(grey, (3, 8, 8))
    assert rgb.shape == (2, 3, 8, 8) and bool((rgb == 200).all())
    back = fit_images(rgb, (1, 8, 8))
    assert back.shape == (2, 1, 8, 8) and bool((back == 200).all())
    assert describe((1, 28, 28), (1, 28, 28)) == "28×28 grey images used as they are"


def test_the_cli_names_the_options_when_the_data_does_not_fit(tmp_path, capsys):
    project_file = tiny_project(tmp_path)  # a 3×8×8 network
    code = main(["train", str(project_file), *DATA, "--image-size", "16", "--fit", "none",
                 "--epochs", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("resnet-studio: error: ") and err.count("\n") == 1
    assert "--fit network (training field data.fit)" in err
    assert "--image-size 8 --channels 3" in err


def test_the_cli_fits_a_folder_and_prints_what_it_did(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    folder = _folder(tmp_path / "imgs", classes=("a", "b", "c", "d"), size=(20, 20),
                     mode="RGB", per_class=6)
    code = main(["train", str(project_file), "--dataset", f"folder:{folder}", "--batch-size",
                 "4", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "resized 20×20→8×8" in err


@pytest.mark.parametrize("flag, value, key", [("--lr", "0.02", "lr"),
                                              ("--momentum", "0.5", "momentum"),
                                              ("--weight-decay", "0.001", "weight_decay")])
def test_resume_applies_overridden_settings_to_the_optimiser(tmp_path, capsys, flag, value,
                                                            key):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--optimizer", "sgd",
                 "--lr", "0.1", "--momentum", "0.9", "--weight-decay", "0.0005",
                 "--schedule", "constant", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out / "last.pt"), "--epochs", "2", flag,
                 value]) == 0, capsys.readouterr().err
    saved = load_checkpoint(out / "last.pt")
    groups = saved["optimizer"]["param_groups"]
    assert groups[0][key] == pytest.approx(float(value))
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    logged = [s["lr"] for s in steps if s["step"] > 6]
    assert len(logged) == 6
    assert logged == [pytest.approx(float(value) if key == "lr" else 0.1)] * 6
    if key == "lr":
        assert saved["scheduler"]["base_lrs"] == [pytest.approx(0.02)] * len(groups)


def test_resume_refuses_to_switch_the_optimiser(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--optimizer", "sgd",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    code = main(["train", "--resume", str(out / "last.pt"), "--epochs", "2", "--optimizer",
                 "adamw"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot switch to adamw" in err and "Traceback" not in err
