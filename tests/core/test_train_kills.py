"""SIGKILL during training, at random moments, then resume: every checkpoint still loads, no
step record that a checkpoint covers is lost, and the finished run directory reads as one
uninterrupted run with no temporary file left.

``kill_and_resume`` is also the engine of ``benchmarks/kill_soak.py``, which runs it with
many more kills; here a handful keeps the suite quick.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from test_train_support import CLI_DATA, ROOT, tiny_project

from resnet_studio.train import CheckpointError, load_checkpoint

STEPS_PER_EPOCH = 6  # CLI_DATA: 48 images in batches of 8


@dataclass
class KillReport:
    kills: int = 0
    intact: int = 0  # kills after which every checkpoint present loaded
    lost: int = 0  # step records a checkpoint covered that were not on disk after a kill
    temporaries_after_kills: int = 0  # left by a kill, to be removed by the next start
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.kills} kills, {self.intact} intact, {self.lost} step records lost, "
                f"{self.temporaries_after_kills} temporary files left by kills (removed on "
                "resume)")


def command(project: Path, run: Path, epochs: int) -> list[str]:
    if (run / "last.pt").exists():
        args = ["--resume", str(run / "last.pt")]
    else:
        args = [str(project), "--out", str(run), "--force", "--epochs", str(epochs),
                "--checkpoint-every", "1", "--telemetry-every", "2", *CLI_DATA]
    return [sys.executable, "-m", "resnet_studio", "train", *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def steps_on_disk(run: Path) -> list[int]:
    """Step numbers in steps.jsonl; a line a kill cut short is skipped (resuming drops it)."""
    path = run / "steps.jsonl"
    numbers = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            numbers.append(json.loads(line)["step"])
    return numbers


def temporaries(run: Path) -> list[str]:
    return sorted(p.name for p in run.glob(".*.tmp")) if run.exists() else []


def checkpoint_id(run: Path) -> tuple[int, int] | None:
    """Which last.pt is there: each atomic write makes a new file (inode, time)."""
    try:
        info = (run / "last.pt").stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns


def wait_while_starting(process: subprocess.Popen, run: Path, limit: float) -> None:
    """Up to ``limit`` seconds while the process starts (reads and truncates the files), but
    no longer than until it writes its first checkpoint: a kill here lands before training."""
    before = checkpoint_id(run)
    began = time.monotonic()
    while process.poll() is None and time.monotonic() - began < limit:
        if checkpoint_id(run) not in (None, before):
            return
        time.sleep(0.005)


def wait_for_step(process: subprocess.Popen, run: Path, target: int,
                  timeout: float = 300) -> None:
    """Until steps.jsonl records step ``target`` (the kill lands at a point in the run, not
    after a wall-clock delay that a fast machine outruns)."""
    began = time.monotonic()
    while process.poll() is None and time.monotonic() - began < timeout:
        steps = steps_on_disk(run)
        if steps and steps[-1] >= target:
            return
        time.sleep(0.005)


def kill_steps(rng: random.Random, kills: int, epochs: int) -> list[int]:
    """Distinct steps to kill at, in order, all at least an epoch before the end so that the
    run cannot finish first."""
    last = epochs * STEPS_PER_EPOCH - STEPS_PER_EPOCH
    if last - 1 < kills:
        raise ValueError(f"{epochs} epochs leave too few steps for {kills} kills")
    return sorted(rng.sample(range(2, last + 1), kills))


def inspect_after_kill(run: Path, report: KillReport) -> None:
    """Every checkpoint loads; steps.jsonl holds every step last.pt covers."""
    ok = True
    covered = 0
    for name in ("last.pt", "best.pt"):
        if (run / name).exists():
            try:
                state = load_checkpoint(run / name)
            except CheckpointError as exc:
                ok = False
                report.problems.append(f"kill {report.kills}: {exc}")
                continue
            if name == "last.pt":
                covered = state["step"]
    missing = set(range(1, covered + 1)) - set(steps_on_disk(run))
    report.lost += len(missing)
    if missing:
        report.problems.append(f"kill {report.kills}: steps {sorted(missing)[:5]} lost")
    report.intact += ok
    report.temporaries_after_kills += len(temporaries(run))


def kill_and_resume(run: Path, kills: int, epochs: int, seed: int = 0,
                    max_delay: float = 0.6) -> KillReport:
    """Train, SIGKILL at a random step (or now and then while it starts), resume; ``kills``
    times, then let the run finish and check its files."""
    rng = random.Random(seed)
    project = tiny_project(run.parent)
    report = KillReport()
    for target in kill_steps(rng, kills, epochs):
        process = subprocess.Popen(command(project, run, epochs), env=child_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with process:
            if rng.random() < 0.15:  # now and then while it starts
                wait_while_starting(process, run, rng.uniform(0, 6))
            else:  # at a step, then a little later: inside a write, now and then
                wait_for_step(process, run, target)
                time.sleep(rng.uniform(0, max_delay / 10))
            if process.poll() is not None:
                report.problems.append(f"finished (status {process.returncode}) before kill "
                                       f"{report.kills + 1}: "
                                       f"{process.stderr.read().decode()[-300:]}")
                break
            process.send_signal(signal.SIGKILL)
            process.wait()
        report.kills += 1
        inspect_after_kill(run, report)
    final = subprocess.run(command(project, run, epochs), env=child_env(), capture_output=True,
                           text=True, timeout=600, check=False)
    if final.returncode != 0:
        report.problems.append(f"the last resume failed: {final.stderr[-500:]}")
    check_finished_run(run, epochs, report)
    return report


def check_finished_run(run: Path, epochs: int, report: KillReport) -> None:
    total = epochs * STEPS_PER_EPOCH
    steps = steps_on_disk(run)
    if steps != list(range(1, total + 1)):
        report.problems.append(f"steps.jsonl is not steps 1…{total} once each: "
                               f"{len(steps)} records, {len(set(steps))} distinct")
    with open(run / "metrics.csv") as handle:
        epochs_logged = [int(row["epoch"]) for row in csv.DictReader(handle)]
    if epochs_logged != list(range(1, epochs + 1)):
        report.problems.append(f"metrics.csv epochs are {epochs_logged}")
    if temporaries(run):
        report.problems.append(f"temporary files left: {temporaries(run)}")
    if load_checkpoint(run / "last.pt")["step"] != total:
        report.problems.append("last.pt is not at the last step")


def test_kills_at_random_moments_lose_nothing(tmp_path):
    report = kill_and_resume(tmp_path / "run", kills=3, epochs=6, seed=1)
    assert report.problems == []
    assert report.kills == 3 and report.intact == 3 and report.lost == 0


def test_kill_steps_leave_the_last_epoch_alone():
    steps = kill_steps(random.Random(3), kills=5, epochs=3)
    assert steps == sorted(set(steps)) and len(steps) == 5
    assert steps[0] >= 2 and steps[-1] <= 2 * STEPS_PER_EPOCH
    try:
        kill_steps(random.Random(3), kills=6, epochs=2)
    except ValueError as exc:
        assert "too few steps" in str(exc)
    else:
        raise AssertionError("6 kills in 2 epochs were planned")
