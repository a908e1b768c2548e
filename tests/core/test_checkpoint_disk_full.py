"""A full disk while a checkpoint is written: the run stops with one line saying so, the
checkpoint it would have replaced is intact and no temporary file is left.

The failures are the real ones: torch's zip writer is given a file whose writes fail with
ENOSPC (it turns that into a RuntimeError from inline_container.cc), or ``fsync`` raises it.
``benchmarks/full_disk.py`` does the same on a real, tiny tmpfs (it needs root).
"""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch
from test_train_support import run_engine, tiny_config

from resnet_studio import files
from resnet_studio.train import CheckpointError, load_checkpoint, save_checkpoint
from resnet_studio.train import checkpoint as checkpoint_module
from resnet_studio.train.checkpoint import MARKER, DiskFullError

REAL_SAVE = torch.save


class FillingFile:
    """A file handle on a device with ``room`` bytes left."""

    def __init__(self, handle, room: int):
        self.handle, self.room = handle, room

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def disk_fills_after(monkeypatch, saves_that_fit: int, room: int = 1000) -> list[int]:
    """``torch.save`` in the checkpoint module writes normally ``saves_that_fit`` times, then
    on a device with ``room`` bytes left. Returns the list counting the calls."""
    calls: list[int] = []

    def save(state, handle):
        calls.append(1)
        if len(calls) > saves_that_fit:
            handle = FillingFile(handle, room)
        REAL_SAVE(state, handle)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    return calls


# torch raises the RuntimeError "[enforce fail at inline_container.cc…] unexpected pos" when a
# write of a record fails, and lets the OSError through when the first or the final write does.
@pytest.mark.parametrize("room, raised", [(1000, RuntimeError), (100, RuntimeError),
                                          (600, OSError)], ids=["mid", "first", "end"])
def test_what_torch_raises_on_a_full_disk_becomes_disk_full(tmp_path, monkeypatch, room, raised):
    path = tmp_path / "last.pt"
    save_checkpoint({MARKER: 1, "w": torch.ones(4)}, path)
    before = path.read_bytes()
    disk_fills_after(monkeypatch, 0, room)
    with open(tmp_path / "probe", "wb") as handle, pytest.raises(raised) as caught:
        checkpoint_module.torch.save({"w": torch.ones(1000)}, handle)
    assert raised is OSError or "inline_container.cc" in str(caught.value)
    (tmp_path / "probe").unlink()
    with pytest.raises(DiskFullError) as caught:
        save_checkpoint({MARKER: 1, "w": torch.ones(1000)}, path)
    assert str(caught.value) == f"no space left on device while writing {path}"
    assert isinstance(caught.value, CheckpointError)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["last.pt"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_a_full_disk_at_fsync_is_disk_full_too(tmp_path, monkeypatch, code):
    def fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(DiskFullError, match="no space left on device while writing"):
        save_checkpoint({MARKER: 1}, tmp_path / "last.pt")
    assert os.listdir(tmp_path) == []


def test_other_write_failures_keep_their_own_message(tmp_path, monkeypatch):
    def fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(CheckpointError,
                       match=r"last\.pt: cannot be written \(Input/output") as caught:
        save_checkpoint({MARKER: 1}, tmp_path / "last.pt")
    assert not isinstance(caught.value, DiskFullError)


def test_a_full_disk_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    calls = disk_fills_after(monkeypatch, saves_that_fit=4)
    _, _, end = run_engine(tiny_config(checkpoint_every=2), tmp_path)
    # last.pt at steps 2, 4 and 6, best.pt at the end of epoch 1, then last.pt fails
    assert len(calls) == 5 and end.status == "failed"
    last, best = tmp_path / "last.pt", tmp_path / "best.pt"
    assert end.message == (f"no space left on device while writing {last}; training stopped at "
                           f"step 6 and the last checkpoint, {last}, is intact. Free some space "
                           "and resume.")
    saved = load_checkpoint(last)
    assert (saved["step"], saved["epoch"], saved["batch"]) == (6, 0, 6)
    assert load_checkpoint(best)["epoch"] == 1
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "failed" and status["message"] == end.message
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_a_full_disk_before_any_checkpoint_says_so(tmp_path, monkeypatch):
    disk_fills_after(monkeypatch, saves_that_fit=0)
    _, _, end = run_engine(tiny_config(checkpoint_every=2), tmp_path)
    assert end.status == "failed"
    assert end.message == (f"no space left on device while writing {tmp_path / 'last.pt'}; "
                           "training stopped at step 2 and no checkpoint had been written yet. "
                           "Free some space and resume.")
    assert sorted(os.listdir(tmp_path)) == ["config.json", "graph.json", "metrics.csv",
                                            "status.json", "steps.jsonl"]


def test_a_full_disk_under_the_run_files_is_one_line(tmp_path, monkeypatch):
    """steps.jsonl and metrics.csv fail too when the disk fills between checkpoints."""
    from resnet_studio.train import sinks

    def write_epoch(self, record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sinks.RunDirSink, "_write_epoch", write_epoch)
    _, _, end = run_engine(tiny_config(), tmp_path)
    assert end.status == "failed"
    assert end.message == f"no space left on device while writing the run directory {tmp_path}"
