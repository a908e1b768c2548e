"""The study's time estimate: steps per run from the budget, one timed network scaled by MACs."""

from __future__ import annotations

import dataclasses

from test_study_support import budget, staged_graph

from resnet_studio.study.estimate import data_sizes, estimate, run_steps
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


def test_an_existing_run_costs_nothing_and_an_unknown_size_makes_the_total_unknown():
    study = plan_degradation(staged_graph(), budget(), depths=(6,))
    runs = [dataclasses.replace(study.runs[0], existing="/somewhere"), study.runs[1]]
    folder = dict(study.runs[1].config, data={**study.runs[1].config["data"],
                                              "dataset": "folder:/images"})
    runs[1] = dataclasses.replace(runs[1], config=folder)
    result = estimate(dataclasses.replace(study, runs=runs), measure_steps=2)
    assert result.seconds["residual-6"] == 0.0
    assert result.seconds["plain-6"] is None and result.total is None
