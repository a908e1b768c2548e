"""Run on a Ray cluster from the Experiments workspace: the set-up's "Run on" reaches the
study's executor (``study.cluster.RayTune``, replaced here: no Ray starts in this process)
and is remembered per project; an address where no head answers ends the study with the
command line's one-line message."""

from __future__ import annotations

from typing import ClassVar

import pytest
from study_helpers import budget, staged_net, study_window

from resnet_studio.graph.project import save
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.plan import StudyError
from resnet_studio.study.trial import InProcess

cluster = pytest.importorskip("resnet_studio.study.cluster", exc_type=ImportError)


@pytest.fixture
def studio(make_window, tmp_path):
    return study_window(make_window, tmp_path, shown=True).studies


class FakeTune(InProcess):
    """Takes RayTune's arguments and trains the trials here, one after another."""

    made: ClassVar[list[tuple]] = []

    def __init__(self, address, *, slots=0, storage=None, **options):
        super().__init__()
        FakeTune.made.append((address, slots, storage, options))


def _projects(studio, tmp_path):
    paths = [tmp_path / name / "net.rstudio.json" for name in ("a", "b")]
    for path in paths:
        path.parent.mkdir()
        save(studio.window.document.graph, path)
    return paths


def test_run_on_a_cluster_reaches_the_executor_and_is_remembered_per_project(
        studio, qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(cluster, "RayTune", FakeTune)
    FakeTune.made = []
    first, second = _projects(studio, tmp_path)
    assert studio.window.open_project(first)
    run_on = studio.setup.form.run_on
    assert run_on.cluster() is None and not run_on.address.isEnabled()
    run_on.set_cluster("10.1.2.3:6379")
    assert run_on.address.isEnabled()
    studio.setup.form.at_once.setValue(2)
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000) as blocker:
        assert studio.setup.request_start() is not None
    outcome, error = blocker.args
    assert error == "" and set(outcome.statuses.values()) == {"finished"}
    assert FakeTune.made == [("10.1.2.3:6379", 2, studio.directory / ".tune", {})]
    assert studio.window.open_project(second)
    assert studio.setup.form.run_on.cluster() is None  # another project: this machine
    assert studio.window.open_project(first)
    assert studio.setup.form.run_on.cluster() == "10.1.2.3:6379"
    studio.setup.form.run_on.set_cluster(None)  # back to this machine: no cluster executor
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        assert studio.setup.request_start() is not None
    assert len(FakeTune.made) == 1
    assert studio.window.open_project(second)
    assert studio.window.open_project(first)
    assert studio.setup.form.run_on.cluster() is None
    assert studio.setup.form.run_on.address.text() == "10.1.2.3:6379"  # kept for next time


def test_the_dialogs_run_on_reaches_the_executor(studio, qtbot, monkeypatch):
    monkeypatch.setattr(cluster, "RayTune", FakeTune)
    FakeTune.made = []
    dialog = studio.open_dialog("sweep")
    dialog.form.run_on.set_cluster("ray://10.1.2.3:10001")
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        dialog.accept()
    assert [made[:2] for made in FakeTune.made] == [("ray://10.1.2.3:10001", 1)]


def _silent_address() -> str:
    import socket

    with socket.socket() as s:  # bound, never listening: a connection is refused
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("address", ["nohost", "", "silent"])
def test_an_address_where_no_head_answers_shows_the_commands_message(studio, qtbot,
                                                                     address):
    address = _silent_address() if address == "silent" else address
    with pytest.raises(StudyError) as refused:  # what `experiment --cluster` prints
        cluster.answering(address)
    study = plan_sweep(staged_net(), budget(), {"seed": [1, 2]})
    with qtbot.waitSignal(studio.worker.finished, timeout=60_000) as blocker:
        assert studio.start_study(study, cluster=address)
    outcome, error = blocker.args
    assert outcome is None and error == str(refused.value)
    assert studio.window.prompts.errors == [("The study stopped", str(refused.value))]
    assert not studio.worker.is_active() and studio.view.isEnabled()


def test_runs_stopped_early_or_not_searched_leave_nothing_to_resume(tmp_path):
    import json

    from resnet_studio.ui.experiments.feature import _unfinished

    study = plan_sweep(staged_net(), budget(), {"seed": [1, 2, 3]})
    study.save(tmp_path)
    runs = {"seed-1": {"status": "stopped early"}, "seed-2": {"status": "not searched"},
            "seed-3": {"status": "stopped"}}
    (tmp_path / "state.json").write_text(json.dumps({"runs": runs}))
    assert _unfinished(study, tmp_path) == ["seed-3"]


def test_choosing_a_cluster_loads_no_ray_on_the_gui_thread(tmp_path):
    """``make_executor`` runs on the GUI thread: Ray (seconds to import) waits for the
    study's own thread."""
    import subprocess
    import sys

    code = ("import sys\nfrom pathlib import Path\n"
            "from resnet_studio.ui.experiments.worker import make_executor\n"
            "executor = make_executor(2, 'auto', Path('s'))\n"
            "print(type(executor).__name__, executor.slots, executor.storage,"
            " 'ray' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["OnCluster", "2", "s/.tune", "False"]
