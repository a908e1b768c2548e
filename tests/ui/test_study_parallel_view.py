"""Runs at once in the Experiments workspace: the set-up's "Run at once" reaches the study's
executor and is remembered, and two trials stream their curves into the view together."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from parallel_hold import hold_at
from study_helpers import budget, staged_net, study_window

from resnet_studio.graph.project import save
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.parallel import Parallel
from resnet_studio.ui.experiments import worker as worker_module

HOLD_AT = 2  # of each run's 6 steps


@pytest.fixture
def studio(make_window, tmp_path):
    return study_window(make_window, tmp_path, shown=True).studies


def test_two_trials_stream_their_curves_at_the_same_time(studio, qtbot, monkeypatch):
    asked = []

    def holding(at_once, cluster=None, directory=None):
        asked.append(at_once)
        return Parallel(at_once, threads_per_trial=1,
                        train=functools.partial(hold_at, step=HOLD_AT))
    monkeypatch.setattr(worker_module, "make_executor", holding)
    view = studio.view
    assert studio.start_study(plan_sweep(staged_net(), budget(), {"seed": [1, 2]}), at_once=2)
    try:
        # Each child holds its run at step 2 until stopped: both are mid-way together.
        qtbot.waitUntil(lambda: min(view.live.points("seed-1"),
                                    view.live.points("seed-2")) == HOLD_AT, timeout=90_000)
        assert asked == [2]
        for name in ("seed-1", "seed-2"):
            train, _ = view.live.items[name]
            assert list(train.xData) == [1, 2]
            assert view.results.curves[name].status != "finished"
        assert len({id(view.live.items[n][0]) for n in ("seed-1", "seed-2")}) == 2
        lines = view.status.text().splitlines()
        assert [line.split(" · ")[0] for line in lines] == [
            "Run 1 of 2: seed=1", "Run 2 of 2: seed=2"]
        assert all("step 2 of 6" in line for line in lines)
    finally:
        with qtbot.waitSignal(studio.worker.finished, timeout=120_000) as blocker:
            studio.cancel()
    outcome = blocker.args[0]
    assert outcome.cancelled and outcome.statuses == {"seed-1": "stopped", "seed-2": "stopped"}


def test_run_at_once_goes_to_the_worker_and_is_remembered_per_project(studio, qtbot,
                                                                      monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(worker_module, "make_executor",
                        lambda at_once, *_: asked.append(at_once))  # None: trained in-process
    first, second = tmp_path / "a" / "net.rstudio.json", tmp_path / "b" / "net.rstudio.json"
    for path in (first, second):
        path.parent.mkdir()
        save(studio.window.document.graph, path)
    assert studio.window.open_project(first)
    assert studio.setup.form.at_once.value() == 1
    studio.setup.form.at_once.setValue(3)
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        assert studio.setup.request_start() is not None
    assert asked == [3]
    assert studio.window.open_project(second)
    assert studio.setup.form.at_once.value() == 1  # another project: its own (none yet)
    assert studio.window.open_project(first)
    assert studio.setup.form.at_once.value() == 3
    studio.setup.form.at_once.setValue(2)  # Resume takes the value on show
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        assert studio.resume()
    assert asked == [3, 2]


def _start(resumed: int, run_dir) -> object:
    from resnet_studio.train.records import RunStartRecord

    return RunStartRecord((), (), (), {}, {}, None, "cpu", 1, 3, 6, resumed, str(run_dir))


def _steps(first: int, last: int, accuracy: float) -> list:
    from resnet_studio.train.records import StepRecord

    return [StepRecord(s, 1, 1.0, accuracy, 0.1, 100.0, np.zeros(0))
            for s in range(first, last + 1)]


def test_a_restarted_runs_live_line_drops_the_steps_trained_again(qtbot, tmp_path):
    from dataclasses import replace

    from study_helpers import finished_sweep_results

    from resnet_studio.ui.experiments.view import StudyView

    view = StudyView()
    qtbot.addWidget(view)
    finished = finished_sweep_results()
    view.show_results(replace(finished, curves={**finished.curves, "seed-1": replace(
        finished.curves["seed-1"], status="running")}))
    run = tmp_path / "seed-1"  # what the killed child had made durable: its last.pt's steps
    run.mkdir()
    (run / "steps.jsonl").write_text("".join(
        json.dumps({"step": s, "loss": 1.0, "accuracy": 0.5}) + "\n" for s in range(1, 5)))
    view.live.add("seed-1", [_start(0, run), *_steps(1, 5, 0.5)])
    # The child died after step 5; the new one goes on from step 4 (its last.pt).
    view.live.add("seed-1", [*_steps(5, 5, 0.5), _start(4, run), *_steps(5, 6, 0.75)])
    train, _ = view.live.items["seed-1"]
    assert list(train.xData) == [1, 2, 3, 4, 5, 6]
    history = view.live.histories["seed-1"]
    assert list(history.accuracy.raw.y) == [0.5] * 4 + [0.75] * 2


def test_the_dialogs_run_at_once_goes_to_the_worker(studio, qtbot, monkeypatch):
    asked = []
    monkeypatch.setattr(worker_module, "make_executor",
                        lambda at_once, *_: asked.append(at_once))
    dialog = studio.open_dialog("sweep")
    dialog.form.at_once.setValue(4)
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        dialog.accept()
    assert asked == [4]
