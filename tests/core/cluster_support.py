"""Helpers for the Ray tests: a tiny sweep, its runs' weights and step rows, and the study's
progress events gathered on the driver. Holds no tests."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from test_study_support import budget, staged_graph

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.plan import Study
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint

STEPS = 12  # 48 images in batches of 8, 2 epochs


def sweep(seeds: tuple[int, ...] = (1, 2)) -> Study:
    """Runs of 12 steps, a record per step, a checkpoint every 2 steps."""
    config = budget(checkpoint_every=2, data=budget().data.replace(train_size=48))
    return plan_sweep(staged_graph(), config, {"seed": list(seeds)})


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(Path(folder) / "last.pt")["model"]


def same_weights(a: Path, b: Path) -> bool:
    first, second = weights(a), weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k])
                                                 for k in first)


def step_rows(folder: Path) -> list[int]:
    """The step of every row of the run's steps.jsonl, in file order."""
    lines = (Path(folder) / "steps.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines if line.strip()]


class Watch:
    """The queue's progress reports, each with the thread it came on; ``then`` is called with
    each report (to cancel or kill at a chosen one)."""

    def __init__(self, then: Any = None):
        self.reports: list[Any] = []
        self.threads: set[int] = set()
        self.then = then or (lambda report: None)

    def __call__(self, report: Any) -> None:
        self.reports.append(report)
        self.threads.add(threading.get_ident())
        self.then(report)

    def steps(self, name: str) -> list[int]:
        return [r.step for r in self.reports if r.event == "step" and r.name == name]

    def events(self, name: str) -> list[str]:
        return [r.event for r in self.reports if r.name == name and r.event != "step"]


def reference(study: Study, folder: Path) -> Path:
    """``study`` trained in this process, one run after another (the embedded default), on
    one thread like a trial of 1 CPU: CPU kernels sum in another order on more threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcome = StudyQueue(study, folder).run()
    finally:
        torch.set_num_threads(threads)
    assert set(outcome.statuses.values()) == {"finished"}
    return folder


# ----- a Ray cluster of local nodes -----------------------------------------------------------
# Loopback only; every node in a temporary directory of its own. Token authentication is off
# (the nodes and drivers are this machine's processes), so that no token file is needed.
RAY_ENV = {"RAY_AUTH_MODE": "disabled"}
START_SECONDS = 90  # a node that has not started by then fails the fixture


class Node:
    """One ``ray start --block`` process: ending it (``stop``) ends that node's processes,
    and only those (``ray stop`` would end every Ray process on the machine)."""

    def __init__(self, arguments: list[str], folder: Path, cpus: int = 1):
        import os
        import subprocess
        import sys

        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.log = folder, folder / "node.log"
        ray = Path(sys.executable).with_name("ray")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(ray), "start", "--block", "--num-cpus", str(cpus), "--node-ip-address",
                 "127.0.0.1", "--temp-dir", str(folder / "ray"), *arguments],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **RAY_ENV},
                start_new_session=True)  # the node's processes: one group of their own

    def wait_started(self) -> None:
        import time

        deadline = time.monotonic() + START_SECONDS
        while "Ray runtime started" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray node did not start:\n{self.log.read_text()}")
            time.sleep(0.3)

    def ran_a_trial(self) -> bool:
        """Whether a trial's worker ran on this node (Ray's log of each worker names the
        actor it held)."""
        logs = (self.folder / "ray").glob("session_*/logs/worker-*.out")
        return any(":actor_name:train_trial" in log.read_text() for log in logs)

    def holds(self, pid: int) -> bool:
        """Whether process ``pid`` is one of this node's (a descendant of ``ray start``)."""
        return pid in _descendants(self.process.pid)

    def fail(self) -> None:
        """The node fails at once, as a machine that loses power: ``ray start`` and every
        process it started (the raylet starts workers in sessions of their own) are killed."""
        import os
        import signal

        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(root: int) -> list[int]:
    """The processes descending from ``root``, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, StopIteration, ValueError):
            status = (entry / "status").read_text()
            parent = int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("PPid:")))
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance of 2 CPUs on this machine (``ray start --head``, in a temporary
    directory of its own), this process connected to it; stopped at the end. (A second Ray
    instance that this process itself started and shut down, then a connection to another
    cluster, gave actors that died before they started: Ray 2.60.)"""
    import logging
    import shutil
    import tempfile

    import pytest
    import ray

    base = Path(tempfile.mkdtemp(prefix="rs-ray-"))  # short: Ray's sockets live in it
    port = free_port()
    head = Node(["--head", "--port", str(port), "--include-dashboard=false"], base, cpus=2)
    try:
        head.wait_started()
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RAY_AUTH_MODE", RAY_ENV["RAY_AUTH_MODE"])
            ray.init(address=f"127.0.0.1:{port}", log_to_driver=False,
                     logging_level=logging.WARNING)
            try:
                yield
            finally:
                ray.shutdown()
    finally:
        head.stop()
        shutil.rmtree(base, ignore_errors=True)
