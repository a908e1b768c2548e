"""``TrainConfig.layer_telemetry``: off, a step measures no per-layer norm (only the loss and
accuracy sums, and the global norm when clipping needs it); the records keep their shapes."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from test_train_support import LAYERS, Recorder, run_engine, tiny_config, tiny_graph

from resnet_studio.cli import build_parser
from resnet_studio.compiler import build
from resnet_studio.train import CallbackSink, ConfigError, Engine, StepRecord, TrainConfig
from resnet_studio.train.command import settings
from resnet_studio.train.history import RunHistory


@pytest.fixture
def norm_calls(monkeypatch):
    """How many times ``torch._foreach_norm`` was called from the telemetry module (the
    per-layer norms, the update measurement and the global norm live there and nowhere else
    in a step)."""
    calls = {"telemetry": 0}
    real = torch._foreach_norm

    def counting(*args, **kwargs):
        if sys._getframe(1).f_globals.get("__name__") == "resnet_studio.train.telemetry":
            calls["telemetry"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "_foreach_norm", counting)
    return calls


def test_without_layer_telemetry_a_step_computes_no_norm_and_records_keep_their_shape(
        norm_calls, tmp_path):
    _, recorder, end = run_engine(tiny_config(layer_telemetry=False), tmp_path / "run")
    assert end.status == "finished"
    assert norm_calls["telemetry"] == 0
    steps = recorder.of(StepRecord)
    assert [r.step for r in steps] == list(range(1, 13))
    assert all(np.isfinite(r.loss) and 0.0 <= r.accuracy <= 1.0 for r in steps)
    for r in steps:
        assert r.grad_norms.shape == (len(LAYERS),) and np.isnan(r.grad_norms).all()
        assert r.weight_norms is None and r.update_ratios is None
    history = RunHistory.load(tmp_path / "run")
    assert np.isfinite(history.loss.raw.y).all() and len(history.loss.raw.y) == 12
    assert history.grad_norms.size == 12 and np.isnan(history.grad_norms.array[:, :12]).all()


def test_with_layer_telemetry_every_step_computes_its_norms(norm_calls):
    _, recorder, end = run_engine(tiny_config())
    assert end.status == "finished"
    steps = recorder.of(StepRecord)
    # one fused norm per step, two more (weights, update) at each of the 6 flushes
    assert norm_calls["telemetry"] == len(steps) + 2 * 6
    assert all(np.isfinite(r.grad_norms).all() and (r.grad_norms > 0).all() for r in steps)


def test_telemetry_does_not_change_what_is_trained():
    models = []
    for layer_telemetry in (True, False):
        torch.manual_seed(0)
        model = build(tiny_graph())
        engine = Engine(model, tiny_config(layer_telemetry=layer_telemetry, grad_clip=0.5), [])
        assert engine.run().status == "finished"
        models.append(model)
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert torch.equal(a, b), name


def test_clipping_still_uses_the_global_norm_without_layer_telemetry(norm_calls):
    config = tiny_config(epochs=1, telemetry_every=1, weight_decay=0.0, momentum=0.0,
                         grad_clip=0.01, lr=1.0, layer_telemetry=False)
    model = build(tiny_graph())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    holder = {}
    engine = Engine(model, config, [Recorder(), CallbackSink(
        lambda r: isinstance(r, StepRecord) and holder["engine"].stop())])
    holder["engine"] = engine
    engine.run()
    assert norm_calls["telemetry"] == 1  # the global norm of the one step, nothing per layer
    moved = torch.cat([(p.detach() - before[n]).flatten() for n, p in model.named_parameters()])
    assert moved.norm().item() == pytest.approx(0.01, rel=1e-3)  # lr 1 × clipped norm


def test_layer_telemetry_is_a_checked_setting_that_round_trips():
    with pytest.raises(ConfigError) as info:
        TrainConfig(layer_telemetry="no").validate()
    assert info.value.field == "layer_telemetry"
    config = TrainConfig(layer_telemetry=False)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig().layer_telemetry is True


def test_the_train_command_turns_layer_telemetry_off():
    parser = build_parser()
    off = parser.parse_args(["train", "preset:resnet20", "--no-layer-telemetry"])
    assert settings(off, TrainConfig()).layer_telemetry is False
    plain = parser.parse_args(["train", "preset:resnet20"])
    assert settings(plain, TrainConfig(layer_telemetry=False)).layer_telemetry is False
    assert settings(plain, TrainConfig()).layer_telemetry is True
