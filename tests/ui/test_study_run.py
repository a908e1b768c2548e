"""Running a study from the app: the worker trains every run and the view fills in; a
cancelled study resumes with only what is missing; a failed run is shown while the others
go on; closing the window stops the study and reopening the project offers to resume it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from study_helpers import StudyPrompts, budget, staged_net, study_window

from resnet_studio.graph.project import save
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.plan import Study
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint
from resnet_studio.ui.experiments import worker as worker_module


@pytest.fixture
def studio(make_window, tmp_path):
    prompts = StudyPrompts()
    window = study_window(make_window, tmp_path, prompts)
    return window, window.studies, prompts


def _sweep(seeds=(1, 2), **changes) -> Study:
    return plan_sweep(staged_net(), budget(**changes), {"seed": list(seeds)})


def _run(qtbot, feature, study, directory=None, timeout=120_000):
    with qtbot.waitSignal(feature.worker.finished, timeout=timeout) as blocker:
        assert feature.start_study(study, directory)
    return blocker.args[0]


def test_a_two_run_study_trains_both_and_fills_the_view(studio, qtbot, tmp_path):
    window, feature, _ = studio
    reports = []
    feature.worker.progressed.connect(reports.append)
    outcome = _run(qtbot, feature, _sweep())
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "finished"}
    assert feature.directory == tmp_path / "studies" / "tiny-sweep"
    view = feature.view
    assert view.model.rowCount() == 2
    assert [r["status"] for r in view.model.rows] == ["finished", "finished"]
    assert view.curves.labels == ["seed=1", "seed=2"]
    assert view.progress.value() == view.progress.maximum()
    assert window.docks["study"].isVisible()
    steps = [r for r in reports if r.event == "step"]
    assert steps and steps[-1].name == "seed-2" and steps[-1].step == 6
    # the files `resnet-studio experiment` writes at the end of a study
    for name in ("results.csv", "curves.png", "curves.svg", "sweep.png", "pareto.svg"):
        assert (feature.directory / name).is_file(), name
    assert not feature.worker.is_active() and window.actions["study_sweep"].isEnabled()


class CancellingQueue(StudyQueue):
    """A study queue that cancels itself from its own progress report of ``at_step`` in its
    first run, on the worker thread, before the engine takes another step: the cancel lands
    at that step however fast or slow the machine is (no race with the GUI thread)."""

    at_step = 5

    def _report(self, event, index, spec, **values):
        super()._report(event, index, spec, **values)
        if event == "step" and index == 0 and values.get("step") == self.at_step:
            self.cancel()


class WaitingQueue(StudyQueue):
    """A study queue whose first step waits until the study is cancelled (closing the
    window does that): the study is mid-run when the window closes, by construction."""

    def _report(self, event, index, spec, **values):
        super()._report(event, index, spec, **values)
        if event == "step" and values.get("step") == 1:
            assert self._cancel.wait(timeout=60), "the study was never cancelled"


def test_cancel_then_resume_trains_only_what_is_missing(studio, qtbot, monkeypatch):
    _, feature, prompts = studio
    study = _sweep(epochs=4)
    monkeypatch.setattr(worker_module, "StudyQueue", CancellingQueue)
    outcome = _run(qtbot, feature, study)
    assert outcome.cancelled and outcome.statuses == {"seed-1": "stopped", "seed-2": "pending"}
    directory = feature.directory
    assert load_checkpoint(directory / "runs" / "seed-1" / "last.pt")["step"] == 5
    assert not (directory / "runs" / "seed-2").exists()
    assert feature.view.resume_button.isEnabled()

    monkeypatch.setattr(worker_module, "StudyQueue", StudyQueue)
    reports = []
    feature.worker.progressed.connect(reports.append)
    prompts.resume_answer = True
    with qtbot.waitSignal(feature.worker.finished, timeout=120_000) as blocker:
        assert feature.open_study(directory)
    assert blocker.args[0].statuses == {"seed-1": "finished", "seed-2": "finished"}
    assert ("start", "seed-1", "resuming") in [(r.event, r.name, r.message) for r in reports]
    first_steps = [r.step for r in reports if r.event == "step" and r.name == "seed-1"]
    assert min(first_steps) == 6 and max(first_steps) == 12  # nothing trained twice
    steps = [json.loads(line)["step"] for line in
             (directory / "runs" / "seed-1" / "steps.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))


def test_a_failed_run_is_shown_failed_while_the_others_go_on(studio, qtbot):
    _, feature, _ = studio
    study = _sweep((1, 2, 3))
    graph = json.loads(json.dumps(study.runs[1].graph))
    graph["input"]["classes"] = 5  # the data have 4 classes: this run cannot start
    runs = list(study.runs)
    runs[1] = dataclasses.replace(runs[1], graph=graph)
    outcome = _run(qtbot, feature, dataclasses.replace(study, runs=runs))
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "failed", "seed-3": "finished"}
    rows = feature.view.model.rows
    assert [r["status"] for r in rows] == ["finished", "failed", "finished"]
    assert "5" in rows[1]["error"] and rows[0]["error"] == ""
    assert "failed: seed-2" in feature.view.status.text()


def test_closing_mid_study_stops_it_and_reopening_the_project_offers_to_resume(
        make_window, qtbot, tmp_path, monkeypatch):
    prompts = StudyPrompts()
    window = make_window(staged_net(), prompts)
    project = tmp_path / "tiny.rstudio.json"
    save(window.document.graph, project)
    assert window.open_project(project)
    feature = window.studies
    monkeypatch.setattr(worker_module, "StudyQueue", WaitingQueue)
    with qtbot.waitSignal(feature.worker.progressed, timeout=60_000,
                          check_params_cb=lambda r: r.event == "step"):
        assert feature.start_study(_sweep(epochs=2))
    assert feature.directory == tmp_path / "studies" / "tiny-sweep"
    assert window.close()
    assert not feature.worker.is_active()
    assert (tmp_path / "studies" / "tiny-sweep" / "runs" / "seed-1" / "last.pt").is_file()

    again = make_window(staged_net(), prompts)
    assert again.open_project(project)
    asked = [text for kind, text in prompts.asked if kind == "resume_study"]
    assert len(asked) == 1 and "2 of 2 runs still to train" in asked[0]
    assert again.studies.view.resume_button.isEnabled()
    assert not again.studies.worker.is_active()  # the answer was no
