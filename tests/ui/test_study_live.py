"""A running study's view: the bar is the study's work done (it does not move on Stop) and
the current run's curves grow while it trains, before its run directory is read again."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from study_helpers import budget, staged_net, study_window

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.queue import StudyQueue
from resnet_studio.ui.experiments import view as view_module
from resnet_studio.ui.experiments import worker as worker_module

HOLD_AT = 5  # of the first run's 6 steps
HELD_BAR = round(view_module.PROGRESS_STEPS * HOLD_AT / 12)  # 5 of the study's 12 steps


class HoldingQueue(StudyQueue):
    """Holds the first run at ``HOLD_AT`` until ``go`` is set: mid-run by construction."""

    go: threading.Event

    def _report(self, event, index, spec, **values):
        super()._report(event, index, spec, **values)
        if event == "step" and index == 0 and values.get("step") == HOLD_AT:
            assert self.go.wait(timeout=60), "the test never let the run go on"


@pytest.fixture
def studio(make_window, tmp_path, monkeypatch):
    window = study_window(make_window, tmp_path)
    monkeypatch.setattr(HoldingQueue, "go", threading.Event(), raising=False)
    monkeypatch.setattr(worker_module, "StudyQueue", HoldingQueue)
    return window.studies


def test_the_running_runs_curves_fill_in_before_it_ends(studio, qtbot):
    view = studio.view
    assert studio.start_study(plan_sweep(staged_net(), budget(), {"seed": [1, 2]}))
    try:
        qtbot.waitUntil(lambda: view.live.points("seed-1") >= HOLD_AT - 1, timeout=60_000)
        qtbot.waitUntil(lambda: view.progress.value() == HELD_BAR, timeout=60_000)
        train, val = view.live.items["seed-1"]
        steps = np.asarray(train.xData)
        assert list(steps[:HOLD_AT - 1]) == [1, 2, 3, 4] and steps.max() <= HOLD_AT
        assert list(val.xData) == [3]  # the first epoch's validation, at its last step
        assert view.results.curves["seed-1"].status != "finished"  # its end is not read yet
        assert "seed=1" in view.curves.labels
    finally:
        HoldingQueue.go.set()
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000):
        pass
    assert view.live.items == {}  # the run directories now hold those points
    assert view.curves.labels == ["seed=1", "seed=2"]


def test_stop_leaves_the_bar_where_it_was(studio, qtbot):
    view = studio.view
    assert studio.start_study(plan_sweep(staged_net(), budget(), {"seed": [1, 2]}))
    qtbot.waitUntil(lambda: view.progress.value() == HELD_BAR, timeout=60_000)
    with qtbot.waitSignal(studio.worker.finished, timeout=120_000) as blocker:
        studio.cancel()
        HoldingQueue.go.set()
    assert blocker.args[0].cancelled
    assert view.progress.value() == HELD_BAR  # and not the run counted whole


def _steps(first: int, last: int) -> list:
    from resnet_studio.train.records import StepRecord

    return [StepRecord(s, 1, 1.0, 0.5, 0.1, 100.0, np.zeros(0)) for s in range(first, last + 1)]


def test_a_redraw_keeps_the_running_runs_live_line(qtbot):
    """The results are drawn again at each run's start; points a running run already sent
    must survive that (they lived only in the live line, and a held run sends no more)."""
    from dataclasses import replace

    from study_helpers import finished_sweep_results

    from resnet_studio.ui.experiments.view import StudyView

    view = StudyView()
    qtbot.addWidget(view)
    finished = finished_sweep_results()
    running = replace(finished, curves={**finished.curves,
                                        "seed-1": replace(finished.curves["seed-1"],
                                                          status="running")})
    view.live.add("seed-1", _steps(1, 2))  # drained before any results were drawn: kept
    view.show_results(running)
    assert view.live.points("seed-1") == 2
    view.live.add("seed-1", _steps(3, 4))
    view.show_results(running)  # drawn again (a run started): the line comes back whole
    assert view.live.points("seed-1") == 4
    view.show_results(finished)  # it ended: its directory holds the points now
    assert view.live.items == {} and view.live.histories == {}
    view.live.add("seed-2", _steps(1, 3))  # a finished run's late records are left alone
    assert view.live.points("seed-2") == 0
