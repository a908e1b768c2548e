"""The study queue on tiny runs: order, skipping, resuming, failures, cancel, ETAs."""

from __future__ import annotations

import dataclasses
import json

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.graph import InputSpec
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.plan import STATE_FILE, Study
from resnet_studio.study.queue import StudyQueue, progress_of
from resnet_studio.study.results import read_run
from resnet_studio.train import load_checkpoint


def _sweep(seeds=(1, 2, 3)) -> Study:
    return plan_sweep(staged_graph(), budget(), {"seed": list(seeds)})


def _queue(study, folder, events, **kwargs) -> StudyQueue:
    return StudyQueue(study, folder, on_progress=events.append, **kwargs)


def _broken(study: Study) -> Study:
    """The second run's network expects 5 classes; the data have 4, so it fails to start."""
    graph = json.loads(json.dumps(study.runs[1].graph))
    graph["input"]["classes"] = 5
    runs = list(study.runs)
    runs[1] = dataclasses.replace(runs[1], graph=graph)
    return dataclasses.replace(study, runs=runs)


def test_runs_in_plan_order_into_run_directories(tmp_path):
    events = []
    outcome = _queue(_sweep(), tmp_path, events).run()
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "finished", "seed-3": "finished"}
    starts = [e.name for e in events if e.event == "start"]
    assert starts == ["seed-1", "seed-2", "seed-3"]
    run = read_run(tmp_path / "runs" / "seed-2")
    assert run.status == "finished" and run.step[-1] == 6 and len(run.val_acc) == 2
    state = json.loads((tmp_path / "state.json").read_text())["runs"]
    assert {k: v["status"] for k, v in state.items()} == outcome.statuses


def test_a_second_run_skips_what_is_finished(tmp_path):
    study = _sweep((1, 2))
    _queue(study, tmp_path, []).run()
    before = (tmp_path / "runs" / "seed-1" / "metrics.csv").stat().st_mtime_ns
    events = []
    outcome = _queue(study, tmp_path, events).run()
    assert [e.event for e in events] == ["skip", "skip"]
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "finished"}
    assert (tmp_path / "runs" / "seed-1" / "metrics.csv").stat().st_mtime_ns == before


def _cancel_at(queue, events: list, name: str, step: int):
    """A progress callback that records every report and cancels at ``name``'s ``step``."""
    def report(progress):
        events.append(progress)
        if progress.event == "step" and progress.name == name and progress.step == step:
            queue.cancel()
    return report


def test_cancel_stops_the_study_and_a_new_queue_resumes_the_interrupted_run(tmp_path):
    study = _sweep()
    events = []
    queue = _queue(study, tmp_path, events)

    queue.on_progress = _cancel_at(queue, events, "seed-2", 4)
    outcome = queue.run()
    assert outcome.cancelled
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "stopped", "seed-3": "pending"}
    assert load_checkpoint(tmp_path / "runs" / "seed-2" / "last.pt")["step"] == 4
    assert not (tmp_path / "runs" / "seed-3").exists()

    later = []
    resumed = _queue(study, tmp_path, later).run()
    assert resumed.statuses == {"seed-1": "finished", "seed-2": "finished", "seed-3": "finished"}
    assert [(e.event, e.name, e.message) for e in later if e.event != "step"][:2] == [
        ("skip", "seed-1", ""), ("start", "seed-2", "resuming")]
    steps = [e.step for e in later if e.event == "step" and e.name == "seed-2"]
    assert steps == [5, 6]  # only what was missing
    run = read_run(tmp_path / "runs" / "seed-2")
    assert list(run.step) == [1, 2, 3, 4, 5, 6] and run.status == "finished"


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path):
    study = _broken(_sweep())
    events = []
    outcome = _queue(study, tmp_path, events).run()
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "failed", "seed-3": "finished"}
    assert outcome.failed == ["seed-2"]
    end = next(e for e in events if e.event == "end" and e.name == "seed-2")
    assert "5 classes" in end.message and "has 4" in end.message
    state = json.loads((tmp_path / "state.json").read_text())["runs"]["seed-2"]
    assert state["status"] == "failed" and "5 classes" in state["error"]
    # A later queue does not retry it unless asked to, and says why it skipped it.
    again = []
    assert _queue(study, tmp_path, again).run().statuses["seed-2"] == "failed"
    assert any(e.event == "skip" and "5 classes" in e.message for e in again)
    retried = _queue(study, tmp_path, [], retry_failed=True).run()
    assert retried.statuses["seed-2"] == "failed"


def test_a_run_that_cannot_be_built_is_recorded_and_the_others_go_on(tmp_path):
    study = _sweep((1, 2))
    runs = [dataclasses.replace(study.runs[0], graph={"nodes": "not a list"}), study.runs[1]]
    outcome = _queue(dataclasses.replace(study, runs=runs), tmp_path, []).run()
    assert outcome.statuses == {"seed-1": "failed", "seed-2": "finished"}
    error = json.loads((tmp_path / "state.json").read_text())["runs"]["seed-1"]["error"]
    assert "run ‘seed-1’" in error


def test_cancel_before_the_start_trains_nothing(tmp_path):
    queue = _queue(_sweep((1, 2)), tmp_path, [])
    queue.cancel()
    outcome = queue.run()
    assert outcome.cancelled and outcome.statuses == {"seed-1": "pending", "seed-2": "pending"}
    assert not (tmp_path / "runs").exists()


def test_cancel_while_a_run_is_being_set_up_stops_it_before_its_first_step(tmp_path):
    queue = _queue(_sweep((1, 2)), tmp_path, [])
    queue.on_progress = lambda p: queue.cancel() if p.event == "start" else None
    outcome = queue.run()
    assert outcome.cancelled and outcome.statuses == {"seed-1": "stopped", "seed-2": "pending"}
    assert load_checkpoint(tmp_path / "runs" / "seed-1" / "last.pt")["step"] == 0


def test_progress_carries_run_and_study_eta(tmp_path):
    study = _sweep((1, 2))
    events = []
    _queue(study, tmp_path, events, estimates={"seed-1": 10.0, "seed-2": 20.0}).run()
    first_start = events[0]
    assert first_start.event == "start" and first_start.study_eta == 30.0
    steps = [e for e in events if e.event == "step" and e.name == "seed-1"]
    assert steps[-1].run_eta == 0.0 and steps[0].total_steps == 6
    # Before any step is timed, the plan's estimates of what is left: 5/6 of seed-1's.
    assert steps[0].study_eta == pytest.approx(10.0 * 5 / 6 + 20.0)
    # Then the measured pace: while seed-1 trains, the study has seed-2's steps left too.
    assert all(e.study_eta > e.run_eta for e in steps[1:])
    second = [e for e in events if e.event == "step" and e.name == "seed-2"]
    assert second[-1].study_eta == 0.0 and second[-1].fraction == 1.0


def test_study_progress_never_moves_back_and_stop_and_resume_leave_it_where_it_was(tmp_path):
    study = _sweep()
    events = []
    queue = _queue(study, tmp_path, events)

    queue.on_progress = _cancel_at(queue, events, "seed-2", 4)
    queue.run()
    stop = events[-1]
    assert (stop.event, stop.status) == ("end", "stopped")
    assert stop.fraction == events[-2].fraction == pytest.approx((6 + 4) / 18)
    later = []
    _queue(study, tmp_path, later).run()
    assert later[0].fraction == stop.fraction  # the skipped finished run, as Stop left it
    # the time left, too: Stop adds none, and the resumed queue knows the pace at once
    assert stop.study_eta == events[-2].study_eta == later[0].study_eta > 0
    resumed = next(e for e in later if e.event == "step")
    assert resumed.fraction == pytest.approx((6 + 5) / 18)
    series = [e.fraction for e in events + later]
    assert series == sorted(series) and series[-1] == 1.0
    assert len(set(series)) > 12  # it moves with the steps, not only with the runs


def test_an_input_spec_helper_matches_the_data():
    # Guard for _broken: the tiny network's input is what the tiny data give.
    assert staged_graph().input_spec == InputSpec(3, 8, 8, 4)


def test_a_stopped_studys_progress_is_read_from_its_directory_with_or_without_its_steps(tmp_path):
    study = _sweep()
    queue = _queue(study, tmp_path, [])

    def cancel_in_second_run(progress):
        if progress.event == "step" and progress.name == "seed-2" and progress.step == 4:
            queue.cancel()

    queue.on_progress = cancel_in_second_run
    queue.run()
    # seed-1's 6 steps, seed-2's 4 of 6, seed-3's none: 10 of 18 (the runs weigh the same)
    assert progress_of(study, tmp_path).fraction == pytest.approx(10 / 18)
    # a study stopped before the state kept steps: seed-2's last step is read from its run
    state = json.loads((tmp_path / STATE_FILE).read_text())
    for record in state["runs"].values():
        record.pop("step", None)
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    assert progress_of(study, tmp_path).fraction == pytest.approx(10 / 18)
