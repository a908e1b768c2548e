"""The Analyze workspace's run picker: it lists the open project's runs that hold a checkpoint,
newest first; picking one puts it in focus and a focus set elsewhere shows in it; without a
trained run it is disabled and says to train first; each run's page names the run its figure
is from and says so when another run is picked; another project lists only its own runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from analysis_helpers import accepting, tiny_resnet, tiny_run
from training_helpers import TrainingPrompts, configure, wait_finished

from resnet_studio.graph import project as project_file
from resnet_studio.train.rundir import BEST, LAST, STATUS
from resnet_studio.ui.analyze.run_picker import NO_TRAINED_RUN

RUN_PAGES = ("lesion", "landscape", "explain")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("trained") / "tiny")


def copy_run(source: Path, folder: Path, name: str, started: float, status: str = "finished",
             checkpoint: bool = True) -> Path:
    """A copy of ``source`` in ``folder`` that started at ``started`` (its config.json's
    time), with ``status``; without its checkpoints unless ``checkpoint``."""
    copy = folder / name
    shutil.copytree(source, copy)
    os.utime(copy / "config.json", (started, started))
    (copy / STATUS).write_text(json.dumps({"status": status}), encoding="utf-8")
    if not checkpoint:
        for name in (BEST, LAST):
            (copy / name).unlink()
    return copy


def saved_project(window, folder: Path) -> Path:
    folder.mkdir()
    window.prompts.save_path = str(folder / f"{folder.name}.rstudio.json")
    assert window.save_as()
    return Path(window.prompts.save_path)


@pytest.fixture
def studio(make_window, trained, tmp_path):
    """A window on project A (saved in tmp/a) whose runs folder holds ``old`` (finished),
    ``mid`` (stopped) and ``new`` (finished), started in that order, and ``bare``, the
    latest, without a checkpoint; tmp/b/runs holds another project's run."""
    window = make_window(tiny_resnet(), TrainingPrompts())
    window.training.runner.unsaved_runs_dir = tmp_path / "untitled-runs"
    path = saved_project(window, tmp_path / "a")
    runs = path.parent / "runs"
    runs.mkdir()
    made = {"old": copy_run(trained, runs, "tiny-old", 1_000_000),
            "mid": copy_run(trained, runs, "tiny-mid", 2_000_000, status="stopped"),
            "new": copy_run(trained, runs, "tiny-new", 3_000_000),
            "bare": copy_run(trained, runs, "tiny-bare", 4_000_000, checkpoint=False)}
    (tmp_path / "b" / "runs").mkdir(parents=True)
    made["other"] = copy_run(trained, tmp_path / "b" / "runs", "tiny-b", 5_000_000)
    window.training.update_runs_root()  # as the runs table's Refresh does
    window.show_workspace("analyze")
    return window, window.analyses.panel, made


def test_the_picker_lists_the_project_s_trained_runs_newest_first(studio):
    _, panel, runs = studio
    picker = panel.picker
    assert picker.runs() == [runs["new"], runs["mid"], runs["old"]]
    assert picker.combo.isEnabled()
    labels = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert labels[0].startswith("tiny-new · finished · ") and labels[0].endswith("%")
    assert labels[1].startswith("tiny-mid · stopped")
    assert picker.picked() is None  # nothing in focus yet: nothing pretends to be picked
    assert picker.combo.currentIndex() == -1
    for key in RUN_PAGES:
        view = panel.views[key]
        assert not view.run_button.isEnabled() and not view.run_button.isHidden()
        assert view.source.text() == "Pick a run above, then press Run…."
    assert panel.signal.run_button.isHidden()  # it measures the project: Refresh does


def test_picking_a_run_puts_it_in_focus(studio):
    window, panel, runs = studio
    picker = panel.picker
    picker.combo.setCurrentIndex(picker.runs().index(runs["old"]))
    assert window.run_focus.run == runs["old"]
    assert window.runs.run_dir() == runs["old"]  # Export Checkpoint and Check an Image
    assert window.sessions.current.focus == runs["old"]
    for key in RUN_PAGES:
        view = panel.views[key]
        assert view.run_button.isEnabled()
        assert view.source.text() == "Run tiny-old: press Run… to analyse it."
    assert window.current_workspace == "analyze"  # picking shows no curves elsewhere


def test_a_focus_set_elsewhere_shows_in_the_picker(studio, trained):
    window, panel, runs = studio
    picker = panel.picker
    assert window.runs.show_run(runs["mid"])  # double-click in the runs table
    assert picker.picked() == runs["mid"]
    assert picker.combo.currentText().startswith("tiny-mid")
    assert panel.lesion.source.text() == "Run tiny-mid: press Run… to analyse it."
    window.run_focus.set_run(trained)  # a trained run from outside the project's folder
    assert picker.picked() == trained and picker.runs()[0] == trained
    window.run_focus.set_run(runs["bare"])  # in focus, but nothing to analyse yet
    assert picker.picked() is None and "tiny-bare" in picker.note.text()
    assert not panel.lesion.run_button.isEnabled()
    window.run_focus.set_run(None)
    assert picker.picked() is None and picker.combo.isEnabled()


def test_without_a_trained_run_the_picker_is_disabled_and_says_to_train(make_window,
                                                                        tmp_path, trained):
    window = make_window(tiny_resnet(), TrainingPrompts())
    window.training.runner.unsaved_runs_dir = tmp_path / "runs"
    window.training.update_runs_root()
    panel = window.analyses.panel
    assert panel.picker.runs() == [] and not panel.picker.combo.isEnabled()
    assert panel.picker.note.text() == NO_TRAINED_RUN
    assert "train one first" in NO_TRAINED_RUN and "Ctrl+3" in NO_TRAINED_RUN
    for key in RUN_PAGES:
        view = panel.views[key]
        assert not view.run_button.isEnabled() and view.source.text() == NO_TRAINED_RUN
        assert view.run_button.toolTip() == NO_TRAINED_RUN
    assert panel.signal.refresh_button.isEnabled()  # at init: no run needed
    assert "no trained run is needed" in panel.signal.source.text()
    assert panel.picker.browse_button.isEnabled()
    # Browse… opens a run from anywhere, puts it in focus and stays in Analyze
    window.show_workspace("analyze")
    window.prompts.directory = str(trained)
    panel.picker.browse_button.click()
    assert window.run_focus.run == trained and panel.picker.runs() == [trained]
    assert panel.lesion.run_button.isEnabled()
    assert window.current_workspace == "analyze"


def test_a_page_names_the_run_its_figure_is_from(studio, qtbot):
    window, panel, runs = studio
    feature, view = window.analyses, panel.lesion
    window.run_focus.set_run(runs["new"])
    feature.ask = accepting(samples=8)
    view.run_button.click()
    assert feature.busy()
    qtbot.waitUntil(lambda: not feature.busy(), timeout=120_000)
    assert view.result is not None and view.figure_runs() == [runs["new"]]
    assert view.source.text() == "From run tiny-new."
    panel.picker.combo.setCurrentIndex(panel.picker.runs().index(runs["old"]))
    assert view.result is not None  # the figure stays, and says whose it is
    assert view.source.text() == "This figure is from run tiny-new — press Run… for tiny-old."
    assert panel.landscape.source.text() == "Run tiny-old: press Run… to analyse it."
    window.run_focus.set_run(runs["new"])
    assert view.source.text() == "From run tiny-new."


def test_another_project_lists_only_its_own_runs(studio, make_window):
    window, panel, runs = studio
    path_a = window.document.path
    window.run_focus.set_run(runs["mid"])
    window.prompts.preset = "resnet20"
    assert window.new_project()
    assert panel.picker.runs() == [] and not panel.picker.combo.isEnabled()
    assert panel.lesion.source.text() == NO_TRAINED_RUN
    path_b = runs["other"].parent.parent / "b.rstudio.json"
    project_file.save(tiny_resnet(), path_b)
    assert window.open_project(path_b)
    assert panel.picker.runs() == [runs["other"]]
    assert panel.picker.picked() == runs["other"]  # its latest finished run is in focus
    assert window.open_project(path_a)
    assert panel.picker.runs() == [runs["new"], runs["mid"], runs["old"]]
    assert panel.picker.picked() == runs["mid"]  # the run last in focus comes back


def test_a_run_trained_in_the_app_is_listed_and_picked(trainer, qtbot):
    """Training puts its run in focus; the picker lists it once it holds a checkpoint."""
    window, c, _ = trainer
    picker = window.analyses.panel.picker
    assert picker.runs() == []
    configure(window, epochs=1)
    assert c.start()
    assert wait_finished(qtbot, c).status == "finished"
    assert picker.runs() == [c.current_run] and picker.picked() == c.current_run
    assert picker.combo.currentText().startswith(f"{c.current_run.name} · finished · ")
    assert window.analyses.panel.explain.run_button.isEnabled()
