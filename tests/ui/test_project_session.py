"""State belongs to the open project: after a run in project A, New, Open and Open Example
show none of A's runs, status, curves or canvas colours; reopening A brings back its run in
focus (the one last used, else the latest finished), so Export Checkpoint and Check an Image
act on it at once."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from analysis_helpers import accepting
from study_helpers import finished_sweep_results
from training_helpers import TrainingPrompts, configure, tiny_net, wait_finished
from ui_helpers import small_graph

from resnet_studio.graph import project as project_file
from resnet_studio.train.history import RunHistory
from resnet_studio.train.rundir import STATUS, list_runs
from resnet_studio.ui.shell.examples_menu import action_key
from resnet_studio.ui.shell.session import NO_RUN_IN_FOCUS, FocusMemory, restored_focus
from resnet_studio.ui.train.panel import READY


def train_once(window, qtbot) -> Path:
    """One tiny run of the window's project, finished; returns its folder."""
    c = window.training
    configure(window, epochs=1)
    assert c.start()
    assert wait_finished(qtbot, c).status == "finished"
    return c.current_run


def later_copy(run: Path, name: str, status: str = "finished") -> Path:
    """A copy of ``run`` in the same runs folder, started after every run there (its
    config.json is the newest), with ``status``."""
    copy = run.parent / name
    shutil.copytree(run, copy)
    newest = max(p.joinpath("config.json").stat().st_mtime for p in list_runs(run.parent))
    os.utime(copy / "config.json", (newest + 10, newest + 10))
    (copy / STATUS).write_text(json.dumps({"status": status}), encoding="utf-8")
    return copy


def assert_shows_nothing_of_a_run(window) -> None:
    c, panel = window.training, window.training.panel
    assert c.views.runs.paths() == [] and c.views.runs.table.rowCount() == 0
    assert panel.progress.format() == "idle" and panel.progress.value() == 0
    assert panel.state.text() == READY and panel.metrics.text() == ""
    assert panel.details.text() == "" and panel.data_note.isHidden()
    assert c.views.plots.points == 0 and len(c.history) == 0
    assert c.views.confusion.matrix is None and c.views.gradients.names == ()
    assert c.views.compare.shown == []
    assert window.editor.scene.tinted_nodes() == []
    assert not c.legend.isVisible() and not window.analyses.legend.isVisible()
    assert window.run_focus.run is None


def open_other(window, how: str, tmp_path: Path) -> None:
    prompts = window.prompts
    if how == "new":
        prompts.preset = "resnet20"
        assert window.new_project()
    elif how == "open":
        other = tmp_path / "b" / "b.rstudio.json"
        other.parent.mkdir()
        project_file.save(small_graph(), other)
        assert window.open_project(other)
    else:
        window.actions[action_key("mnist_small_resnet")].trigger()
        assert window.windowTitle().startswith("Untitled (")


@pytest.mark.parametrize("how", ["new", "open", "example"])
def test_another_project_shows_none_of_the_previous_project_s_run(trainer, qtbot, tmp_path,
                                                                  how):
    window, c, prompts = trainer
    run = train_once(window, qtbot)
    c.show_comparison([run, run])
    assert c.views.runs.paths() == [run] and c.views.plots.points > 0
    assert c.panel.progress.format() != "idle" and c.views.confusion.matrix is not None
    open_other(window, how, tmp_path)
    assert_shows_nothing_of_a_run(window)
    assert not window.runs.export_ckpt(target=str(tmp_path / "x.pt"))
    assert prompts.errors[-1] == ("No run to export", NO_RUN_IN_FOCUS)
    assert "Start Training" in NO_RUN_IN_FOCUS and "Open Run" in NO_RUN_IN_FOCUS
    with pytest.raises(FileNotFoundError, match="No run is in focus"):
        window.runs.model_for_check(window.runs.run_dir())


def test_the_runs_of_an_untitled_project_come_back_with_it_in_the_same_session(trainer,
                                                                                qtbot):
    """Untitled projects share one runs folder: each lists only the runs it made."""
    window, c, prompts = trainer
    run = train_once(window, qtbot)
    prompts.preset = "resnet20"
    assert window.new_project()
    assert c.views.runs.paths() == []
    assert list_runs(c.runner.runs_root()) == [run]  # still on disk, only not this project's


@pytest.fixture
def saved_project(trainer, qtbot, tmp_path):
    """Project A saved in tmp/a with three runs: ``first`` trained here (finished),
    ``second`` (finished, later) and ``third`` (stopped, latest)."""
    window, c, prompts = trainer
    prompts.save_path = str(tmp_path / "a" / "a.rstudio.json")
    (tmp_path / "a").mkdir()
    assert window.save_as()
    first = train_once(window, qtbot)
    assert first.parent == tmp_path / "a" / "runs"
    second = later_copy(first, "tiny-20990101-000000")
    third = later_copy(first, "tiny-20990102-000000", status="stopped")
    c.update_runs_root()
    assert c.views.runs.paths() == [first, second, third]
    return window, Path(prompts.save_path), first, second, third


def test_reopening_a_project_restores_the_run_last_in_focus(saved_project, qtbot, tmp_path,
                                                             make_window):
    window, path, first, second, third = saved_project
    assert window.runs.show_run(first)  # the run last used, though not the latest finished
    window.prompts.preset = "resnet20"
    assert window.new_project()
    assert window.run_focus.run is None
    assert window.open_project(path)
    assert window.run_focus.run == first
    assert window.training.views.runs.paths() == [first, second, third]
    assert first.name in window.training.panel.state.text()
    shown = window.training.views.history  # the focus run's curves, as Show Curves draws them
    assert len(shown) == len(RunHistory.load(first)) > 0
    assert not window.training.views.plots.stack.empty
    for key in ("export_checkpoint", "check_image"):
        assert window.actions[key].isEnabled()
    window.prompts.item_answer = "best.pt"
    target = tmp_path / "exported.pt"
    assert window.runs.export_ckpt(target=str(target))
    assert target.read_bytes() == (first / "best.pt").read_bytes()
    assert f"of {first.name} to" in window.statusBar().currentMessage()
    _, label = window.runs.model_for_check(window.runs.run_dir())
    assert label == f"best.pt of {first.name}"
    window.training.panel.set_state("")
    assert window.open_project(path)  # again, over itself (its run in focus already)
    assert window.run_focus.run == first and first.name in window.training.panel.state.text()
    # and in a window opened later (the application started again) with the same settings
    later = make_window(small_graph(), TrainingPrompts())
    assert later.run_focus.run is None
    assert later.open_project(path) and later.run_focus.run == first


def test_without_a_remembered_run_the_latest_finished_one_is_in_focus(saved_project,
                                                                      make_window):
    _, path, _, second, _ = saved_project
    fresh = make_window(small_graph(), TrainingPrompts())
    fresh.settings.remove("projects")  # nothing remembered: as for a project from elsewhere
    assert fresh.open_project(path)
    assert fresh.run_focus.run == second  # finished and newest; the stopped third is not


def test_a_deleted_run_in_focus_falls_back_to_the_latest_finished_silently(saved_project):
    window, path, first, second, _ = saved_project
    assert window.runs.show_run(second)
    window.prompts.preset = "resnet20"
    assert window.new_project()
    shutil.rmtree(second)
    errors = list(window.prompts.errors)
    assert window.open_project(path)
    assert window.run_focus.run == first
    assert window.prompts.errors == errors


def test_the_signal_legend_does_not_stay_on_another_project_s_canvas(make_window, qtbot,
                                                                      tmp_path):
    window = make_window(tiny_net(), TrainingPrompts())
    feature = window.analyses
    feature.ask = accepting(batch=8)
    window.actions["analyze_signal"].trigger()
    qtbot.waitUntil(lambda: not feature.busy(), timeout=60_000)
    window.show_workspace("design")  # the analysis showed Analyze; the legend is on the canvas
    assert feature.legend.isVisible() and window.editor.scene.tinted_nodes()
    assert feature.panel.signal.result is not None
    open_other(window, "open", tmp_path)
    window.show_workspace("design")
    assert not feature.legend.isVisible()
    assert window.editor.scene.tinted_nodes() == []
    assert feature.panel.signal.result is None and feature.panel.signal.body.isHidden()
    assert not feature.panel.signal.export_button.isEnabled()


def test_an_analysis_of_the_previous_project_never_reaches_the_new_one(make_window, qtbot):
    window = make_window(tiny_net(), TrainingPrompts())
    feature = window.analyses
    feature.ask = accepting(batch=8)
    window.actions["analyze_signal"].trigger()
    assert feature.busy()
    window.prompts.preset = "resnet20"
    assert window.new_project()  # before the worker's result can be delivered
    qtbot.waitUntil(lambda: not feature.busy(), timeout=60_000)
    assert feature.panel.signal.result is None
    assert window.editor.scene.tinted_nodes() == [] and not feature.legend.isVisible()


def test_the_memory_keeps_one_run_per_project_and_survives_a_damaged_entry(settings,
                                                                           tmp_path):
    memory = FocusMemory(settings)
    a, b = tmp_path / "a.rstudio.json", tmp_path / "b.rstudio.json"
    memory.remember(a, tmp_path / "runs" / "one")
    memory.remember(b, tmp_path / "runs" / "two")
    memory.remember(a, tmp_path / "runs" / "three")
    assert memory.recall(a) == tmp_path / "runs" / "three"
    assert memory.recall(b) == tmp_path / "runs" / "two"
    assert memory.recall(tmp_path / "c.rstudio.json") is None
    memory.remember(b, None)  # a failed or deleted run in focus is not brought back
    assert memory.recall(b) is None and memory.recall(a) == tmp_path / "runs" / "three"
    settings.setValue("projects/run_in_focus", "{not json")
    assert memory.recall(a) is None
    assert restored_focus(tmp_path / "gone", tmp_path / "no-runs") is None


def show_study(window, directory: Path) -> None:
    feature = window.studies
    results = finished_sweep_results()
    feature.study, feature.directory = results.study, directory
    feature.view.show_results(results)
    feature.show_dock()


def test_another_project_shows_none_of_the_previous_project_s_study(make_window, tmp_path):
    window = make_window(small_graph(), TrainingPrompts())
    show_study(window, tmp_path / "studies" / "tiny-sweep")
    view = window.studies.view
    assert view.model.rowCount() == 2 and view.curves.labels
    open_other(window, "open", tmp_path)
    assert view.results is None and window.studies.directory is None
    assert view.model.rowCount() == 0 and view.summary_model.rowCount() == 0
    assert view.curves.labels == [] and view.charts.canvas is None
    assert not view.export_button.isEnabled() and "No study open" in view.title.text()
    assert not view.showing_results and not view.curves.isVisibleTo(view)  # the empty state


def test_reopening_a_project_keeps_its_own_study_on_show(make_window, tmp_path):
    window = make_window(small_graph(), TrainingPrompts())
    path = tmp_path / "a.rstudio.json"
    window.document.save(path)
    show_study(window, tmp_path / "studies" / "a-sweep")
    assert window.open_project(path)
    assert window.studies.view.results is not None
    assert window.studies.directory == tmp_path / "studies" / "a-sweep"


def test_a_run_that_ends_after_its_project_was_replaced_leaves_nothing_behind(trainer, qtbot):
    window, c, prompts = trainer
    configure(window, epochs=2)
    assert c.start()
    prompts.preset = "resnet20"
    assert window.new_project()  # while it trains: it goes on, in project A's folder
    run = c.current_run
    end = wait_finished(qtbot, c)
    assert end.status == "finished" and run.is_dir()
    assert window.run_focus.run is None and c.views.runs.paths() == []
    assert c.views.plots.points == 0 and len(c.history) == 0
    assert window.editor.scene.tinted_nodes() == [] and not c.legend.isVisible()
    assert c.panel.progress.format() == "idle" and "finished" in c.panel.state.text().lower()


def _ended_study(directory: Path) -> None:
    """A sweep on disk whose runs ended (failed: nothing to resume) — a study left behind."""
    from study_helpers import budget, staged_net

    from resnet_studio.study.kinds import plan_sweep
    from resnet_studio.study.queue import StudyQueue

    study = plan_sweep(staged_net(), budget(), {"seed": [1, 2]})
    study.save(directory)
    queue = StudyQueue(study, directory)
    for spec in study.runs:
        queue._record(spec.name, status="failed")


def test_a_project_opened_later_shows_its_latest_study(make_window, tmp_path):
    path = tmp_path / "a.rstudio.json"
    project_file.save(small_graph(), path)
    older, newer = tmp_path / "studies" / "a-sweep", tmp_path / "studies" / "a-variants"
    _ended_study(newer)
    _ended_study(older)
    os.utime(newer / "state.json", (2e9, 2e9))  # written last, though listed first by name
    window = make_window(small_graph(), TrainingPrompts())
    assert window.open_project(path)
    assert window.studies.directory == newer and window.studies.view.results is not None
    assert window.prompts.asked == [] or all(k != "resume" for k, *_ in window.prompts.asked)
    window.document.save(path)  # a save keeps the study on show
    window.studies.directory = older
    window.document.save(path)
    assert window.studies.directory == older
