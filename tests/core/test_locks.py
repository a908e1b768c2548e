"""One writer per run directory, study directory and project file (``resnet_studio.locks``):
a second writer is refused at once naming the holder; a lock left by a killed process is taken
over; the temporary files of killed writers go, those of live writers stay."""

from __future__ import annotations

import os
import re
import socket
import threading

import pytest
from lock_helpers import HOLDER, WHAT, WRITER, finish, kill, start
from test_train_support import run_engine, tiny_config, tiny_graph

from resnet_studio import locks
from resnet_studio.cli import main
from resnet_studio.graph import project
from resnet_studio.train.records import RunEndRecord


def test_a_second_process_is_refused_at_once_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    helper = start(HOLDER, run, "dir", ready="held")
    with pytest.raises(locks.LockBusy) as caught:
        locks.hold(run, "second", hint="wait for it")
    text = str(caught.value)
    assert text.startswith(f"{run} is being written by {WHAT} (pid {helper.pid} on host "
                           f"{socket.gethostname()}, since ")
    assert re.search(r"since \d\d:\d\d:\d\d\); wait for it$", text), text
    assert locks.holder(run)["pid"] == helper.pid
    assert finish(helper) == 0
    assert locks.holder(run) is None  # its process ended: nobody holds it
    with locks.hold(run, "second"):
        assert locks.holder(run)["command"] == "second"


def test_the_lock_is_reentrant_on_its_thread_and_refused_to_others(tmp_path):
    refusals = []

    def other_thread():
        try:
            locks.hold(tmp_path, "other").release()
        except locks.LockBusy as exc:
            refusals.append(str(exc))
        else:
            refusals.append("")

    outer = locks.hold(tmp_path, "outer")
    with locks.hold(tmp_path, "inner"):
        pass
    for expect_refused in (True, False):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join(timeout=60)
        assert bool(refusals[-1]) is expect_refused, refusals
        outer.release()  # the inner release left it held; this one ends it
    assert f"by outer (pid {os.getpid()}" in refusals[0]
    assert not (tmp_path / ".lock").exists()  # a release removes the lock file


def test_a_killed_holders_lock_is_taken_over_and_dead_writers_temporaries_removed(tmp_path):
    holder = start(HOLDER, tmp_path, "dir", ready="held")
    dead = start(WRITER, tmp_path / "last.pt", ready="writing")
    live = start(WRITER, tmp_path / "best.pt", ready="writing")
    kill(holder)
    kill(dead)
    legacy = tmp_path / ".steps.jsonl.abcd1234.tmp"  # an older version's name: no pid
    legacy.write_bytes(b"x")
    dead_tmp, = tmp_path.glob(f".last.pt.{dead.pid}.*.tmp")
    live_tmp, = tmp_path.glob(f".best.pt.{live.pid}.*.tmp")
    assert locks.holder(tmp_path) is None and (tmp_path / ".lock").exists()  # stale
    try:
        with locks.hold(tmp_path, "next"):
            assert locks.holder(tmp_path)["pid"] == os.getpid()
            assert not dead_tmp.exists() and not legacy.exists()
            assert live_tmp.exists()  # its writer is alive: never deleted under it
    finally:
        assert finish(live) == 0
    assert sorted(os.listdir(tmp_path)) == ["best.pt"]
    assert (tmp_path / "best.pt").read_bytes() == b"x" * 1000


def test_a_run_into_a_locked_directory_fails_at_once_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    helper = start(HOLDER, run, "dir", ready="held")
    try:
        engine, recorder, end = run_engine(tiny_config(epochs=1), run)
        left = os.listdir(run)
    finally:
        assert finish(helper) == 0
    assert end.status == "failed" and engine.session is None
    assert f"is being written by {WHAT} (pid {helper.pid}" in end.message
    assert recorder.of(RunEndRecord) == [end]  # the app's sink hears why
    assert left == [".lock"]  # no status.json, no metrics: that run is another's
    _, _, end = run_engine(tiny_config(epochs=1), run)  # free again
    assert end.status == "finished"


def test_the_cli_refuses_to_overwrite_a_project_another_process_holds(tmp_path, capsys):
    path = tmp_path / "net.rstudio.json"
    project.save(tiny_graph(), path)
    before = path.read_bytes()
    helper = start(HOLDER, path, "file", ready="held")
    try:
        code = main(["new", "small_resnet", "-o", str(path), "--force"])
    finally:
        assert finish(helper) == 0
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"cannot be written: it is open in {WHAT} (pid {helper.pid}" in err
    assert path.read_bytes() == before
    assert main(["new", "small_resnet", "-o", str(path), "--force"]) == 0
    assert path.read_bytes() != before
    assert sorted(os.listdir(tmp_path)) == ["net.rstudio.json"]
