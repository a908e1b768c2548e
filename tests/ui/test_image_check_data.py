"""Check an Image on a grey image-folder run fitted to a 1×28×28 network: its validation
sample and its normalisation come from the run's data spec, as training served them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_studio.blocks import CATALOGUE
from resnet_studio.data import DataConfig
from resnet_studio.graph import InputSpec
from resnet_studio.presets.base import Chain
from resnet_studio.train import Engine, TrainConfig
from resnet_studio.ui.train import image_check
from resnet_studio.ui.train.predict import PredictDialog


def _grey_folder(root):
    gen = np.random.default_rng(3)
    for label in range(2):
        (root / f"digit_{label}").mkdir(parents=True)
        for i in range(8):
            pixels = gen.integers(0, 80, (28, 28), dtype=np.uint8)
            pixels[label * 14: label * 14 + 10, 4:14] = 255
            Image.fromarray(pixels).save(root / f"digit_{label}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    folder = _grey_folder(root / "digits")
    chain = Chain(InputSpec(channels=1, height=28, width=28, classes=2))
    chain.add("conv1", "conv2d", out_channels=4, kernel_size=3, stride=2, padding=1)
    chain.add("relu", "relu")
    data = DataConfig(dataset=f"folder:{folder}", val_fraction=0.25, seed=2)
    config = TrainConfig(epochs=1, batch_size=4, device="cpu", data=data).validate()
    engine = Engine(chain.classifier(), config, [], root / "run")
    assert engine.run().status == "finished"
    x, y = (torch.cat(parts) for parts in zip(*engine.session.data.val.epoch(0)))
    return root / "run", x, y


def test_the_validation_sample_is_the_one_training_validated_on(grey_run, qtbot):
    run, x, y = grey_run
    sample = image_check.sampler(run)
    for index in (0, 3):
        image, label = sample(index)
        assert torch.equal(image, x[index]) and label == int(y[index])
    info = image_check.data_facts(run)
    assert (info["channels"], info["height"], info["width"]) == (1, 28, 28)
    model, _ = image_check.model_for_check(run, CATALOGUE)
    dialog = PredictDialog(model, info, "best.pt", sample, lambda: None)
    qtbot.addWidget(dialog)
    predictions = dialog.show_sample(2)
    assert len(predictions) == 2 and "Cannot load" not in dialog.caption.text()
    assert dialog.show_sample(99) == [] and "validation images" in dialog.caption.text()


def test_a_run_without_a_readable_spec_offers_no_sample(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert image_check.sampler(tmp_path) is None
    assert image_check.data_facts(tmp_path) is None


@pytest.mark.parametrize("flip", [None, True, False])
def test_the_settings_panel_keeps_the_flip_choice(qtbot, flip):
    from resnet_studio.presets import create
    from resnet_studio.ui.train.defaults import UNKNOWN_DEVICES
    from resnet_studio.ui.train.settings import TrainingSettings

    panel = TrainingSettings(None, UNKNOWN_DEVICES)
    qtbot.addWidget(panel)
    data = DataConfig(dataset="folder:/tmp/digits", flip=flip)
    panel.set_config(TrainConfig(data=data))
    assert panel.config(create("small_resnet")).data.flip is flip
    panel.flip.setCurrentIndex(panel.flip.findData("off"))
    assert panel.config(create("small_resnet")).data.flip is False
