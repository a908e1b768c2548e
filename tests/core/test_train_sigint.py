"""``python -m resnet_studio train`` in a real process: Ctrl-C (SIGINT) stops cleanly, leaves a
resumable last.pt and says how to resume."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
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


class Lines:
    """Every line the child writes on stdout and stderr, read by two threads, so that the test
    can wait for a line (an event of the child's, not a guess at its timing)."""

    def __init__(self, process: subprocess.Popen):
        self.process, self.seen, self._new = process, [], queue.Queue()
        for stream in (process.stdout, process.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._new.put(line)
        self._new.put(None)

    def wait_for(self, text: str | None, timeout: float = 120) -> str:
        """Read until a line holding ``text`` (None: until both streams end); all seen."""
        deadline, ended = time.monotonic() + timeout, 0
        while text is None or not any(text in line for line in self.seen):
            try:
                line = self._new.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no ‘{text}’ in time: {''.join(self.seen)}") from None
            if line is not None:
                self.seen.append(line)
                continue
            ended += 1
            if ended == 2 and text is None:
                break
            if ended == 2:
                raise AssertionError(f"the process ended before ‘{text}’: {''.join(self.seen)}")
        return "".join(self.seen)


@pytest.mark.parametrize("second_after", [
    "stopping after this step",          # while the step finishes and last.pt is written
    "resume with: resnet-studio train",  # after the run ended, while the process exits
])
def test_a_second_ctrl_c_ends_with_status_130_and_keeps_last_pt(tmp_path, second_after):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "resnet_studio", "train", str(tiny_project(tmp_path)), *DATA,
         "--epochs", "1000", "--out", str(out)],
        cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    lines = Lines(process)
    lines.wait_for("epoch 2: ")  # epoch 1's last.pt is written before epoch 2 ends
    process.send_signal(signal.SIGINT)
    lines.wait_for(second_after)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    text = lines.wait_for(None)
    process.stdout.close()
    process.stderr.close()
    assert code == 130, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert load_checkpoint(out / "last.pt")["epoch"] >= 1
