"""One run trained data-parallel on a local Ray cluster (``train --cluster ADDR --workers 2``,
Ray Train's TorchTrainer, gloo on the CPU): it trains to the end with every step in its run
directory, both ranks end with the same weights, and those are the weights a two-process
``torchrun`` job trains; a stop keeps last.pt and the same command goes on from it.

The cluster is one ``ray start --head`` node of 2 CPUs (a subprocess, stopped at the end); the
drivers are subprocesses too, so that this process never connects to Ray.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from cluster_support import RAY_ENV, Node, free_port
from test_train_support import CLI_DATA, child_env, tiny_graph, tiny_project

from resnet_studio.compiler import build
from resnet_studio.train import load_checkpoint
from resnet_studio.train.distributed import parameter_digest
from resnet_studio.train.history import RunHistory

pytest.importorskip("ray.train.torch")

# 64 images: 32 per rank in batches of 8, 4 steps per epoch, 16 in all
DATA = [a if a != "48" else "64" for a in CLI_DATA] + ["--epochs", "4", "--telemetry-every",
                                                       "2"]
STEPS = 16
# A driver that stops the run once it has seen step 3: its records come through a channel of
# 2, so rank 0 is never more than a few steps ahead and the stop lands well before step 16.
STOPPING = """
import sys
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import build_parser
from resnet_studio.graph import project
from resnet_studio.train.command import train_settings
from resnet_studio.train.raytrain import ClusterRun, Launch

args = build_parser().parse_args(["train", *sys.argv[2:]])
network = project.load(args.project, CATALOGUE)
launch = Launch(network, train_settings(args, network)[0], str(args.out), workers=2, buffer=2)

class StopAt3:
    def on_record(self, record):
        if type(record).__name__ == "StepRecord" and record.step >= 3:
            run.stop()

    def close(self):
        pass

run = ClusterRun(launch, sys.argv[1], [StopAt3()])
end = run.run()
print(end.status, end.step)
"""


@pytest.fixture(scope="module")
def head():
    """A Ray head of 2 CPUs on loopback; its address."""
    base = Path(tempfile.mkdtemp(prefix="rs-rt-"))  # short: Ray's sockets live in it
    port = free_port()
    node = Node(["--head", "--port", str(port), "--include-dashboard=false"], base, cpus=2)
    try:
        node.wait_started()
        yield f"127.0.0.1:{port}"
    finally:
        node.fail()  # at once: a graceful stop of a head takes half a minute
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def project_file(tmp_path_factory):
    return tiny_project(tmp_path_factory.mktemp("project"))


def cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resnet_studio", *arguments], cwd=cwd,
                          env={**child_env(), **RAY_ENV}, capture_output=True, text=True,
                          timeout=240, check=False)


def model_of(run: Path) -> torch.nn.Module:
    model = build(tiny_graph())
    model.load_state_dict(load_checkpoint(run / "last.pt")["model"])
    return model


@pytest.fixture(scope="module")
def on_cluster(head, project_file, tmp_path_factory):
    """The run trained on the cluster by ``train --cluster``: its folder and the command."""
    out = tmp_path_factory.mktemp("cluster") / "run"
    result = cli("train", str(project_file), *DATA, "--out", str(out), "--cluster", head,
                 "--workers", "2", cwd=out.parent)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    return out, result


def test_two_workers_train_the_run_to_the_end_with_identical_replicas(on_cluster):
    out, result = on_cluster
    assert "Finished 4 epochs (16 steps)" in result.stdout
    assert result.stderr.count("training on cpu × 2 processes") == 1  # rank 0's records
    history = RunHistory.load(out)
    assert history.steps.tolist() == list(range(1, STEPS + 1))
    assert len(history.val_acc.y) == 4
    # the end record's two digests are equal, and they are the saved weights' digest
    digests = result.stdout.split("2 processes; replicas identical (parameters sha256 ")
    assert len(digests) == 2
    assert parameter_digest(model_of(out)).startswith(digests[1][:16])


def test_the_cluster_run_trains_the_weights_of_a_torchrun_job(on_cluster, project_file,
                                                              tmp_path):
    out, _ = on_cluster
    local = tmp_path / "torchrun"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(free_port()), "-m", "resnet_studio", "train", str(project_file),
         *DATA, "--out", str(local)],
        cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=240,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    ours, theirs = load_checkpoint(out / "last.pt"), load_checkpoint(local / "last.pt")
    assert ours["model"].keys() == theirs["model"].keys()
    for name, tensor in ours["model"].items():
        assert torch.equal(tensor, theirs["model"][name]), name


def test_a_stopped_run_goes_on_with_the_same_command(on_cluster, head, project_file,
                                                     tmp_path):
    out = tmp_path / "run"
    stopping = subprocess.run(
        [sys.executable, "-c", STOPPING, head, str(project_file), *DATA, "--out", str(out)],
        cwd=tmp_path, env={**child_env(), **RAY_ENV}, capture_output=True, text=True,
        timeout=240, check=False)
    assert stopping.returncode == 0, stopping.stderr[-3000:]
    status, step = stopping.stdout.split()[-2:]
    assert status == "stopped" and 4 <= int(step) < STEPS
    assert load_checkpoint(out / "last.pt")["step"] == int(step)
    again = cli("train", str(project_file), *DATA, "--out", str(out), "--cluster", head,
                "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming after step {step}" in again.stderr
    assert RunHistory.load(out).steps.tolist() == list(range(1, STEPS + 1))
    first = load_checkpoint(on_cluster[0] / "last.pt")["model"]
    for name, tensor in load_checkpoint(out / "last.pt")["model"].items():
        assert torch.equal(tensor, first[name]), name
