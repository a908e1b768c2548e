"""The analyses of a trained run in the app: lesion (with a twin), landscape and explain
start from their dialogs on the worker and fill their views; bad paths are refused in the
dialog; cancelling, closing mid-run, exports, and the Captum offer."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from analysis_helpers import accepting, image_file, png_header_ok, tiny_resnet, tiny_run
from training_helpers import TrainingPrompts

from resnet_studio.analysis.lesion import LesionResult
from resnet_studio.presets import plain_twin
from resnet_studio.ui.analyze.dialogs import LesionDialog
from resnet_studio.ui.analyze.install import InstallDialog
from resnet_studio.ui.analyze.lesion_view import LesionView


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return tiny_run(root / "tiny"), tiny_run(root / "plain", plain_twin(tiny_resnet()))


@pytest.fixture
def studio(make_window, runs):
    prompts = TrainingPrompts()
    window = make_window(tiny_resnet(), prompts)
    window.run_focus.set_run(runs[0])
    return window, window.analyses, prompts


def finish(qtbot, feature, action: str, **fields):
    feature.ask = accepting(**fields)
    feature.window.actions[action].trigger()
    assert feature.busy()
    qtbot.waitUntil(lambda: not feature.busy(), timeout=120_000)


def test_lesion_of_the_run_in_focus_and_its_twin(qtbot, studio, runs, tmp_path):
    _, feature, prompts = studio
    finish(qtbot, feature, "analyze_lesion", twin=runs[1], samples=0)
    view = feature.panel.lesion
    assert len(view.result) == 2 and view.result[0].label == "tiny"
    assert len(view.bars) == 2 and view.result[0].blocks == ["layer1.0", "layer2.0"]
    assert "intact" in view.note.text() and "Chance is 33.3%" in view.note.text()
    # the bars are fractions and the axis says so (the note and legend speak in percent)
    assert view.plot.getPlotItem().getAxis("left").labelText == "accuracy (fraction correct)"
    for bars, r in zip(view.bars, view.result):
        assert list(bars.opts["height"]) == pytest.approx(list(np.nan_to_num(r.accuracy)))
    prompts.directory = str(tmp_path)
    view.export_button.click()
    assert png_header_ok(tmp_path / "lesion.png")
    assert "intact" in (tmp_path / "lesion.csv").read_text(encoding="utf-8")


def test_the_lesion_legend_stays_above_bars_near_full_accuracy(qtbot):
    """A well-trained network's bars and intact line reach almost 1: the legend sits above
    them, not over them (seen on real digits: 98.4 % intact, 93.1 % and 97.9 % lesioned)."""
    view = LesionView()
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    result = LesionResult("digits", 0.05, 0.984, ["res1", "res2"], ["branch", "branch"],
                          np.array([0.2, 0.07]), np.array([0.931, 0.979]), samples=1000)
    view.show_result([result], {"chance": 0.1})
    item = view.plot.getPlotItem()
    qtbot.waitUntil(lambda: item.legend.sceneBoundingRect().height() > 0)
    qtbot.wait(50)  # the legend is laid out with the plot
    legend_bottom = item.getViewBox().mapSceneToView(
        item.legend.sceneBoundingRect().bottomLeft()).y()
    assert legend_bottom > 0.984
    ticks = item.getAxis("left")._tickLevels[0] if item.getAxis("left")._tickLevels else []
    assert max(value for value, _ in ticks) == 1.0  # accuracy is labelled up to 1 only


def test_landscape_draws_the_curve_and_the_contoured_plane(qtbot, studio, tmp_path):
    _, feature, prompts = studio
    finish(qtbot, feature, "analyze_landscape", samples=16, steps=7, grid=5)
    view = feature.panel.landscape
    assert view.result[0].loss_2d.shape == (5, 5)
    assert len(view.curve_plot.getPlotItem().listDataItems()) == 1
    assert view.image.image.shape == (5, 5) and len(view.isocurves) > 0
    prompts.directory = str(tmp_path)
    view.export_button.click()
    for name in ("landscape_1d.png", "landscape_contour.png", "landscape_surface.png"):
        assert png_header_ok(tmp_path / name)
    assert len((tmp_path / "landscape_2d.csv").read_text().splitlines()) == 1 + 25


def test_explain_shows_picture_ranking_and_feature_maps(qtbot, studio, tmp_path):
    _, feature, prompts = studio
    finish(qtbot, feature, "analyze_explain", image=image_file(tmp_path / "x.png"),
           method="saliency", top_k=2)
    view = feature.panel.explain
    assert len(view.result.classes) == 2
    assert {"image", "gradcam", "attribution", "stage:layer1", "stage:layer2"} <= set(
        view.pictures)
    assert all(not label.pixmap().isNull() for label in view.pictures.values())
    assert "Top 2" in view.top_k.text() and "saliency" in view.note.text()
    prompts.directory = str(tmp_path / "out")
    view.export_button.click()
    assert png_header_ok(tmp_path / "out" / "explain.png")


def test_explain_pictures_grow_with_the_room_and_still_fit(qtbot, studio, tmp_path):
    from resnet_studio.ui.analyze.explain_view import FEATURES, PICTURE

    _, feature, _ = studio
    finish(qtbot, feature, "analyze_explain", image=image_file(tmp_path / "x.png"),
           method="saliency", top_k=2)
    view = feature.panel.explain
    view.setParent(None)
    heights = {}
    for width in (900, 1900):
        view.resize(width, 900)
        view.show()
        qtbot.waitUntil(lambda w=width: w - 100 < view.body.width() <= w)
        qtbot.wait(20)
        heights[width] = (view.pictures["image"].pixmap().height(),
                          view.pictures["stage:layer1"].pixmap().height())
        row = sum(view.pictures[k].pixmap().width() for k in ("image", "gradcam", "attribution"))
        assert row + view.top_k.sizeHint().width() <= view.body.width()
    assert heights[900][0] >= PICTURE and heights[900][1] >= FEATURES
    assert heights[1900][0] > 1.5 * heights[900][0]
    assert heights[1900][1] > heights[900][1]
    view.close()


def test_a_folder_that_is_no_run_is_refused_in_the_dialog(qtbot, studio, tmp_path):
    window, _, prompts = studio
    dialog = LesionDialog(prompts, tmp_path, window)
    qtbot.addWidget(dialog)
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert dialog.problem.text() == f"{tmp_path} is not a run directory."
    dialog.run.edit.setText("")
    dialog.accept()
    assert dialog.problem.text() == "Choose the run directory."


def test_a_failing_analysis_says_why_in_one_line(qtbot, studio, runs, tmp_path):
    _, feature, prompts = studio
    (tmp_path / "bad.png").write_bytes(b"not an image")
    finish(qtbot, feature, "analyze_explain", image=tmp_path / "bad.png")
    assert feature.panel.explain.result is None
    assert len(prompts.errors) == 1 and "bad.png" in prompts.errors[0][1]
    assert "\n" not in prompts.errors[0][1]


def test_cancel_mid_landscape_and_close_leave_no_thread(qtbot, studio):
    window, feature, _ = studio
    feature.ask = accepting(samples=16, steps=201, grid=61)
    window.actions["analyze_landscape"].trigger()
    worker = feature.worker
    qtbot.waitUntil(lambda: feature.panel.bar.value() > 0, timeout=60_000)
    assert re.search(r" — about \d+:\d\d left$", feature.panel.status.text())
    window.actions["analyze_cancel"].trigger()
    qtbot.waitUntil(lambda: not feature.busy(), timeout=60_000)
    assert feature.panel.landscape.result is None and feature.panel.status.text() == "Cancelled."
    feature.ask = accepting(samples=16, steps=201, grid=61)
    window.actions["analyze_landscape"].trigger()
    worker = feature.worker
    window.close()  # cancels and waits
    assert worker.isFinished()


def test_explain_without_captum_offers_the_pip_command(qtbot, studio, monkeypatch):
    window, feature, _ = studio
    shown = []
    monkeypatch.setattr(feature, "has_captum", lambda: False)
    monkeypatch.setattr(InstallDialog, "exec", lambda self: shown.append(self) or 0)
    window.actions["analyze_explain"].trigger()
    assert not feature.busy() and len(shown) == 1
    assert shown[0].arguments == ["-m", "pip", "install", "resnet-studio[explain]"]
    assert shown[0].program == sys.executable and shown[0].output.toPlainText() == ""
    assert "pip install 'resnet-studio[explain]'" in window.statusBar().currentMessage()


def test_the_install_dialog_runs_its_command_and_shows_the_output(qtbot):
    dialog = InstallDialog(None, sys.executable, ["-c", "print('collected resnet-studio')"])
    qtbot.addWidget(dialog)
    dialog.install_button.click()
    qtbot.waitUntil(lambda: dialog.succeeded, timeout=30_000)
    text = dialog.output.toPlainText()
    assert "collected resnet-studio" in text and "Installed." in text
