"""The study dialog opens with the settings last set for the open project: the budget for
every kind of study, the rest per kind; another project, or an unsaved one, starts from its
own training settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from study_helpers import StudyPrompts, budget, staged_net

from resnet_studio.graph.project import save


def _window(make_window, path=None):
    window = make_window(staged_net(), StudyPrompts())
    window.studies.settings = lambda graph: budget(epochs=3)
    if path is not None:
        save(window.document.graph, path)
        assert window.open_project(path)
        window.studies.settings = lambda graph: budget(epochs=3)
    return window


def _open(window, kind):
    window.actions[f"study_{kind}"].trigger()
    return window.studies.dialog


def test_the_last_settings_come_back_for_the_same_project_only(make_window, tmp_path,
                                                               settings, qtbot):
    first, second = tmp_path / "a" / "net.rstudio.json", tmp_path / "b" / "net.rstudio.json"
    for path in (first, second):
        path.parent.mkdir()
    window = _window(make_window, first)
    dialog = _open(window, "degradation")
    assert dialog.form.epochs.value() == 3
    dialog.form.epochs.setValue(7)
    dialog.form.dataset.setCurrentIndex(dialog.form.dataset.findData("mnist"))
    dialog.form.repeats.setValue(2)
    dialog.form.depths.setText("6,10")
    dialog.reject()

    again = _open(window, "degradation")
    assert (again.form.epochs.value(), again.form.dataset.currentData(), again.form.repeats.value(),
            again.form.depths.text()) == (7, "mnist", 2, "6,10")
    assert again.study is not None and len(again.study.runs) == 8  # 2 depths × 2 sides × 2
    again.reject()
    sweep = _open(window, "sweep")  # the budget is shared, the kind's fields are its own
    assert (sweep.form.epochs.value(), sweep.form.dataset.currentData()) == (7, "mnist")
    assert sweep.form.vary[0][1].text() == "0.01,0.03,0.1"
    sweep.form.vary[0][1].setText("0.2,0.4")
    sweep.reject()
    window.close()

    # A new window with the same settings file: still there; another project: its own.
    window = _window(make_window, first)
    sweep = _open(window, "sweep")
    assert sweep.form.vary[0][1].text() == "0.2,0.4" and sweep.form.epochs.value() == 7
    sweep.reject()
    other = _window(make_window, second)
    dialog = _open(other, "degradation")
    assert (dialog.form.epochs.value(), dialog.form.repeats.value()) == (3, 1)
    assert dialog.form.dataset.currentData() == budget().data.dataset
    dialog.reject()


def test_an_unsaved_project_starts_from_its_training_settings(make_window):
    window = _window(make_window)
    dialog = _open(window, "variants")
    dialog.form.epochs.setValue(9)
    dialog.form.blocks.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog.reject()
    dialog = _open(window, "variants")
    assert dialog.form.epochs.value() == 3
    assert dialog.form.blocks.item(0).checkState() == Qt.CheckState.Checked
    dialog.reject()
