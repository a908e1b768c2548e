"""Where a study's runs start from (what ``train`` would use), repeats over seeds, the
budgets, the stated settings and the warning about runs too short to learn."""

from __future__ import annotations

import dataclasses
import json

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import build_parser, main
from resnet_studio.graph import project
from resnet_studio.presets.recipes import HE_2016_CIFAR
from resnet_studio.study.command import plan
from resnet_studio.study.estimate import MIN_STEPS, budget_warning, short_runs
from resnet_studio.study.kinds import plan_sweep, plan_twin
from resnet_studio.study.plan import Study, StudyError
from resnet_studio.study.setup import effective, repeat
from resnet_studio.train import command as train_command
from resnet_studio.train.recipe import recipe_config, training_section

FLAGS = ["--lr", "0.03", "--epochs", "2", "--device", "cpu", "--seed", "5"]
KIND_ARGS = {"degradation": ["--depths", "6,10"], "variants": ["--blocks", "basicblock"],
             "sweep": ["--vary", "weight_decay=0.001,0.002"], "twin": []}


@pytest.fixture
def saved_project(tmp_path):
    """The tiny staged network with saved settings that differ from both the engine's
    defaults and the recipe they started from (He et al. 2016)."""
    graph = staged_graph()
    config = recipe_config(HE_2016_CIFAR)
    config = config.replace(weight_decay=2e-4, batch_size=8, epochs=7, data=config.data.replace(
        dataset="synthetic", image_size=8, classes=4, train_size=24, val_size=8))
    graph.training = training_section(config, HE_2016_CIFAR)
    path = tmp_path / "saved.rstudio.json"
    project.save(graph, path)
    return str(path)


def _parse(*argv: str):
    return build_parser().parse_args(list(argv))


def _train_config(project_arg: str, flags: list[str]) -> dict:
    """What ``train PROJECT FLAGS`` trains with, by the function ``train`` itself uses."""
    args = _parse("train", project_arg, *flags)
    network = train_command.load_network(project_arg, None)
    return train_command.train_settings(args, network)[0].to_dict()


def _without(config: dict, *keys: str) -> dict:
    return {k: v for k, v in config.items() if k not in keys}


def _check_like_train(kind: str, project_arg: str, extra: list[str],
                      kind_args: list[str] | None = None) -> Study:
    kind_args = KIND_ARGS[kind] if kind_args is None else kind_args
    study = plan(_parse("experiment", kind, project_arg, *kind_args, *extra, *FLAGS))
    expected = _train_config(project_arg, [*extra, *FLAGS])
    varied = ("weight_decay",) if kind == "sweep" else ()
    for spec in study.runs:
        assert _without(spec.config, *varied) == _without(expected, *varied), spec.name
    return study


@pytest.mark.parametrize("kind", list(KIND_ARGS))
def test_every_kind_starts_from_the_projects_saved_settings_like_train(saved_project, kind):
    study = _check_like_train(kind, saved_project, [])
    config = study.runs[0].config
    # the saved settings and the recipe under them, not the engine's defaults …
    assert config["schedule"] == "multistep" and config["milestone_fractions"] == [0.5, 0.75]
    assert config["decay_norm_and_bias"] is True
    if kind != "sweep":
        assert config["weight_decay"] == 2e-4
    # … and the options over them
    assert (config["lr"], config["epochs"], config["seed"]) == (0.03, 2, 5)
    assert "the project's settings: He et al. 2016" in study.settings["settings_source"]


@pytest.mark.parametrize("kind", ["variants", "sweep", "twin"])
def test_a_digits_preset_trains_with_its_adamw_recipe_at_its_own_input(kind):
    study = _check_like_train(kind, "preset:mnist_small_resnet", [])
    config = study.runs[0].config
    assert (config["optimizer"], config["init"], config["batch_size"]) == ("adamw", "pytorch",
                                                                           64)
    assert config["data"]["dataset"] == "mnist" and config["data"]["augment"] is False
    assert study.runs[0].graph["input"] == {"channels": 1, "height": 28, "width": 28,
                                            "classes": 10}
    assert study.settings["settings_source"].startswith("the preset's recipe: Digits")


def test_a_cifar_preset_plans_degradation_with_he_et_als_recipe_like_train():
    study = _check_like_train("degradation", "preset:resnet20", [], ["--depths", "8,14"])
    config = study.runs[0].config
    assert (config["weight_decay"], config["schedule"]) == (1e-4, "multistep")


def test_a_preset_keeps_its_own_input_unless_the_dataset_fixes_another():
    def input_of(*flags):
        study = plan(_parse("experiment", "twin", "preset:mnist_small_resnet", *flags))
        return study.runs[0].graph["input"], study.runs[0].config["data"]

    graph, data = input_of("--dataset", "synthetic")
    assert graph == {"channels": 1, "height": 28, "width": 28, "classes": 10}
    assert (data["channels"], data["image_size"], data["classes"]) == (1, 28, 10)
    assert input_of("--dataset", "cifar10")[0]["channels"] == 3
    graph, data = input_of("--dataset", "synthetic", "--image-size", "16", "--classes", "4")
    assert graph == {"channels": 1, "height": 16, "width": 16, "classes": 4}


# ----- repeats --------------------------------------------------------------------------------
def test_one_seed_keeps_the_plan_and_records_the_seed():
    study = plan_sweep(staged_graph(), budget(seed=7), {"lr": [0.01, 0.1]})
    once = repeat(study, 1)
    assert once.runs == study.runs and once.settings["seeds"] == [7]


def test_repeats_train_each_configuration_from_consecutive_seeds_on_the_same_data():
    study = plan_sweep(staged_graph(), budget(seed=7), {"lr": [0.01, 0.1]})
    repeated = repeat(study, 3)
    assert repeated.settings["seeds"] == [7, 8, 9]
    assert [r.name for r in repeated.runs] == [
        "lr-0.01-seed7", "lr-0.01-seed8", "lr-0.01-seed9", "lr-0.1-seed7", "lr-0.1-seed8",
        "lr-0.1-seed9"]
    first = repeated.runs[1]
    assert first.label == "lr=0.01" and first.values == {"lr": 0.01, "seed": 8}
    assert first.config["seed"] == 8 and first.config["lr"] == 0.01
    assert first.config["data"] == study.runs[0].config["data"]  # same split and images
    assert _without(first.config, "seed") == _without(study.runs[0].config, "seed")
    saved = Study.from_dict(json.loads(json.dumps(repeated.to_dict())))
    assert saved.same_plan(repeated) and saved.settings["seeds"] == [7, 8, 9]


def test_a_sweep_of_the_seed_refuses_repeats_in_one_line():
    study = plan_sweep(staged_graph(), budget(seed=9), {"seed": [1, 2]})
    with pytest.raises(StudyError, match="varies the seed itself"):
        repeat(study, 2, 9)
    once = repeat(study, 1, 9)
    assert once.settings["seeds"] == [9] and once.runs == study.runs


def test_an_existing_run_stands_only_for_its_own_seed(tmp_path):
    study = plan_twin(staged_graph(), budget(seed=3))
    runs = [dataclasses.replace(study.runs[0], existing=str(tmp_path)), study.runs[1]]
    repeated = repeat(dataclasses.replace(study, runs=runs), 2)
    assert [(r.name, r.existing) for r in repeated.runs] == [
        ("residual-seed3", str(tmp_path)), ("residual-seed4", None), ("plain-seed3", None),
        ("plain-seed4", None)]


def test_seeds_on_the_command_line_and_a_resumable_plan(saved_project, tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["experiment", "twin", saved_project, "--seeds", "2", "--plan-only",
            "--no-estimate", "--out", str(out)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    saved = json.loads((out / "study.json").read_text())
    assert [r["name"] for r in saved["runs"]] == ["residual-seed0", "residual-seed1",
                                                   "plain-seed0", "plain-seed1"]
    assert saved["settings"]["seeds"] == [0, 1] and "seeds 0, 1" in first
    assert main(argv) == 0
    assert "holds this study already" in capsys.readouterr().out
    assert main([*argv[:-4], "--seeds", "0", "--plan-only", "--out", str(out)]) == 2
    assert "repeats must be a whole number" in capsys.readouterr().err


# ----- budgets --------------------------------------------------------------------------------
def test_the_cpu_budget_sets_depths_and_a_short_digits_schedule_and_options_win():
    study = plan(_parse("experiment", "degradation", "preset:resnet20", "--budget", "cpu"))
    assert study.settings["depths"] == [8, 20, 44]
    config = study.runs[0].config
    assert (config["data"]["dataset"], config["data"]["augment"],
            config["data"]["subset"]) == ("mnist", False, 5000)
    assert (config["epochs"], config["batch_size"], config["optimizer"], config["lr"],
            config["schedule"]) == (3, 64, "sgd", 0.1, "multistep")
    assert "‘cpu’ budget" in study.settings["settings_source"]
    assert config["warmup_epochs"] == 0.5
    assert "0.5 warm-up epochs, multistep ×0.1 at 50%, 75% schedule" in \
        study.settings["effective"]
    study = plan(_parse("experiment", "degradation", "preset:resnet20", "--budget", "cpu",
                        "--depths", "8,14", "--epochs", "1", "--lr", "0.05"))
    config = study.runs[0].config
    assert study.settings["depths"] == [8, 14] and (config["epochs"], config["lr"]) == (1, 0.05)


def test_the_paper_budget_is_he_et_als_schedule_over_the_projects_settings(saved_project):
    study = plan(_parse("experiment", "degradation", saved_project, "--depths", "6",
                        "--budget", "paper"))
    config = study.runs[0].config
    assert (config["epochs"], config["weight_decay"], config["milestone_fractions"]) == (
        164, 1e-4, [0.5, 0.75])
    assert config["data"]["dataset"] == "synthetic"  # the project's data stay


# ----- settings stated, short runs --------------------------------------------------------------
def test_the_effective_line_names_every_setting_that_decides_the_result():
    study = plan(_parse("experiment", "twin", "preset:mnist_small_resnet"))
    line = study.settings["effective"]
    assert "\n" not in line
    for part in ("AdamW", "lr 0.002", "weight decay 0.01", "cosine schedule", "init pytorch",
                 "augmentation none", "3 epochs of batch 64", "data mnist at 1×28×28",
                 "54,000 train / 6,000 val images"):
        assert part in line, part
    sweep = plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1]})
    line = effective(sweep)
    assert "lr 0.01/0.1" in line and "crop 1 px" in line and "24 train / 8 val" in line


def test_the_effective_line_speaks_as_people_do(tmp_path):
    """One epoch is "1 epoch"; an image folder is named as one, not in the file's syntax."""
    folder = tmp_path / "digits"
    study = plan(_parse("experiment", "twin", "preset:mnist_small_resnet", "--epochs", "1",
                        "--dataset", f"folder:{folder}"))
    line = study.settings["effective"]
    assert "1 epoch of batch 64" in line and "1 epochs" not in line
    assert f"data image folder {folder} at" in line and "folder:" not in line


def test_runs_too_short_to_learn_are_named_before_starting():
    study = plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1]})
    assert short_runs(study) == {"lr-0.01": 6, "lr-0.1": 6}
    warning = budget_warning(study)
    assert f"fewer than {MIN_STEPS}" in warning and "2 epochs × 3 batches = 6 steps" in warning
    long = plan_sweep(staged_graph(), budget(epochs=34), {"lr": [0.01]})  # 102 steps
    assert short_runs(long) == {} and budget_warning(long) is None
    assert short_runs(long, minimum=103) == {"lr-0.01": 102}


def test_plan_only_prints_the_settings_and_the_warning(saved_project, tmp_path, capsys):
    assert main(["experiment", "twin", saved_project, "--plan-only", "--no-estimate",
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "settings from: the project's settings: He et al. 2016" in out
    assert "every run: SGD momentum 0.9, lr 0.1, weight decay 0.0002" in out
    assert "warning: 2 of 2 runs train fewer than 100 optimiser steps" in out


def test_a_study_reads_the_project_through_the_catalogue(saved_project):
    # Guard for the fixture: the saved settings are really in the file.
    assert project.load(saved_project, CATALOGUE).training["config"]["weight_decay"] == 2e-4
