"""Shared helpers of the export and import tests: one short real training run.

Imported by the other ``test_export_*`` / ``test_import_*`` files (pytest puts this folder on
``sys.path``); it holds no tests itself. The run trains the small residual preset (three
stages of basic blocks with option A shortcuts) on 8×8 synthetic images, 64 of them, with
warm-up, cosine decay, crops, flips and cutout, for one epoch of four steps.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from resnet_studio.data import DataConfig
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.train import Engine, TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SPEC = InputSpec(channels=3, height=8, width=8, classes=4)
_RUNS: dict[str, Path] = {}


def run_config(**changes: Any) -> TrainConfig:
    """Four steps of 16 per epoch; warm-up long enough to reach into a continued run."""
    data = DataConfig(dataset="synthetic", train_size=64, val_size=16, image_size=8, channels=3,
                      classes=4, crop_padding=1, cutout=2, seed=3)
    values: dict[str, Any] = {"epochs": 1, "batch_size": 16, "lr": 0.05, "schedule": "cosine",
                              "warmup_steps": 6, "device": "cpu", "telemetry_every": 2,
                              "seed": 1, "data": data}
    values.update(changes)
    return TrainConfig(**values).validate()


def trained_run(base: Path) -> Path:
    """The run directory of the shared training run (trained once per test session); tests
    get their own copy so that none can disturb another."""
    if "run" not in _RUNS:
        folder = base / "shared-run"
        engine = Engine(create("small_resnet", SPEC), run_config(), [], folder)
        end = engine.run()
        engine.close()
        assert end.status == "finished", end.message
        _RUNS["run"] = folder
    copy = Path(tempfile.mkdtemp(prefix="run-", dir=base)) / "run"
    shutil.copytree(_RUNS["run"], copy)
    return copy


def child_env() -> dict[str, str]:
    """Environment for child Pythons: one thread each, this checkout importable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files or folders an export might have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


PYTHON = sys.executable


def exported_bundle(base: Path) -> tuple[Path, Path]:
    """(run directory, bundle exported from its best.pt), made once per session. Tests only
    read the bundle: train.py writes its checkpoints wherever --out says."""
    if "bundle" not in _RUNS:
        from resnet_studio.export import export_checkpoint

        run = trained_run(base)
        out = Path(tempfile.mkdtemp(prefix="bundle-", dir=base)) / "bundle"
        export_checkpoint(run, "bundle", out)
        _RUNS["bundle"], _RUNS["bundle-run"] = out, run
    return _RUNS["bundle-run"], _RUNS["bundle"]
