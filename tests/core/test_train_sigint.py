"""``python -m resnet_studio train`` in a real process: Ctrl-C (SIGINT) stops cleanly, leaves a
resumable last.pt and says how to resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from test_train_support import CLI_DATA as DATA
from test_train_support import (
    child_env,
    tiny_project,
)
from test_train_support import csv_rows as rows

from resnet_studio.cli import main
from resnet_studio.train import load_checkpoint


def wait_for(predicate, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"the process ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out: {process.communicate()}")
        time.sleep(0.05)


def test_ctrl_c_stops_cleanly_and_leaves_a_resumable_checkpoint(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    metrics = out / "metrics.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "resnet_studio", "train", str(project_file), *DATA,
         "--epochs", "1000", "--telemetry-every", "2", "--out", str(out)],
        cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    wait_for(lambda: metrics.exists() and len(rows(metrics)) >= 1, 120, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "stopping after this step" in stderr and "Traceback" not in stderr
    assert f"resume with: resnet-studio train --resume {out / 'last.pt'}" in stdout
    saved = load_checkpoint(out / "last.pt")
    assert 6 <= saved["step"] < 6000
    assert json.loads((out / "status.json").read_text())["status"] == "stopped"
    # resume it, asking only for one more epoch than the checkpoint has finished
    target = saved["epoch"] + 1
    assert main(["train", "--resume", str(out / "last.pt"), "--epochs", str(target)]) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 6 * target
    assert len(rows(metrics)) == target
