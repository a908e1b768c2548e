"""Two commands writing one run or study directory: the second is refused at once (exit 2,
one line naming the first), and the first's run is whole. The first is held with SIGSTOP once
it has the lock, so that the second meets it whatever the machine's speed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from lock_helpers import child_env, wait_until
from test_train_kills import STEPS_PER_EPOCH, KillReport, check_finished_run, command
from test_train_support import CLI_DATA, tiny_project

from resnet_studio import locks


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "resnet_studio", *map(str, args)]


def snapshot(folder) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def refused_while_held(first: list[str], second: list[str], folder, expect: str) -> None:
    """Start ``first``; once it holds ``folder``'s lock, stop it, run ``second`` (refused,
    touching nothing), let the first go on and finish."""
    process = subprocess.Popen(first, env=child_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (locks.holder(folder) or {}).get("pid") == process.pid,
                   process=process)
        process.send_signal(signal.SIGSTOP)
        before = snapshot(folder)
        refused = subprocess.run(second, env=child_env(), capture_output=True, text=True,
                                 timeout=300, check=False)
        assert snapshot(folder) == before
    finally:
        process.send_signal(signal.SIGCONT)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-800:]
    assert refused.returncode == 2, refused.stderr[-800:]
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("resnet-studio: error: "), lines
    assert (f"{folder} is being written by {expect} (pid {process.pid} on host "
            f"{socket.gethostname()}, since ") in lines[0]


def test_a_second_training_into_one_run_directory_is_refused(tmp_path):
    run = tmp_path / "run"
    first = command(tiny_project(tmp_path), run, epochs=2)
    second = cli("train", tmp_path / "tiny.rstudio.json", "--out", run, "--epochs", "2",
                 *CLI_DATA)
    refused_while_held(first, second, run, "resnet-studio train")
    report = KillReport()
    check_finished_run(run, 2, report)  # steps 1…12 once each, epochs 1, 2, no temporaries
    assert not report.problems, report.problems
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    steps = (run / "steps.jsonl").read_text().splitlines()
    assert len(rows) == len(steps) // STEPS_PER_EPOCH == 2


def test_two_resumes_of_one_checkpoint_one_is_refused(tmp_path):
    run = tmp_path / "run"
    made = subprocess.run(command(tiny_project(tmp_path), run, epochs=1), env=child_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    assert made.returncode == 0, made.stderr[-800:]
    resume = cli("train", "--resume", run / "last.pt", "--epochs", "2")
    refused_while_held(resume, resume, run, "resnet-studio train")
    report = KillReport()
    check_finished_run(run, 2, report)
    assert not report.problems, report.problems


def test_a_study_resumed_twice_at_once_is_refused_once(tmp_path):
    study = tmp_path / "study"
    project = tiny_project(tmp_path)
    planned = subprocess.run(
        cli("experiment", "sweep", project, "--vary", "seed=0,1", "--out", study,
            "--plan-only", "--no-estimate", "--epochs", "1", *CLI_DATA),
        env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert planned.returncode == 0, planned.stderr[-800:]
    resume = cli("experiment", "resume", study, "--no-estimate")
    refused_while_held(resume, resume, study, "resnet-studio experiment resume")
    runs = sorted(p.name for p in (study / "runs").iterdir())
    assert len(runs) == 2
    for name in runs:
        assert '"finished"' in (study / "runs" / name / "status.json").read_text()
    assert not [n for n in os.listdir(study) if n.endswith(".tmp")]
