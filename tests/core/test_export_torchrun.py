"""The bundle's train.py under torchrun: two CPU processes (gloo) on loopback train one run
with DistributedDataParallel, rank 0 alone speaks and writes, and the replicas stay identical."""

from __future__ import annotations

import subprocess

import pytest
from test_export_support import (
    PYTHON,
    child_env,
    exported_bundle,
    free_port,
)

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import build
from resnet_studio.export import train_script
from resnet_studio.graph import project
from resnet_studio.train import load_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """(run directory, bundle exported from its best.pt), shared and read-only."""
    return exported_bundle(tmp_path_factory.getbasetemp())


def test_train_py_under_torchrun_with_two_processes(exported, tmp_path):
    bundle = exported[1]
    out = tmp_path / "ddp"
    result = subprocess.run(
        [PYTHON, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
         "127.0.0.1", "--master-port", str(free_port()), "train.py", "--epochs", "2",
         "--out", str(out)],
        cwd=bundle, env=child_env(), capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert result.stdout.count("training on cpu × 2 process(es): 2 steps per epoch") == 1
    assert result.stdout.count("finished 2 epochs (6 steps)") == 1  # rank 0 speaks alone
    assert "identical on all 2 processes" in result.stdout
    saved = load_checkpoint(out / "last.pt")
    assert (saved["epoch"], saved["step"]) == (2, 6)
    # the history goes on from the bundled checkpoint's; best.pt only if epoch 2 beat epoch 1
    history = saved["metrics"]["epochs"]
    assert [h["epoch"] for h in history] == [1, 2]
    improved = history[1]["val_acc"] > history[0]["val_acc"]
    assert (out / "best.pt").is_file() == improved
    model = build(project.from_dict(saved["graph"], CATALOGUE))
    model.load_state_dict(saved["model"])
    digest = result.stdout.split("parameters sha256 ")[1][:16]
    assert train_script.parameter_digest(model).startswith(digest)
