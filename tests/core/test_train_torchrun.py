"""A two-process ``torchrun`` job on loopback (gloo, CPU): it finishes, writes its files once,
and both ranks end with identical weights."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import torch
from test_train_support import CLI_DATA as DATA
from test_train_support import (
    child_env,
    tiny_graph,
    tiny_project,
)
from test_train_support import csv_rows as rows

from resnet_studio.compiler import build
from resnet_studio.train import load_checkpoint
from resnet_studio.train.distributed import parameter_digest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_torchrun_trains_one_run_with_identical_replicas(tmp_path):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "ddp"
    data = [a if a != "48" else "64" for a in DATA]  # 64 images: 32 per rank, 4 steps each
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(free_port()), "-m", "resnet_studio", "train", str(project_file),
         *data, "--epochs", "2", "--telemetry-every", "2", "--out", str(out)],
        cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=240,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Finished 2 epochs (8 steps)") == 1  # rank 0 reports alone
    assert result.stderr.count("training on cpu × 2 processes") == 1
    assert "replicas identical" in result.stdout
    assert len(rows(out / "metrics.csv")) == 2
    assert len((out / "steps.jsonl").read_text().splitlines()) == 8
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    # rank 0's saved weights are the ones whose digest both ranks agreed on
    saved = load_checkpoint(out / "last.pt")
    model = build(tiny_graph())
    model.load_state_dict(saved["model"])
    digest = result.stdout.split("parameters sha256 ")[1][:16]
    assert parameter_digest(model).startswith(digest)
    assert len(saved["rng"]) == 2 and not torch.equal(saved["rng"][0]["torch"],
                                                       saved["rng"][1]["torch"])
