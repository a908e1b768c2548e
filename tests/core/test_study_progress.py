"""The study's progress and time left (``study.progress``) on a fake clock: the ETA of a
study at constant speed falls linearly, Stop and a resumed study leave it where it was,
and runs whose steps cost more (deeper networks, bigger batches) count for more."""

from __future__ import annotations

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.progress import RunWork, StudyProgress, makespan, step_weights

SECONDS_PER_STEP = 2.0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _two_runs(weights=(1.0, 1.0), **kwargs) -> StudyProgress:
    runs = {"a": RunWork(10, weights[0]), "b": RunWork(10, weights[1])}
    return StudyProgress(runs, **kwargs)


def _steps(progress: StudyProgress, clock: Clock, name: str, steps: range,
           per_step: float = SECONDS_PER_STEP) -> list[float | None]:
    etas = []
    for step in steps:
        clock.now += per_step
        progress.stepped(name, step)
        etas.append(progress.study_eta())
    return etas


def test_the_eta_of_a_constant_speed_study_falls_linearly_to_zero():
    clock = Clock()
    progress = _two_runs(clock=clock)
    progress.started("a", 0, 10)
    etas = _steps(progress, clock, "a", range(1, 11))
    assert etas[0] is None  # nothing timed and no plan estimate
    assert etas[1:] == pytest.approx([SECONDS_PER_STEP * (20 - k) for k in range(2, 11)])
    progress.ended("a", "finished", 10)
    progress.started("b", 0, 10)
    clock.now += 30.0  # loading data and building the network: not a step's time
    etas = _steps(progress, clock, "b", range(1, 11))
    assert etas == pytest.approx([SECONDS_PER_STEP * (10 - k) for k in range(1, 11)])
    assert progress.fraction == 1.0


def test_each_run_not_started_yet_adds_the_mean_measured_set_up():
    clock = Clock()
    progress = _two_runs(clock=clock)
    progress.began("a")
    progress.started("a", 0, 10)
    clock.now += 28.0  # loading data, building the network …
    etas = _steps(progress, clock, "a", range(1, 11))  # … and the first step: 30 s in all
    assert etas[1:] == pytest.approx([SECONDS_PER_STEP * (20 - k) + 30.0 for k in range(2, 11)])
    progress.ended("a", "finished", 10)
    progress.began("b")
    assert progress.study_eta() == pytest.approx(20.0 + 30.0)
    progress.started("b", 0, 10)
    clock.now += 28.0
    # 30 s later, b's set-up is done and its first step taken: 18 s left of the 50
    assert _steps(progress, clock, "b", range(1, 2)) == [pytest.approx(18.0)]
    # A later session of a study with a third run: its set-up and steps are foreseen.
    later = StudyProgress({"a": RunWork(10, complete=True), "b": RunWork(10, done=1),
                           "c": RunWork(10)}, measured=progress.measured())
    assert later.study_eta() == pytest.approx(18.0 + 30.0 + 10 * SECONDS_PER_STEP)


def test_before_any_timing_the_eta_is_the_plans_estimate_of_what_is_left():
    clock = Clock()
    progress = _two_runs(clock=clock, estimates={"a": 20.0, "b": 60.0})
    assert progress.study_eta() == 80.0
    progress.started("a", 0, 10)
    assert _steps(progress, clock, "a", range(1, 2)) == [pytest.approx(18.0 + 60.0)]


def test_stop_and_resume_leave_progress_and_eta_where_they_were():
    clock = Clock()
    progress = _two_runs(clock=clock)
    progress.started("a", 0, 10)
    _steps(progress, clock, "a", range(1, 6))
    fraction, eta = progress.fraction, progress.study_eta()
    assert fraction == 5 / 20 and eta == SECONDS_PER_STEP * 15
    progress.ended("a", "stopped", 5)
    assert (progress.fraction, progress.study_eta()) == (fraction, eta)
    # A new queue reads the state the stopped one wrote; the study was idle for an hour.
    state = {"runs": {"a": {"step": 5}}, "measured": progress.measured()}
    clock.now += 3600.0
    resumed = StudyProgress({"a": RunWork(10, done=state["runs"]["a"]["step"]),
                             "b": RunWork(10)}, measured=state["measured"], clock=clock)
    assert (resumed.fraction, resumed.study_eta()) == (fraction, eta)
    resumed.started("a", 5, 10)
    etas = _steps(resumed, clock, "a", range(6, 9))
    assert etas == pytest.approx([SECONDS_PER_STEP * (20 - k) for k in range(6, 9)])


def test_a_run_whose_steps_cost_more_counts_for_more_in_progress_and_eta():
    clock = Clock()
    progress = _two_runs((0.5, 1.5), clock=clock)  # b's steps cost three times a's
    progress.started("a", 0, 10)
    _steps(progress, clock, "a", range(1, 11))
    progress.ended("a", "finished", 10)
    assert progress.fraction == 0.25
    # 2 s per step of weight 0.5: b's ten steps of weight 1.5 take 60 s.
    assert progress.study_eta() == pytest.approx(60.0)


def test_a_run_not_timed_yet_is_foreseen_along_the_line_through_the_timed_ones():
    clock = Clock()
    runs = {"a": RunWork(10, 0.5), "b": RunWork(10, 1.5), "c": RunWork(10, 1.0)}
    progress = StudyProgress(runs, clock=clock)
    progress.started("a", 0, 10)
    _steps(progress, clock, "a", range(1, 11), per_step=2.0)
    progress.ended("a", "finished", 10)
    # One cost timed: b's steps are foreseen in proportion to their cost (3 × 2 s).
    assert progress.run_eta("b") == pytest.approx(10 * 6.0)
    progress.started("b", 0, 10)
    _steps(progress, clock, "b", range(1, 6), per_step=4.0)
    # b's own pace for b; for c the line through (0.5, 2 s) and (1.5, 4 s): 1 s + 2 s × cost.
    assert progress.run_eta("b") == pytest.approx(5 * 4.0)
    assert progress.run_eta("c") == pytest.approx(10 * 3.0)
    assert progress.study_eta() == pytest.approx(5 * 4.0 + 10 * 3.0)


def test_a_line_that_would_make_dearer_steps_faster_gives_way_to_proportion():
    clock = Clock()
    runs = {"a": RunWork(10, 0.5), "b": RunWork(10, 1.5), "c": RunWork(10, 1.0)}
    progress = StudyProgress(runs, clock=clock)
    progress.started("a", 0, 10)
    _steps(progress, clock, "a", range(1, 11), per_step=4.0)
    progress.ended("a", "finished", 10)
    progress.started("b", 0, 10)
    _steps(progress, clock, "b", range(1, 6), per_step=2.0)
    # the line through (0.5, 4 s) and (1.5, 2 s) falls (5 s - 2 s x cost): a dearer step
    # cannot be quicker, so c is foreseen through the origin, weighted by the steps timed
    # (from each run's first step on: 9 of a, 4 of b):
    # (4 s x 9 + 2 s x 4) / (0.5 x 9 + 1.5 x 4) = 44 / 10.5 s per unit of cost
    assert progress.run_eta("c") == pytest.approx(10 * 1.0 * 44 / 10.5)


def test_finished_failed_and_existing_runs_count_as_complete_pending_ones_as_nothing():
    progress = StudyProgress({name: RunWork(10) for name in "abcd"})
    for name, status in zip("abc", ("finished", "failed", "existing")):
        progress.ended(name, status)
    assert progress.fraction == 0.75
    assert progress.run_eta("d") is None


def test_step_weights_follow_macs_and_batch_size():
    by_batch = plan_sweep(staged_graph(), budget(), {"batch_size": [4, 8]})
    assert step_weights(by_batch.runs) == pytest.approx(
        {by_batch.runs[0].name: 2 / 3, by_batch.runs[1].name: 4 / 3})
    deep = plan_sweep(staged_graph(blocks=3), budget(), {"seed": [1]}).runs[0]
    shallow = plan_sweep(staged_graph(blocks=1), budget(), {"seed": [2]}).runs[0]
    weights = step_weights([deep, shallow])
    assert weights[deep.name] > 1.5 * weights[shallow.name]


def test_runs_training_at_once_are_each_timed_and_the_eta_lays_them_out_over_the_slots():
    clock = Clock()
    runs = {name: RunWork(10) for name in ("a", "b", "c")}
    progress = StudyProgress(runs, clock=clock, slots=2)
    for name in ("a", "b"):
        progress.began(name)
        progress.started(name, 0, 10)
    for step in range(1, 6):  # a and b report in turn, each a step every 4 s
        for name in ("a", "b"):
            clock.now += 2.0
            progress.stepped(name, step)
    # Interleaved reports time each run on its own: 4 steps of 4 s each.
    assert progress.timed == {"a": [16.0, 4.0], "b": [16.0, 4.0]}
    assert progress.run_eta("a") == pytest.approx(5 * 4.0)
    # a and b hold the two slots for 20 s; c (10 steps at 4 s, plus the set-up the first
    # steps measured: 2 s and 4 s) follows in the first slot to free.
    assert progress.study_eta() == pytest.approx(20.0 + 3.0 + 40.0)
    progress.slots = 3  # c would start at once
    assert progress.study_eta() == pytest.approx(3.0 + 40.0)


def test_makespan_gives_each_waiting_run_the_slot_that_frees_first():
    assert makespan([], [5.0, 3.0, 4.0], 1) == 12.0
    assert makespan([], [5.0, 3.0, 4.0], 2) == 7.0  # 5 | 3 + 4
    assert makespan([1.0], [5.0, 3.0], 2) == 5.0  # 1 + 3 | 5
    assert makespan([6.0, 2.0], [1.0], 4) == 6.0
    assert makespan([], [], 3) == 0.0
