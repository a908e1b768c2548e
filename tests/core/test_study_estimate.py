"""The study's time estimate: steps per run from the budget, one timed network scaled by MACs."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.study.estimate import (
    EstimateCancelled,
    data_sizes,
    estimate,
    run_steps,
)
from resnet_studio.study.kinds import plan_degradation


def test_steps_come_from_the_budget():
    config = budget(epochs=3).to_dict()  # 24 images in batches of 8
    assert data_sizes(config) == (24, 8) and run_steps(config) == 9
    mnist = budget().to_dict()
    mnist["data"] = {**mnist["data"], "dataset": "mnist", "val_fraction": 0.1}
    assert data_sizes(mnist) == (54_000, 6_000) and run_steps(mnist) == 54_000 // 8 * 2
    folder = {**mnist, "data": {**mnist["data"], "dataset": "folder:/images"}}
    assert data_sizes(folder) is None and run_steps(folder) is None


def test_estimate_times_one_network_and_scales_the_others_by_macs():
    study = plan_degradation(staged_graph(), budget(), depths=(6, 14))
    result = estimate(study, measure_steps=2)
    assert result.timed_run in {r.name for r in study.runs}
    assert result.step_seconds > 0
    seconds = result.seconds
    # Same MACs, same estimate; a deeper network costs more.
    assert seconds["residual-6"] == seconds["plain-6"] > 0
    assert seconds["residual-14"] > seconds["residual-6"]
    assert result.total == sum(seconds.values())
    # Two at once: the shallow pair (plan order) takes both slots, the deep pair follows.
    deep, shallow = seconds["residual-14"], seconds["residual-6"]
    assert result.wall(1) == pytest.approx(result.total)
    assert result.wall(2) == pytest.approx(shallow + deep)
    assert result.wall(2) < result.total


def test_an_existing_run_costs_nothing_and_an_unknown_size_makes_the_total_unknown():
    study = plan_degradation(staged_graph(), budget(), depths=(6,))
    runs = [dataclasses.replace(study.runs[0], existing="/somewhere"), study.runs[1]]
    folder = dict(study.runs[1].config, data={**study.runs[1].config["data"],
                                              "dataset": "folder:/images"})
    runs[1] = dataclasses.replace(runs[1], config=folder)
    result = estimate(dataclasses.replace(study, runs=runs), measure_steps=2)
    assert result.seconds["residual-6"] == 0.0
    assert result.seconds["plain-6"] is None and result.total is None


def test_the_estimate_reports_each_network_counted_and_each_step_timed():
    study = plan_degradation(staged_graph(), budget(), depths=(6, 14))
    reports = []
    estimate(study, measure_steps=4, progress=lambda *r: reports.append(r))
    units = len(study.runs) + 2 + 4  # MACs of 4 networks; a warm-up window of 2, 4 timed
    assert [done for done, _, _ in reports] == list(range(1, units + 1))
    assert {total for _, total, _ in reports} == {units}
    assert reports[0][2] == f"counting the MACs of {study.runs[0].label}"
    assert reports[-1][2].startswith("timing step 6 of 6 of ")


def test_cancel_ends_the_estimate_at_the_next_unit_and_stops_the_timing():
    study = plan_degradation(staged_graph(), budget(), depths=(6, 14))
    cancel, reports = threading.Event(), []

    def report(done, total, text):
        reports.append(text)
        if text.startswith("timing step 1 "):
            cancel.set()

    with pytest.raises(EstimateCancelled):
        estimate(study, measure_steps=4, progress=report, cancel=cancel)
    # Records come a telemetry window (2 steps) at a time: the engine stopped after it.
    assert reports[-1].startswith("timing step 2 of 6 ")
    cancel_early = threading.Event()
    cancel_early.set()
    early = []
    with pytest.raises(EstimateCancelled):
        estimate(study, progress=lambda *r: early.append(r), cancel=cancel_early)
    assert early == []  # not even the first network's MACs were reported


def test_a_study_of_existing_runs_only_costs_nothing_and_times_nothing():
    study = plan_degradation(staged_graph(), budget(), depths=(6,))
    runs = [dataclasses.replace(r, existing=f"/somewhere/{r.name}") for r in study.runs]
    result = estimate(dataclasses.replace(study, runs=runs), measure_steps=2)
    assert result.seconds == {"residual-6": 0.0, "plain-6": 0.0} and result.total == 0.0
    assert result.step_seconds == 0.0 and result.timed_run == ""
