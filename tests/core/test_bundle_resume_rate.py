"""A bundle's train.py asked for more epochs than its checkpoint's run goes on at the rate of
the new, longer schedule from its very first step, as ResNet Studio's engine does (the
loaded optimiser state holds the old schedule's rate: 0 at the end of a cosine decay)."""

from __future__ import annotations

import subprocess

import torch
from test_export_support import PYTHON, SPEC, child_env, run_config

from resnet_studio.blocks import CATALOGUE
from resnet_studio.export import export_checkpoint
from resnet_studio.graph import project
from resnet_studio.presets import create
from resnet_studio.train import CallbackSink, Engine, TrainConfig, load_checkpoint


def test_more_epochs_resume_at_the_longer_schedules_rate(tmp_path):
    engine = Engine(create("small_resnet", SPEC), run_config(warmup_steps=0), [],
                    tmp_path / "run")
    assert engine.run().status == "finished"
    engine.close()
    ck = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ck["optimizer"]["param_groups"][0]["lr"] == 0.0  # the decay ended
    export_checkpoint(tmp_path / "run" / "last.pt", "bundle", tmp_path / "bundle")
    result = subprocess.run(
        [PYTHON, "train.py", "--epochs", "2", "--max-steps", "1", "--out",
         str(tmp_path / "ours")], cwd=tmp_path / "bundle", env=child_env(),
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    ours = load_checkpoint(tmp_path / "ours" / "last.pt")
    theirs = _engine_steps(tmp_path, ck, stop_step=5)
    assert ours["step"] == theirs["step"] == 5
    start = ck["model"]["fc.weight"]
    assert not torch.equal(ours["model"]["fc.weight"], start)  # a step at a real rate
    for key, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][key], value, atol=1e-6, rtol=1e-5)


def _engine_steps(tmp_path, ck, stop_step: int) -> dict:
    config = TrainConfig.from_dict(ck["config"]).replace(epochs=2, telemetry_every=1)
    holder = {}

    def stop(record):
        if type(record).__name__ == "StepRecord" and record.step == stop_step:
            holder["engine"].stop()

    engine = Engine(project.from_dict(ck["graph"], CATALOGUE), config, [CallbackSink(stop)],
                    tmp_path / "theirs", resume_from=tmp_path / "run" / "last.pt")
    holder["engine"] = engine
    engine.run()
    engine.close()
    return load_checkpoint(tmp_path / "theirs" / "last.pt")
