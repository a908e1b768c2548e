"""The Experiments workspace's set-up column: the dialog's own form inline, filled per project
and saved on Start; Start with fields that cannot be planned says why and starts nothing; with
no study open the results area shows text and no charts, which appear once a study starts."""

from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from study_helpers import StudyPrompts, budget, staged_net, study_window

from resnet_studio.graph.project import save
from resnet_studio.study.plan import KINDS
from resnet_studio.study.queue import StudyQueue
from resnet_studio.ui.experiments import memory
from resnet_studio.ui.experiments import worker as worker_module
from resnet_studio.ui.experiments.form import StudyForm


@pytest.fixture
def studio(make_window, tmp_path):
    return study_window(make_window, tmp_path, config=budget(epochs=3), shown=True)


def _fill(form: StudyForm) -> None:
    """The same non-default inputs into a form of any kind."""
    form.epochs.setValue(4)
    form.train_size.setValue(40)
    form.repeats.setValue(2)
    if form.kind == "degradation":
        form.depths.setText("10,6")
    elif form.kind == "variants":
        form.blocks.item(0).setCheckState(Qt.CheckState.Unchecked)
        form.target.setValue(0.5)
    elif form.kind == "sweep":
        form.vary[0][1].setText("0.02,0.2")
        form.vary[1][0].setCurrentIndex(form.vary[1][0].findData("batch_size"))
        form.vary[1][1].setText("4,8")


@pytest.mark.parametrize("kind", KINDS)
def test_the_inline_form_and_the_dialog_plan_the_same_study(studio, kind):
    setup = studio.studies.setup
    setup.choose(kind)
    window_dialog = studio.studies.open_dialog(kind)
    for form in (setup.form, window_dialog.form):
        _fill(form)
    inline, dialog = setup.form.replan(), window_dialog.replan()
    window_dialog.reject()
    assert inline is not None and dialog is not None
    assert inline.to_dict() == dialog.to_dict()
    assert {r.config["epochs"] for r in inline.runs} == {4}  # the inputs, not the defaults
    assert {r.config["data"]["train_size"] for r in inline.runs} == {40}
    assert inline.settings["seeds"] == [1, 2]


def _started(window) -> list:
    """Record what Start would train instead of training it."""
    calls: list = []
    window.studies.start_study = lambda study, directory=None, estimates=None: calls.append(
        study) or True
    return calls


def _open(window, path):
    assert window.open_project(path)
    return window.studies.setup


def test_the_settings_are_remembered_per_project_on_start(studio, tmp_path):
    calls = _started(studio)
    first, second = tmp_path / "a" / "net.rstudio.json", tmp_path / "b" / "net.rstudio.json"
    for path in (first, second):
        path.parent.mkdir()
        save(studio.document.graph, path)
    setup = _open(studio, first)
    setup.choose("degradation")
    assert (setup.form.epochs.value(), setup.form.depths.text()) == (3, "6,10,14,18")
    setup.form.epochs.setValue(7)
    setup.form.depths.setText("6,10")
    assert setup.request_start() is not None and len(calls[-1].runs) == 4
    setup.form.epochs.setValue(9)  # not started: not remembered

    setup = _open(studio, second)
    assert (setup.form.epochs.value(), setup.form.depths.text()) == (3, "6,10,14,18")
    setup.form.epochs.setValue(5)
    setup.request_start()

    setup = _open(studio, first)
    assert (setup.form.epochs.value(), setup.form.depths.text()) == (7, "6,10")
    setup.choose("sweep")  # the budget is every kind's; the fields are the kind's own
    assert setup.form.epochs.value() == 7 and setup.form.vary[0][1].text() == "0.01,0.03,0.1"
    setup = _open(studio, second)  # the kind last started for it, with its settings
    assert setup.kind == "degradation" and setup.form.epochs.value() == 5
    assert [r.config["epochs"] for r in calls[-1].runs] == [5] * 8
    setup.choose("sweep")
    setup.request_start()
    setup = _open(studio, first)
    assert setup.kind == "degradation"  # first's own: its last start
    setup = _open(studio, second)
    assert setup.kind == "sweep"
    studio.document.load_graph(staged_net())  # as File ▸ New does: an untitled project
    assert setup.project is None and setup.form.epochs.value() == 3


def test_a_kind_switch_keeps_what_was_typed_and_the_dialog_shares_the_column(studio, tmp_path):
    path = tmp_path / "net.rstudio.json"
    save(studio.document.graph, path)
    setup = _open(studio, path)
    setup.choose("degradation")
    setup.form.depths.setText("6,14")
    setup.form.epochs.setValue(6)
    setup.choose("twin")
    assert setup.form.epochs.value() == 6  # the budget goes with the kind
    setup.choose("degradation")
    assert setup.form.depths.text() == "6,14"  # typed, not started, still there
    dialog = studio.studies.open_dialog("degradation")  # the same set-up as the column
    assert (dialog.form.depths.text(), dialog.form.epochs.value()) == ("6,14", 6)
    dialog.form.depths.setText("10")
    dialog.reject()  # the dialog remembers on closing; the column shows the same
    assert setup.form.depths.text() == "10" and setup.form.epochs.value() == 6


def test_new_training_settings_reach_the_column_and_typed_values_stay(studio):
    setup = studio.studies.setup
    setup.choose("twin")
    setup.form.repeats.setValue(2)
    studio.studies.settings = lambda graph: budget(epochs=5)  # the Train panel changed
    assert setup.refresh()
    assert (setup.form.epochs.value(), setup.form.repeats.value()) == (5, 2)
    assert not setup.refresh()  # nothing changed since: the form stays as it is
    assert _blocks(setup.form.study) == 1
    studio.document.graph.set_params("layer1", {"blocks": 2})  # the network was edited
    assert setup.refresh() and _blocks(setup.form.study) == 2
    assert setup.form.repeats.value() == 2


def _blocks(study) -> int:
    """Blocks in the first stage of the study's first network."""
    nodes = study.runs[0].graph["nodes"]
    return next(n for n in nodes if n["id"] == "layer1")["params"]["blocks"]


def test_start_with_fields_that_cannot_be_planned_says_why_and_starts_nothing(studio, qtbot,
                                                                              tmp_path):
    setup, heard = studio.studies.setup, []
    setup.started.connect(lambda *args: heard.append(args))
    setup.choose("degradation")
    setup.form.depths.setText("6,7")
    qtbot.mouseClick(setup.start_button, Qt.MouseButton.LeftButton)
    assert not setup.message.isHidden()
    assert setup.message.text().startswith("Cannot start: ")
    assert "depth 7 cannot be reached" in setup.message.text()
    setup.form.depths.setText("6,x")
    setup.form.depths.setFocus()
    studio.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is setup.form.depths)
    qtbot.keyClick(setup.form.depths, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "whole numbers" in setup.message.text()
    assert heard == [] and studio.studies.study is None and not studio.studies.worker.is_active()
    assert not (tmp_path / "studies").exists()
    setup.form.depths.setText("6")
    setup.form.replan()
    assert setup.message.isHidden()  # a plan again: the complaint goes


def test_settings_the_training_panel_cannot_use_say_so_in_the_column(studio):
    def refuse(graph):
        raise ValueError("training setting ‘lr’: must be positive")

    studio.studies.settings = refuse
    setup = studio.studies.setup
    setup.load(None)
    assert setup.form is None
    assert setup.message.text() == "Cannot plan a study: training setting ‘lr’: must be positive"
    assert setup.request_start() is None


def _charts(window) -> list[pg.GraphicsView]:
    page = window.workspace("experiments")
    return [v for v in page.findChildren(pg.GraphicsView) if v.isVisible()]


def test_no_study_shows_text_and_no_charts_until_a_study_starts(studio, qtbot):
    view, setup = studio.studies.view, studio.studies.setup
    qtbot.waitExposed(view)
    assert not view.showing_results and view.empty.isVisible() and _charts(studio) == []
    assert "press <b>Start Study</b>" in view.empty.text()
    setup.choose("sweep")
    setup.form.vary[0][1].setText("0.05")  # one run
    setup.form.epochs.setValue(1)  # of 3 steps
    with qtbot.waitSignal(studio.studies.worker.finished, timeout=120_000):
        assert setup.request_start() is not None
        assert view.showing_results and _charts(studio) and not view.empty.isVisible()
        assert not setup.isEnabled()  # the form waits while the study runs
        for plot in (view.curves.train_plot, view.curves.val_plot):
            low, high = plot.vb.viewRange()[1]
            assert (low, high) == (0, 100), "an empty frame of error (%) spans 0–100"
    assert setup.isEnabled()
    train = view.curves.train_plot.listDataItems()
    assert train and view.curves.train_plot.getAxis("left").labelText == "error (%)"
    errors = np.concatenate([item.yData for item in train])
    assert errors.min() >= 0 and errors.max() <= 100
    assert errors.max() > 1  # percent, as the axis says, not a fraction of one
    y_low, y_high = view.curves.train_plot.vb.viewRange()[1]
    assert y_high < 100 or y_low > 0  # the range follows the data once there are some


class HeldQueue(StudyQueue):
    """Holds the study at its first step until ``go`` is set: running, by construction."""

    go: threading.Event

    def _report(self, event, index, spec, **values):
        super()._report(event, index, spec, **values)
        if event == "step" and values.get("step") == 1:
            assert self.go.wait(timeout=60), "the test never let the study go on"


def test_a_project_opened_while_a_study_runs_fills_the_waiting_column(studio, qtbot, tmp_path,
                                                                      monkeypatch):
    path = tmp_path / "b" / "net.rstudio.json"
    path.parent.mkdir()
    save(studio.document.graph, path)
    settings, form = studio.settings, StudyForm("twin", staged_net(), budget(epochs=6), "b")
    qtbot.addWidget(form)
    form.repeats.setValue(3)
    memory.remember(settings, path, form)  # what was last set for the other project
    monkeypatch.setattr(HeldQueue, "go", threading.Event(), raising=False)
    monkeypatch.setattr(worker_module, "StudyQueue", HeldQueue)
    setup, feature = studio.studies.setup, studio.studies
    setup.choose("twin")
    with qtbot.waitSignal(feature.worker.progressed, timeout=60_000,
                          check_params_cb=lambda p: p.event == "step"):
        assert setup.request_start() is not None
    try:
        assert not setup.isEnabled()
        setup = _open(studio, path)
        assert setup.project == path and not setup.isEnabled()
        assert (setup.form.epochs.value(), setup.form.repeats.value()) == (6, 3)
    finally:
        HeldQueue.go.set()
    with qtbot.waitSignal(feature.worker.finished, timeout=120_000):
        pass
    assert setup.isEnabled() and setup.form.repeats.value() == 3


def test_the_findings_speak_of_the_repeats_field_not_a_flag():
    from study_helpers import finished_sweep_results

    from resnet_studio.ui.experiments.view import findings_html

    text = findings_html(finished_sweep_results())  # one seed: the report asks for repeats
    assert "Repeats set to 3" in text and "--seeds" not in text


def test_the_variants_form_ticks_the_projects_own_block(make_window):
    from resnet_studio.study import derive

    window = make_window(derive.with_block(staged_net(), "bottleneck"), StudyPrompts())
    window.show_workspace("experiments")
    setup = window.studies.setup
    setup.choose("variants")
    ticked = [setup.form.blocks.item(i).data(Qt.ItemDataRole.UserRole)
              for i in range(setup.form.blocks.count())
              if setup.form.blocks.item(i).checkState() == Qt.CheckState.Checked]
    assert "bottleneck" in ticked and set(ticked) >= {"basicblock", "scaledresidual"}
    assert setup.form.replan().settings["baseline"] == "bottleneck"
