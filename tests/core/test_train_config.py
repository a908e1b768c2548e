"""TrainConfig validation and serialisation, optimisers, weight-decay groups, lr schedules."""

from __future__ import annotations

import json
import math

import pytest
import torch
from test_train_support import run_engine, tiny_config, tiny_graph

from resnet_studio.compiler import build
from resnet_studio.data import DataConfig
from resnet_studio.train import ConfigError, StepRecord, TrainConfig
from resnet_studio.train.optim import SchedulePlan, build_optimizer, no_decay_names


# ----- validation and serialisation -----------------------------------------------------------
@pytest.mark.parametrize("changes, field, words", [
    ({"lr": -0.1}, "lr", "outside the allowed range"),
    ({"lr": float("nan")}, "lr", "expected a number"),
    ({"optimizer": "adam"}, "optimizer", "sgd, adamw"),
    ({"schedule": "linear"}, "schedule", "onecycle"),
    ({"device": "tpu"}, "device", "auto"),
    ({"amp": "fp8"}, "amp", "bf16"),
    ({"epochs": 0}, "epochs", "outside"),
    ({"batch_size": 2.5}, "batch_size", "whole number"),
    ({"momentum": 1.0}, "momentum", "outside"),
    ({"nesterov": True, "momentum": 0.0}, "nesterov", "momentum > 0"),
    ({"warmup_epochs": 1.0, "warmup_steps": 5}, "warmup_steps", "not both"),
    ({"schedule": "multistep"}, "milestones", "at least one"),
    ({"milestones": (5, 3)}, "milestones", "increasing"),
    ({"min_lr": 1.0, "lr": 0.1}, "min_lr", "above lr"),
    ({"label_smoothing": 1.0}, "label_smoothing", "outside"),
    ({"grad_clip": -1.0}, "grad_clip", "outside"),
    ({"telemetry_every": 0}, "telemetry_every", "outside"),
    ({"channels_last": "yes"}, "channels_last", "true or false"),
    ({"betas": (0.9,)}, "betas", "two numbers"),
    ({"data": DataConfig(cutout=99)}, "data", "cutout"),
])
def test_validation_names_the_field(changes, field, words):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes).validate()
    assert info.value.field == field
    assert f"‘{field}’" in str(info.value) and words in str(info.value)


def test_defaults_are_valid_and_round_trip_through_json():
    config = TrainConfig(optimizer="adamw", milestones=(3, 6), schedule="multistep",
                         data=DataConfig(dataset="synthetic", train_size=100, cutout=4))
    text = json.dumps(config.to_dict())
    again = TrainConfig.from_dict(json.loads(text))
    assert again == config
    assert isinstance(again.milestones, tuple) and isinstance(again.data, DataConfig)


def test_from_dict_refuses_unknown_keys_by_name():
    with pytest.raises(ConfigError, match=r"‘lrr’.*unknown setting"):
        TrainConfig.from_dict({"lrr": 0.1})
    with pytest.raises(ConfigError, match=r"‘data’.*augmnt"):
        TrainConfig.from_dict({"data": {"augmnt": False}})
    with pytest.raises(ConfigError, match="expected an object"):
        TrainConfig.from_dict([1, 2])


def test_from_dict_validates_values():
    with pytest.raises(ConfigError, match="‘batch_size’"):
        TrainConfig.from_dict({"batch_size": -4})


# ----- optimisers and weight decay ------------------------------------------------------------
def test_norm_and_bias_parameters_are_excluded_from_weight_decay():
    model = build(tiny_graph())
    assert no_decay_names(model) == {"bn1.weight", "bn1.bias", "bn2.weight", "bn2.bias", "fc.bias"}
    optimizer = build_optimizer(model, TrainConfig(weight_decay=0.01))
    decay, plain = optimizer.param_groups
    named = {id(p): n for n, p in model.named_parameters()}
    assert [named[id(p)] for p in decay["params"]] == ["conv1.weight", "conv2.weight", "fc.weight"]
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    assert len(plain["params"]) == 5


def test_decay_norm_and_bias_puts_everything_in_one_group():
    model = build(tiny_graph())
    optimizer = build_optimizer(model, TrainConfig(weight_decay=0.01, decay_norm_and_bias=True))
    assert len(optimizer.param_groups) == 1
    assert len(optimizer.param_groups[0]["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("config, kind, settings", [
    (TrainConfig(optimizer="sgd", momentum=0.8, nesterov=True), torch.optim.SGD,
     {"momentum": 0.8, "nesterov": True}),
    (TrainConfig(optimizer="sgd", momentum=0.0), torch.optim.SGD, {"momentum": 0.0}),
    (TrainConfig(optimizer="adamw", betas=(0.8, 0.99), lr=1e-3), torch.optim.AdamW,
     {"betas": (0.8, 0.99), "lr": 1e-3}),
])
def test_optimizer_choice_and_settings(config, kind, settings):
    optimizer = build_optimizer(build(tiny_graph()), config)
    assert type(optimizer) is kind
    for key, value in settings.items():
        assert optimizer.param_groups[0][key] == value


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_each_optimizer_trains_and_changes_the_weights(optimizer):
    lr = 0.05 if optimizer == "sgd" else 1e-3
    engine, _, end = run_engine(tiny_config(optimizer=optimizer, lr=lr, epochs=1,
                                            nesterov=optimizer == "sgd"))
    assert end.status == "finished"
    state = engine.session.optimizer.state_dict()["state"]
    expected = "momentum_buffer" if optimizer == "sgd" else "exp_avg"
    assert state and all(expected in s for s in state.values())


# ----- learning-rate schedules ----------------------------------------------------------------
def plan(steps_per_epoch=10, epochs=10, **changes) -> SchedulePlan:
    config = TrainConfig(lr=1.0, **changes).validate()
    return SchedulePlan(config, steps_per_epoch, steps_per_epoch * epochs)


def test_linear_warmup_rises_to_the_peak_then_hands_over():
    p = plan(schedule="constant", warmup_steps=4)
    assert [p.factor(s) for s in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    assert plan(schedule="constant", warmup_epochs=1.5, steps_per_epoch=4).warmup == 6


def test_step_schedule_decays_every_step_size_epochs():
    p = plan(schedule="step", step_size=2, gamma=0.1)
    assert p.factor(0) == 1.0 and p.factor(19) == 1.0
    assert p.factor(20) == pytest.approx(0.1) and p.factor(39) == pytest.approx(0.1)
    assert p.factor(40) == pytest.approx(0.01)


def test_multistep_schedule_decays_at_each_milestone_epoch():
    p = plan(schedule="multistep", milestones=(2, 5), gamma=0.5)
    assert [p.factor(s) for s in (0, 19, 20, 49, 50, 99)] == pytest.approx(
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])


def test_cosine_schedule_after_warmup_reaches_min_lr():
    p = plan(schedule="cosine", min_lr=0.1, warmup_steps=20)
    assert p.factor(19) == pytest.approx(20 / 21)
    assert p.factor(20) == pytest.approx(1.0)
    assert p.factor(60) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the 80 steps
    assert p.factor(100) == pytest.approx(0.1)


def test_onecycle_rises_then_anneals_far_below_the_start():
    p = plan(schedule="onecycle", pct_start=0.25, div_factor=10, final_div_factor=100)
    assert p.factor(0) == pytest.approx(0.1)
    assert p.factor(25) == pytest.approx(1.0)
    assert p.factor(12) == pytest.approx(0.1 + 0.9 * 0.5 * (1 - math.cos(math.pi * 12 / 25)))
    assert p.factor(100) == pytest.approx(1 / 1000)
    assert p.factor(60) < p.factor(40) < 1.0


def test_the_engine_steps_the_schedule_per_step():
    """The lr each StepRecord reports is the one that step used: warm-up, then cosine."""
    config = tiny_config(lr=0.4, schedule="cosine", warmup_steps=3, epochs=2, telemetry_every=5)
    _, recorder, end = run_engine(config)
    lrs = [r.lr for r in recorder.of(StepRecord)]
    assert end.status == "finished" and len(lrs) == 12
    assert lrs[:4] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    expected = [0.4 * 0.5 * (1 + math.cos(math.pi * t / 9)) for t in range(9)]
    assert lrs[3:] == pytest.approx(expected)
