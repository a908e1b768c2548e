"""amp "auto": bf16 with channels-last on a CUDA GPU that has bf16, full precision elsewhere;
what a run used is in its start record and config.json, and the GPU recipes ask for it."""

from __future__ import annotations

import json

import pytest
import torch
from test_train_support import run_engine, tiny_config

from resnet_studio.export import train_script
from resnet_studio.presets.recipes import DIGITS, preset_recipe
from resnet_studio.train import ConfigError, RunStartRecord, setup
from resnet_studio.train.recipe import describe, project_training, recipe_config
from resnet_studio.train.setup import EngineError, Precision, resolve_precision
from resnet_studio.train.task import Task

CUDA, CPU = torch.device("cuda", 0), torch.device("cpu")


@pytest.fixture
def gpu_has_bf16(monkeypatch):
    """Pretend the CUDA GPU has (True) or lacks (False) native bf16."""
    answer = {"value": True}
    monkeypatch.setattr(setup, "cuda_supports_bf16", lambda: answer["value"])
    return answer


def test_auto_is_bf16_and_channels_last_on_a_gpu_with_bf16(gpu_has_bf16):
    assert resolve_precision(tiny_config(amp="auto"), CUDA) == Precision("bf16", True)
    gpu_has_bf16["value"] = False
    assert resolve_precision(tiny_config(amp="auto"), CUDA) == Precision("off", False)
    assert resolve_precision(tiny_config(amp="auto", channels_last=True), CUDA) == \
        Precision("off", True)


def test_auto_is_full_precision_on_the_cpu_without_asking_cuda(monkeypatch):
    def no_probe():
        raise AssertionError("the CUDA probe must not run for a CPU run")

    monkeypatch.setattr(setup, "cuda_supports_bf16", no_probe)
    assert resolve_precision(tiny_config(amp="auto"), CPU) == Precision("off", False)
    assert resolve_precision(tiny_config(amp="auto", channels_last=True), CPU) == \
        Precision("off", True)


def test_explicit_modes_are_kept_and_refused_off_cuda(gpu_has_bf16):
    gpu_has_bf16["value"] = False  # an explicit choice does not depend on the probe
    assert resolve_precision(tiny_config(amp="fp16"), CUDA) == Precision("fp16", False)
    assert resolve_precision(tiny_config(amp="bf16"), CUDA) == Precision("bf16", False)
    assert resolve_precision(tiny_config(amp="off"), CUDA) == Precision("off", False)
    for mode in ("bf16", "fp16"):
        with pytest.raises(EngineError, match=f"amp ‘{mode}’.*cpu device"):
            resolve_precision(tiny_config(amp=mode), CPU)


def test_unknown_amp_mode_names_the_field():
    with pytest.raises(ConfigError, match="amp"):
        tiny_config(amp="fast")


def test_a_cpu_run_with_auto_records_full_precision(tmp_path):
    _, recorder, end = run_engine(tiny_config(epochs=1, amp="auto"), tmp_path / "run")
    assert end.status == "finished", end.message
    start = recorder.of(RunStartRecord)[0]
    assert start.config["amp"] == "auto"
    assert start.precision == {"amp": "off", "channels_last": False}
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["precision"] == start.precision and saved["config"]["amp"] == "auto"


def test_the_engine_computes_in_the_resolved_layout(monkeypatch):
    """The step, the weights and the record follow the resolved precision, not the raw
    ``channels_last`` field (which is off here)."""
    monkeypatch.setattr(setup, "resolve_precision", lambda config, device: Precision("off", True))
    layouts = []
    real_step = Task.step

    def step(task, model, x, y, config):
        layouts.append(x.is_contiguous(memory_format=torch.channels_last)
                       and not x.is_contiguous())
        return real_step(task, model, x, y, config)

    monkeypatch.setattr(Task, "step", step)
    engine, recorder, end = run_engine(tiny_config(epochs=1, channels_last=False))
    assert end.status == "finished", end.message
    conv = engine.model.get_submodule("conv1").weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert layouts == [True] * 6
    assert recorder.of(RunStartRecord)[0].precision == {"amp": "off", "channels_last": True}


def test_gpu_recipes_ask_for_auto_and_small_ones_do_not():
    for preset in ("resnet20", "wide_resnet28_10", "resnet50", "convnext_tiny"):
        assert recipe_config(preset_recipe(preset)).amp == "auto", preset
    assert recipe_config(DIGITS).amp == "off"
    assert recipe_config(preset_recipe("mnist_small_resnet")).amp == "off"
    from resnet_studio.presets import create

    training = project_training(create("resnet20"))
    assert "bf16 + channels-last on a GPU with bf16" in describe(training)[1]


@pytest.mark.parametrize(("amp", "has_bf16", "device", "expected"), [
    ("auto", True, "cuda", ("bf16", True)),
    ("auto", False, "cuda", ("off", False)),
    ("auto", True, "cpu", ("off", False)),
    ("bf16", True, "cpu", ("off", False)),
    ("fp16", True, "cuda", ("fp16", False)),
])
def test_the_exported_script_resolves_precision_alike(monkeypatch, amp, has_bf16, device,
                                                      expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True:
                        has_bf16 and not including_emulation)
    cfg = {"amp": amp, "channels_last": False}
    assert train_script.precision(cfg, torch.device(device)) == expected
