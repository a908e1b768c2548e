"""Studies on a two-node Ray cluster on loopback (``ray start --head`` and ``ray start
--address``, one CPU each, each in a temporary directory of its own, both stopped at the end):
the command line's ``--cluster HOST:PORT``, a driver killed and the same command rerun, and a
node that leaves in the middle of a study."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from cluster_support import (
    RAY_ENV,
    START_SECONDS,
    STEPS,
    Node,
    Watch,
    free_port,
    reference,
    same_weights,
    step_rows,
    sweep,
)
from test_study_support import staged_graph

from resnet_studio.graph import project
from resnet_studio.study.queue import StudyQueue

ray = pytest.importorskip("ray")
from resnet_studio.study.cluster import RayTune  # noqa: E402  (after the skip: needs Ray)

DATA = ["--dataset", "synthetic", "--train-size", "48", "--val-size", "8", "--image-size", "8",
        "--classes", "4", "--channels", "3", "--batch-size", "8", "--device", "cpu",
        "--telemetry-every", "1", "--checkpoint-every", "2", "--no-estimate"]
CLI_SECONDS = 300


@pytest.fixture(scope="module")
def cluster():
    """The head node and one more; yields the head's address and both nodes."""
    base = Path(tempfile.mkdtemp(prefix="rs-ray-"))  # short: Ray's sockets live in it
    port = free_port()
    nodes = []
    try:
        nodes.append(Node(["--head", "--port", str(port), "--include-dashboard=false"],
                          base / "head"))
        nodes[0].wait_started()
        nodes.append(Node(["--address", f"127.0.0.1:{port}"], base / "worker"))
        nodes[1].wait_started()
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RAY_AUTH_MODE", RAY_ENV["RAY_AUTH_MODE"])
            _await_cpus(f"127.0.0.1:{port}", 2)
            yield f"127.0.0.1:{port}", nodes
    finally:
        for node in reversed(nodes):
            node.stop()
        shutil.rmtree(base, ignore_errors=True)


def _await_cpus(address, count):
    """Until the cluster's scheduler sees ``count`` CPUs (both nodes)."""
    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        deadline = time.monotonic() + START_SECONDS
        while ray.cluster_resources().get("CPU", 0) < count:
            assert time.monotonic() < deadline, f"the cluster has not {count} CPUs"
            time.sleep(0.2)
    finally:
        ray.shutdown()


def _command(project_file, out, address, epochs):
    return [sys.executable, "-m", "resnet_studio", "experiment", "sweep", str(project_file),
            "--vary", "seed=1,2", "--out", str(out), "--epochs", str(epochs), *DATA,
            "--cluster", address]


def _await(condition, process, what):
    deadline = time.monotonic() + CLI_SECONDS
    while not condition():
        assert process.poll() is None, f"the study ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {CLI_SECONDS} s"
        time.sleep(0.2)


def test_a_killed_driver_is_resumed_by_the_same_command_on_both_nodes(cluster, tmp_path):
    address, nodes = cluster
    project_file, out = tmp_path / "tiny.rstudio.json", tmp_path / "study"
    project.save(staged_graph(), project_file)
    command = _command(project_file, out, address, epochs=2)
    env = {**os.environ, **RAY_ENV}
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _await(lambda: any(out.glob("runs/*/last.pt")), first, "checkpoint")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
    state = json.loads((out / "state.json").read_text()) if (out / "state.json").exists() \
        else {"runs": {}}
    unfinished = [f"[{i}/2] seed={i}: resuming" for i in (1, 2)
                  if (out / "runs" / f"seed-{i}" / "last.pt").exists()
                  and state["runs"].get(f"seed-{i}", {}).get("status") != "finished"]
    assert unfinished  # the kill left a run to resume
    assert (out / ".tune").is_dir()  # and Tune's files

    again = subprocess.run(command, capture_output=True, text=True, env=env,
                           timeout=CLI_SECONDS)
    assert again.returncode == 0, again.stderr
    assert "holds this study already: going on where it stopped" in again.stdout
    for line in unfinished:
        assert line in again.stderr
    runs = json.loads((out / "state.json").read_text())["runs"]
    assert {name: run["status"] for name, run in runs.items()} == {
        "seed-1": "finished", "seed-2": "finished"}
    for name in ("seed-1", "seed-2"):
        assert json.loads((out / "runs" / name / "status.json").read_text())["status"] == \
            "finished"
        assert step_rows(out / "runs" / name) == list(range(1, STEPS + 1))
    assert all(node.ran_a_trial() for node in nodes)
    assert not (out / ".tune").exists()  # Tune's files, the killed driver's too, are gone


def test_a_node_that_leaves_costs_only_its_trial(cluster, tmp_path):
    address, (head, worker) = cluster
    straight = reference(sweep(), tmp_path / "in-process")
    study_dir = tmp_path / "study"
    left = []

    def leave(report):
        if report.event == "step" and report.step == 3 and not left:
            lock = study_dir / "runs" / report.name / ".lock"
            if worker.holds(json.loads(lock.read_text())["pid"]):
                worker.fail()  # its trial's worker ends with it
                left.append(report.name)

    watch = Watch(leave)
    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        outcome = StudyQueue(sweep(), study_dir, on_progress=watch,
                             executor=RayTune(buffer=2)).run()
    finally:
        ray.shutdown()
    assert left and head.process.poll() is None
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "finished"}
    moved = left[0]
    steps = watch.steps(moved)
    back = next((i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]), None)
    if back is None:  # its last checkpoint came after the last step the driver had taken in
        assert steps == list(range(1, STEPS + 1))  # (a loaded machine): resumed right there
    else:  # it went on from a checkpoint, not from the start
        assert steps[back] - 1 >= 2 and steps[back:] == list(range(steps[back], STEPS + 1))
    stayed = ({"seed-1", "seed-2"} - {moved}).pop()
    assert watch.steps(stayed) == list(range(1, STEPS + 1))  # never started again
    for name in ("seed-1", "seed-2"):
        assert step_rows(study_dir / "runs" / name) == list(range(1, STEPS + 1))
        assert same_weights(study_dir / "runs" / name, straight / "runs" / name), name
