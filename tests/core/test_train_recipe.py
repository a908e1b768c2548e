"""Training settings in the project file, preset recipes, weight init, milestone fractions."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import INITS, build
from resnet_studio.graph import InputSpec, project
from resnet_studio.presets import PRESETS, create
from resnet_studio.presets.recipes import (
    DIGITS,
    HE_2016_CIFAR,
    SCRATCH,
    TORCHVISION_IMAGENET,
    graph_recipe,
    preset_recipe,
)
from resnet_studio.train.config import INITS as CONFIG_INITS
from resnet_studio.train.config import ConfigError, TrainConfig
from resnet_studio.train.optim import SchedulePlan
from resnet_studio.train.recipe import (
    describe,
    preset_training,
    project_training,
    recipe_config,
    training_section,
)


def test_every_preset_has_a_recipe_that_validates():
    for name in PRESETS:
        recipe = preset_recipe(name)
        config = recipe_config(recipe)
        assert recipe.citation and recipe.title
        assert config.validate() is config


def test_the_families_get_their_papers_recipes():
    assert preset_recipe("mnist_small_resnet") is DIGITS
    assert preset_recipe("mnist_plain_cnn") is DIGITS
    he = recipe_config(preset_recipe("resnet56"))
    assert preset_recipe("plain20") is HE_2016_CIFAR
    assert (he.optimizer, he.lr, he.momentum, he.weight_decay, he.batch_size) == (
        "sgd", 0.1, 0.9, 1e-4, 128)
    assert he.milestone_fractions == (0.5, 0.75) and he.data.augment and he.data.flip
    tv = recipe_config(preset_recipe("resnet50"))
    assert preset_recipe("resnet50") is TORCHVISION_IMAGENET
    assert (tv.schedule, tv.step_size, tv.epochs) == ("step", 30, 90)


def test_a_graph_drawn_from_scratch_gets_the_robust_default():
    graph = create("resnet20")
    graph.name = "my network"
    assert graph_recipe(graph) is SCRATCH
    assert project_training(graph).recipe is SCRATCH


def test_milestone_fractions_decay_at_half_and_three_quarters():
    config = recipe_config(HE_2016_CIFAR).replace(epochs=8)
    plan = SchedulePlan(config, 10, 80)
    assert [plan.factor(s) for s in (0, 39, 40, 59, 60, 79)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])
    with pytest.raises(ConfigError, match="milestone_fractions"):
        config.replace(milestones=(2,)).validate()
    with pytest.raises(ConfigError, match=r"milestone_fractions\[0\]"):
        config.replace(milestone_fractions=(1.5,)).validate()


def test_settings_survive_save_and_reopen(tmp_path):
    graph = create("mnist_small_resnet")
    graph.training = preset_training("mnist_small_resnet")
    changed = project_training(graph).config.replace(epochs=3, lr=0.004)
    graph.training = training_section(changed, DIGITS)
    path = tmp_path / "p.rstudio.json"
    project.save(graph, path)
    again = project_training(project.load(path, CATALOGUE))
    assert again.config == changed and again.recipe is DIGITS


def test_an_old_project_without_settings_opens_with_its_presets_recipe(tmp_path):
    path = tmp_path / "old.rstudio.json"
    project.save(create("resnet20"), path)
    assert "training" not in json.loads(path.read_text())
    training = project_training(project.load(path, CATALOGUE))
    assert training.recipe is HE_2016_CIFAR and training.config.lr == 0.1


def test_a_partial_hand_written_section_fills_in_the_recipe():
    graph = create("resnet20")
    graph.training = {"version": 1, "recipe": {"name": "he2016_cifar"},
                      "config": {"epochs": 5, "data": {"dataset": "synthetic"}}}
    config = project_training(graph).config
    assert (config.epochs, config.lr, config.data.dataset, config.data.crop_padding) == (
        5, 0.1, "synthetic", 4)


@pytest.mark.parametrize("section, field, words", [
    ({"version": 1, "config": {"lr": "fast"}}, "training.config.lr", "expected a number"),
    ({"version": 1, "config": {"lr": -1}}, "training.config.lr", "outside the allowed range"),
    ({"version": 1, "config": {"learning_rate": 1}}, "training.config.learning_rate",
     "unknown setting"),
    ({"version": 1, "config": {"init": "magic"}}, "training.config.init", "he_fan_out"),
    ({"version": 1, "config": {"data": {"fit": "stretch"}}}, "training.config.data",
     "fit must be one of network, none"),
    ({"version": 1, "config": {"data": []}}, "training.config.data", "expected an object"),
    ({"version": 1, "config": []}, "training.config", "expected an object"),
    ({"version": 99}, "training.version", "newer"),
    ({"version": "1"}, "training.version", "whole number"),
    ({"version": 1, "optimiser": {}}, "training.optimiser", "unknown field"),
    ({"version": 1, "recipe": "he"}, "training.recipe", "name"),
    ([1, 2], "training", "expected an object"),
])
def test_bad_settings_name_the_field(section, field, words):
    graph = create("mnist_small_resnet")
    graph.training = section
    with pytest.raises(ConfigError) as caught:
        project_training(graph)
    assert caught.value.field == field
    assert words in str(caught.value) and field in str(caught.value)


def test_summary_lines_show_the_recipe_and_the_init():
    graph = create("resnet20")
    text = "\n".join(describe(project_training(graph)))
    assert "He et al. 2016" in text and "weight init he_fan_out" in text
    assert "multistep ×0.1 at 50%, 75%" in text


def test_the_configs_init_names_are_the_compilers():
    assert tuple(CONFIG_INITS) == tuple(INITS)


def _first_conv(init: str) -> nn.Conv2d:
    torch.manual_seed(0)
    model = build(create("resnet20", InputSpec(3, 16, 16, 10)), init=init)
    return model.conv1


@pytest.mark.parametrize("init, std", [("he_fan_in", (2 / 27) ** 0.5),
                                       ("he_fan_out", (2 / 144) ** 0.5)])
def test_kaiming_inits_have_their_fan_in_or_fan_out_spread(init, std):
    weight = _first_conv(init).weight  # 16 × 3 × 3 × 3: fan-in 27, fan-out 144
    assert weight.std().item() == pytest.approx(std, rel=0.15)


def test_xavier_and_pytorch_inits_stay_within_their_bounds():
    conv = _first_conv("xavier")
    assert conv.weight.abs().max() <= (6 / (27 + 144)) ** 0.5
    default = _first_conv("pytorch").weight
    assert default.abs().max() <= (1 / 27) ** 0.5 and default.std() < (2 / 27) ** 0.5 * 0.8


def test_an_unknown_init_is_refused():
    with pytest.raises(ValueError, match="init ‘magic’"):
        build(create("resnet20"), init="magic")
    with pytest.raises(ConfigError, match="init"):
        TrainConfig(init="magic").validate()


def test_new_writes_the_presets_recipe_and_summary_shows_it(tmp_path, capsys):
    from resnet_studio.cli import main

    path = tmp_path / "digits.rstudio.json"
    assert main(["new", "mnist_small_resnet", "-o", str(path)]) == 0
    saved = json.loads(path.read_text())["training"]
    assert saved["version"] == 1 and saved["recipe"]["name"] == DIGITS.name
    assert saved["config"]["optimizer"] == "adamw" and saved["config"]["init"] == "pytorch"
    capsys.readouterr()
    assert main(["summary", str(path)]) == 0
    assert "weight init pytorch" in capsys.readouterr().out
    saved["config"]["lr"] = "high"
    path.write_text(json.dumps({**json.loads(path.read_text()), "training": saved}))
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert "training.config.lr" in err and err.count("\n") == 1


def test_the_default_project_trains_offline_on_the_built_in_images():
    from resnet_studio.api import DEFAULT_PRESET

    recipe = preset_recipe(DEFAULT_PRESET)
    assert recipe.settings["data"]["dataset"] == "synthetic"  # needs no download
    assert recipe.settings["optimizer"] == "sgd" and recipe.settings["lr"] == 0.1
