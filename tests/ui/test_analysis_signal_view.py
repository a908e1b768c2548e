"""The signal analysis in the app: dialog → worker → view, canvas tints, refresh after edits,
cancelling, closing with a run in flight, and the export."""

from __future__ import annotations

import csv

import pytest
from analysis_helpers import accepting, png_header_ok
from training_helpers import TrainingPrompts, tiny_net

from resnet_studio.ui.design.commands import SetParamsCommand


@pytest.fixture
def studio(make_window):
    prompts = TrainingPrompts()
    window = make_window(tiny_net(), prompts)
    return window, window.analyses, prompts


def run_signal(qtbot, feature, **fields):
    feature.ask = accepting(batch=8, **fields)
    feature.window.actions["analyze_signal"].trigger()
    assert feature.busy()  # the work is on the worker, not in the slot
    qtbot.waitUntil(lambda: not feature.busy(), timeout=60_000)
    return feature.panel.signal


def test_signal_fills_the_view_beside_the_plain_twin(qtbot, studio):
    window, feature, _ = studio
    view = run_signal(qtbot, feature)
    result = view.result
    assert len(result.curves) == 2 and result.curves[0].label == "tiny"
    assert result.curves[1].names == result.curves[0].names  # the twin: same layers, no skip
    assert result.settings["batch_stats"] is True and result.settings["batch_size"] == 8
    for plot in view.plots:
        assert len(plot.getPlotItem().listDataItems()) == 2
        assert plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert "batch's statistics" in view.note.text() and "First-layer" in view.note.text()
    assert window.docks["analyses"].isVisible() and feature.panel.bar.isHidden()


def test_running_statistics_mode_is_said_in_the_note(qtbot, studio):
    _, feature, _ = studio
    view = run_signal(qtbot, feature, mode="running", zero_init=True)
    assert view.result.settings["batch_stats"] is False
    assert view.result.settings["zero_init_residual"] is True
    assert "running statistics" in view.note.text() and "zero-init residual" in view.note.text()


def test_signal_tints_the_canvas_nodes_by_gradient_norm(qtbot, studio):
    window, feature, _ = studio
    run_signal(qtbot, feature)
    items = window.editor.scene.node_items
    tinted = {node_id for node_id, item in items.items() if item.tint is not None}
    assert tinted == {"conv1", "conv2", "fc"}  # the layers with weights; ReLU, Add keep theirs
    assert items["conv1"].tint_note.startswith("‖g‖ ")
    window.show_workspace("design")  # the tints are on the canvas
    assert feature.legend.isVisible()
    window.actions["clear_signal_tints"].trigger()
    assert all(item.tint is None for item in items.values()) and not feature.legend.isVisible()


def test_an_edit_reruns_the_visible_signal_view(qtbot, studio):
    window, feature, _ = studio
    view = run_signal(qtbot, feature)
    first = view.result
    assert first.curves[0].activation_rms.shape == (3,)
    window.document.push(SetParamsCommand(window.document.graph, ["conv1"], {"bias": True}))
    qtbot.waitUntil(lambda: view.result is not first and not feature.busy(), timeout=60_000)
    assert view.result.settings["batch_size"] == 8  # the last run's settings are kept


def test_refresh_is_not_run_after_edits_when_switched_off(qtbot, studio):
    window, feature, _ = studio
    view = run_signal(qtbot, feature)
    first = view.result
    view.follow_edits.setChecked(False)
    window.document.push(SetParamsCommand(window.document.graph, ["conv1"], {"bias": True}))
    qtbot.wait(feature.refresh_timer.interval() + 600)
    assert view.result is first and not feature.busy()
    view.refresh_button.click()
    qtbot.waitUntil(lambda: view.result is not first and not feature.busy(), timeout=60_000)


def test_cancel_stops_the_analysis_and_keeps_the_view_empty(qtbot, studio):
    _, feature, _ = studio
    feature.ask = accepting(batch=8)
    feature.window.actions["analyze_signal"].trigger()
    feature.panel.cancel_button.click()  # before the worker's first network
    qtbot.waitUntil(lambda: not feature.busy(), timeout=60_000)
    assert feature.panel.signal.result is None
    assert feature.panel.status.text() == "Cancelled."


def test_export_writes_the_figure_and_the_numbers(qtbot, studio, tmp_path):
    _, feature, prompts = studio
    view = run_signal(qtbot, feature)
    prompts.directory = str(tmp_path / "out")
    view.export_button.click()
    assert png_header_ok(tmp_path / "out" / "signal.png")
    text = (tmp_path / "out" / "signal.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 6 and rows[0]["layer"] == "conv1"
    assert (tmp_path / "out" / "signal.json").stat().st_size > 0


def test_a_network_without_batchnorm_is_told_the_mode_changes_nothing(qtbot, make_window):
    window = make_window(tiny_net(batchnorm=False))
    view = run_signal(qtbot, window.analyses)
    assert view.result.settings["batchnorm_layers"] == 0
    assert "no BatchNorm layer" in view.note.text() and "explode" not in view.note.text()


def test_the_legend_card_leaves_every_point_uncovered(qtbot, studio):
    import numpy as np
    from PySide6.QtCore import QPointF

    from resnet_studio.analysis.signal import SignalCurve, SignalResult

    window, feature, _ = studio
    window.resize(1280, 800)
    window.show_workspace("analyze")
    view = feature.panel.signal
    feature.panel.show_view("signal")
    rising = np.geomspace(0.01, 1.0, 8)  # both curves end in the top-right corner
    curves = [SignalCurve(label, [f"l{i}" for i in range(8)], rising * k, rising * k,
                          rising * k, 2.3, 2) for label, k in (("net", 1.0), ("net_plain", 0.9))]
    view.show_result(SignalResult(curves, {"batch_size": 8, "seed": 0}), {})
    for plot in view.plots:
        item = plot.getPlotItem()
        qtbot.waitUntil(lambda item=item: item.vb.width() > 50)
        item.vb.prepareForPaint()
        legend = item.legend.sceneBoundingRect()
        for data in item.listDataItems():
            xs, ys = data.getData()  # in the view's coordinates (log10 of the values)
            for x, y in zip(xs, ys):
                point = item.vb.mapViewToScene(QPointF(float(x), float(y)))
                assert not legend.contains(point), f"{data.name()} at layer {x} is under it"
