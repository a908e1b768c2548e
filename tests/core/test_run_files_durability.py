"""The run files across kills: steps.jsonl and metrics.csv are on disk before the checkpoint
that covers them, a resumed run drops what its checkpoint does not cover (so nothing is
repeated), and temporary files of writes cut short are removed."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest
import torch
from test_train_support import run_engine, tiny_config

from resnet_studio.train import engine as engine_module
from resnet_studio.train import engine_checkpoints, load_checkpoint
from resnet_studio.train import sinks as sinks_module


def step_numbers(run_dir):
    return [json.loads(line)["step"] for line in (run_dir / "steps.jsonl").read_text().splitlines()]


def metric_rows(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "duration"}
                for row in csv.DictReader(handle)]


def test_steps_are_synced_to_disk_before_each_checkpoint(tmp_path, monkeypatch):
    synced, seen = [], []
    real_fsync, real_save = sinks_module.os.fsync, engine_checkpoints.save_checkpoint

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def save(state, path):
        # what another process (or the disk after a kill) sees at this moment
        seen.append((path.name, state["step"], step_numbers(tmp_path), list(synced)))
        if path.name == "last.pt":  # best.pt, when written, comes first
            synced.clear()
        real_save(state, path)

    monkeypatch.setattr(sinks_module.os, "fsync", fsync)
    monkeypatch.setattr(engine_checkpoints, "save_checkpoint", save)
    _, _, end = run_engine(tiny_config(checkpoint_every=1, telemetry_every=4), tmp_path)
    assert end.status == "finished"
    lasts = [s for s in seen if s[0] == "last.pt"]
    assert [step for _, step, _, _ in lasts] == [*range(1, 7), 6, *range(7, 13), 12]
    for _, step, on_disk, fsynced in lasts:
        assert on_disk == list(range(1, step + 1))
        assert {"steps.jsonl", "metrics.csv"} <= {os.path.basename(f) for f in fsynced}


def capture_checkpoints(monkeypatch, folder):
    """Keep a copy of every checkpoint the engine writes, named step-epoch-file."""
    real_save = engine_checkpoints.save_checkpoint
    folder.mkdir()

    def save(state, path):
        real_save(state, path)
        shutil.copy(path, folder / f"{state['step']}-{state['epoch']}-{path.name}")

    monkeypatch.setattr(engine_checkpoints, "save_checkpoint", save)


def test_a_kill_between_the_epochs_last_step_and_its_end_repeats_nothing(tmp_path, monkeypatch):
    """--checkpoint-every 6 saves last.pt after step 6 (the last of epoch 1) and again after
    validating epoch 1. Killed between the two, with the epoch's row already written, the run
    resumes from "epoch 0, batch 6 of 6": it drops that row and writes it again, with the
    scheduled lr, so the run directory reads as one run."""
    config = tiny_config(epochs=3, checkpoint_every=6, schedule="cosine", warmup_steps=2)
    capture_checkpoints(monkeypatch, tmp_path / "saved")
    straight = tmp_path / "straight"
    assert run_engine(config, straight)[2].status == "finished"
    monkeypatch.undo()
    killed = tmp_path / "killed"
    shutil.copytree(straight, killed)  # every row of the finished run, as the worst case
    shutil.copy(tmp_path / "saved" / "6-0-last.pt", killed / "last.pt")
    assert load_checkpoint(killed / "last.pt")["batch"] == 6
    _, _, end = run_engine(config, killed, resume_from=killed / "last.pt")
    assert end.status == "finished"
    rows = metric_rows(killed)
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert rows == metric_rows(straight)
    assert float(rows[0]["lr"]) != config.lr  # the scheduled lr of step 6, not the configured
    assert step_numbers(killed) == list(range(1, 19))


def test_torn_last_lines_and_rows_beyond_the_checkpoint_are_dropped(tmp_path, monkeypatch):
    capture_checkpoints(monkeypatch, tmp_path / "saved")
    run = tmp_path / "run"
    config = tiny_config(epochs=2, checkpoint_every=4)
    assert run_engine(config, run)[2].status == "finished"
    monkeypatch.undo()
    shutil.copy(tmp_path / "saved" / "8-1-last.pt", run / "last.pt")
    with open(run / "steps.jsonl", "a") as handle:
        handle.write('{"step": 13, "epoch": 3, "lo')  # a write cut short by a kill
    with open(run / "metrics.csv", "a") as handle:
        handle.write("3,18,0.5")
    recorder = []
    engine = engine_module.Engine(_graph(), config, [_Sink(recorder)], run,
                                  resume_from=run / "last.pt")
    assert engine.run().status == "finished"
    assert recorder[0].resumed_step == 8 and recorder[0].resumed_epoch == 1
    assert step_numbers(run) == list(range(1, 13))
    assert [r["epoch"] for r in metric_rows(run)] == ["1", "2"]


class _Sink:
    def __init__(self, records):
        self.records = records

    def on_record(self, record):
        self.records.append(record)

    def close(self):
        pass


def _graph():
    from test_train_support import tiny_graph

    return tiny_graph()


# ----- temporary files ------------------------------------------------------------------------
STALE = [".last.pt.k2j4_x9q.tmp", ".best.pt.abcdefgh.tmp", ".steps.jsonl.0a1b2c3d.tmp"]
KEPT = [".notes.tmp", "last.pt.12345678.tmp", ".last.pt.ABCDEFGH.tmp", "mine.txt"]


def plant(run_dir):
    run_dir.mkdir(exist_ok=True)
    for name in STALE + KEPT:
        (run_dir / name).write_bytes(b"x" * 100)


def test_stale_temporaries_are_removed_when_a_run_starts(tmp_path):
    plant(tmp_path)
    _, _, end = run_engine(tiny_config(epochs=1), tmp_path)
    assert end.status == "finished"
    names = set(os.listdir(tmp_path))
    assert not names & set(STALE) and set(KEPT) <= names


def test_stale_temporaries_are_removed_when_a_run_fails(tmp_path, monkeypatch):
    def save(state, path):
        plant(tmp_path)  # as a kill of an earlier writer would have left them
        raise engine_module.CheckpointError(path, "cannot be written (test).")

    monkeypatch.setattr(engine_checkpoints, "save_checkpoint", save)
    _, _, end = run_engine(tiny_config(epochs=1), tmp_path)
    assert end.status == "failed" and "cannot be written (test)" in end.message
    names = set(os.listdir(tmp_path))
    assert not names & set(STALE) and set(KEPT) <= names


def test_a_checkpoint_without_the_last_lr_resumes_with_the_optimisers(tmp_path):
    """Checkpoints written before ``last_lr`` existed still resume."""
    run = tmp_path / "run"
    config = tiny_config(epochs=2, schedule="cosine")
    assert run_engine(config, run)[2].status == "finished"
    state = torch.load(run / "last.pt", weights_only=True)
    del state["last_lr"]
    state["epoch"], state["batch"] = 1, 6  # epoch 2's last step done, not yet validated
    old = tmp_path / "old.pt"
    torch.save(state, old)
    engine, _, end = run_engine(config, run, resume_from=old)
    assert end.status == "finished"
    assert engine.history[-1]["lr"] == pytest.approx(state["optimizer"]["param_groups"][0]["lr"])
