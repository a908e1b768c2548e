"""One run trained data-parallel on a local Ray cluster (``train --cluster ADDR --workers 2``,
Ray Train's TorchTrainer, gloo on the CPU): it trains to the end with every step in its run
directory, both ranks end with the same weights, and those are the weights a two-process
``torchrun`` job trains, although the run lost a worker (Ray Train started the group again
from last.pt) and was stopped (keeping last.pt) before the same command took it to the end.

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

# 64 images: 32 per rank in batches of 8, 4 steps per epoch, 20 in all
DATA = [a if a != "48" else "64" for a in CLI_DATA] + ["--epochs", "5", "--telemetry-every",
                                                       "2"]
STEPS = 20
# A driver that kills a worker of the head node (``sys.argv[2]``: its ``ray start``) once it
# has seen step 5 (so epoch 1's last.pt is on disk), then stops the run at the restarted
# group's first step. The records come through a channel of 2, so rank 0 is never more than a
# few steps ahead of what the driver has seen: the kill lands before step 12 and the stop well
# before step 20, whatever the machine's speed.
FAULTY = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from cluster_support import _descendants
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import build_parser
from resnet_studio.graph import project
from resnet_studio.train.command import train_settings
from resnet_studio.train.progress import ProgressSink
from resnet_studio.train.raytrain import ClusterRun, Launch

args = build_parser().parse_args(["train", *sys.argv[4:]])
network = project.load(args.project, CATALOGUE)
launch = Launch(network, train_settings(args, network)[0], str(args.out), workers=2, buffer=2)

def worker(head):
    for pid in _descendants(head):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().startswith(b"ray::RayTrainWorker"):
                return pid

class KillAt5ThenStop:
    killed = False

    def on_record(self, record):
        if type(record).__name__ != "StepRecord":
            return
        if record.step >= 5 and not self.killed:
            os.kill(worker(int(sys.argv[2])), signal.SIGKILL)
            self.killed = True
        elif run.attempts == 2:
            run.stop()

    def close(self):
        pass

run = ClusterRun(launch, sys.argv[3], [ProgressSink(sys.stderr), KillAt5ThenStop()])
end = run.run()
print(end.status, end.step, run.attempts)
"""


@pytest.fixture(scope="module")
def head():
    """A Ray head of 2 CPUs on loopback; its address."""
    base = Path(tempfile.mkdtemp(prefix="rs-rt-"))  # short: Ray's sockets live in it
    port = free_port()
    node = Node(["--head", "--port", str(port), "--include-dashboard=false"], base, cpus=2)
    try:
        node.wait_started()
        yield f"127.0.0.1:{port}", node
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
    """The run on the cluster: a driver loses a worker after step 5 and stops the restarted
    run; then ``train --cluster`` (the same command) goes on to the end. Its
    folder, the first driver's result, and the command's."""
    out = tmp_path_factory.mktemp("cluster") / "run"
    faulty = subprocess.run(
        [sys.executable, "-c", FAULTY, str(Path(__file__).parent), str(head[1].process.pid),
         head[0], str(project_file), *DATA, "--out", str(out)],
        cwd=out.parent, env={**child_env(), **RAY_ENV}, capture_output=True, text=True,
        timeout=240, check=False)
    assert faulty.returncode == 0, faulty.stderr[-3000:]
    stopped_at = load_checkpoint(out / "last.pt")["step"]
    again = cli("train", str(project_file), *DATA, "--out", str(out), "--cluster", head[0],
                "--workers", "2", cwd=out.parent)
    assert again.returncode == 0, again.stderr[-3000:] + again.stdout[-2000:]
    return out, faulty, stopped_at, again


def test_a_lost_worker_restarts_the_group_from_last_pt_and_a_stop_keeps_it(on_cluster):
    _, faulty, stopped_at, _ = on_cluster
    status, step, attempts = faulty.stdout.split()[-3:]
    starts = [line for line in faulty.stderr.splitlines()
              if line.startswith("training on cpu × 2 processes")]
    assert len(starts) == 2 and "resuming" not in starts[0]
    resumed = int(starts[1].rpartition("resuming after step ")[2])
    assert resumed in (4, 8)  # an epoch's last.pt, not a fresh start
    assert (status, attempts) == ("stopped", "2") and resumed < int(step) < STEPS
    assert stopped_at == int(step)


def test_the_same_command_goes_on_to_the_end_with_identical_replicas(on_cluster):
    out, _, stopped_at, again = on_cluster
    assert f"resuming after step {stopped_at}" in again.stderr
    assert "Finished 5 epochs (20 steps)" in again.stdout
    history = RunHistory.load(out)
    assert history.steps.tolist() == list(range(1, STEPS + 1))  # each step once
    assert len(history.val_acc.y) == 5
    assert not (out / ".ray-train").exists()  # Ray Train's own files: removed at the end
    # the end record's two digests are equal, and they are the saved weights' digest
    digests = again.stdout.split("2 processes; replicas identical (parameters sha256 ")
    assert len(digests) == 2
    assert parameter_digest(model_of(out)).startswith(digests[1][:16])


def test_the_cluster_run_trains_the_weights_of_a_torchrun_job(on_cluster, project_file,
                                                              tmp_path):
    out = on_cluster[0]
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
