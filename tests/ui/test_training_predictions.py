"""The Train workspace for dense runs: the Predictions view draws boxes and masks where the
record puts them, the task metrics replace the accuracy, the confusion matrix goes for a
detector and counts pixels for a segmenter — live and for a run reopened from its folder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from dense_records import SHIFT, dense_run, detection_preview, segmentation_preview
from PySide6.QtGui import QColor, QImage

from resnet_studio.train.history import RunHistory
from resnet_studio.train.sinks import RunDirSink
from resnet_studio.ui.train import preview_paint as paint
from resnet_studio.ui.train.predictions import CLASSIFIER_HINT, WAITING_HINT, PredictionsView
from resnet_studio.ui.train.views import TAB_CONFUSION, TAB_PREDICTIONS


def history_of(records) -> RunHistory:
    history = RunHistory()
    history.append(records)
    return history


def shown(qtbot, record, size=(900, 600)) -> tuple[PredictionsView, QImage]:
    view = PredictionsView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show_history(history_of([record]))
    view.show()
    qtbot.waitExposed(view)
    return view, view.canvas.grab().toImage()


def colour_near(image: QImage, x: float, y: float, colour: QColor, tolerance: int = 40) -> bool:
    """Is ``colour`` within ``tolerance`` per channel at any pixel within 1 of (x, y)?"""
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            c = image.pixelColor(round(x) + dx, round(y) + dy)
            if max(abs(c.red() - colour.red()), abs(c.green() - colour.green()),
                   abs(c.blue() - colour.blue())) <= tolerance:
                return True
    return False


def test_predicted_boxes_are_drawn_where_their_pixels_are_in_their_class_colour(qtbot):
    record = detection_preview(count=4)
    view, image = shown(qtbot, record)
    canvas = view.canvas
    layout = canvas.layout_for(canvas.width(), canvas.height())
    assert layout.scale > 3  # 64-pixel images fill the view, not a corner of it
    for i in range(4):
        rects = canvas.box_rects(i)
        panel = layout.panel_rect(i)
        kept = [j for j in range(len(record.scores[i])) if record.scores[i][j] >= 0.5]
        drawn = sorted((r.left(), r.top(), r.right(), r.bottom()) for r in rects)
        expected = sorted((panel.left() + x1 * layout.scale, panel.top() + y1 * layout.scale,
                           panel.left() + x2 * layout.scale, panel.top() + y2 * layout.scale)
                          for x1, y1, x2, y2 in (record.boxes[i][j] for j in kept))
        np.testing.assert_allclose(drawn, expected)
        for j in kept:
            # the box's edge is painted in its class colour, half-way down its left side
            x1, y1, _, y2 = record.boxes[i][j]
            x, y = panel.left() + x1 * layout.scale, panel.top() + (y1 + y2) / 2 * layout.scale
            colour = paint.class_colour(int(record.labels[i][j]))
            assert colour_near(image, x, y, colour), (i, j)
    # the true box lies SHIFT pixels left of the prediction: dashed, in the same colour
    true_left = layout.panel_rect(1).left() + record.true_boxes[1][0][0] * layout.scale
    assert SHIFT * layout.scale > 6
    column = [image.pixelColor(int(true_left), y) for y in
              range(round(canvas.box_rects(1)[0].top()) + 8,
                    round(canvas.box_rects(1)[0].bottom()) - 8)]
    coloured = paint.class_colour(int(record.true_labels[1][0]))
    hits = [max(abs(c.red() - coloured.red()), abs(c.green() - coloured.green()),
                abs(c.blue() - coloured.blue())) <= 40 for c in column]
    assert 0.3 < np.mean(hits) < 0.9  # dashes and gaps, not a solid line


def test_the_score_threshold_decides_which_boxes_are_drawn(qtbot):
    view, _ = shown(qtbot, detection_preview(count=2))
    total = sum(len(s) for s in view.record.scores)
    view.canvas.grab()
    drawn = view.canvas.drawn_boxes
    assert drawn == total - 1  # the box scoring 0.1 is left out at 0.5
    view.threshold.setValue(0.05)
    view.canvas.grab()
    assert view.canvas.drawn_boxes == total
    assert len(view.canvas.box_rects(0)) == len(view.record.scores[0])
    assert view.threshold.isVisible() and "true boxes dashed" in view.caption.text()


def test_masks_are_coloured_by_class_over_the_image_with_the_truth_beside(qtbot):
    record = segmentation_preview(count=2)
    view, image = shown(qtbot, record)
    layout = view.canvas.layout_for(view.canvas.width(), view.canvas.height())
    assert layout.panels == 2 and not view.threshold.isVisible()
    for i in range(2):
        for panel, mask in ((0, record.masks[i]), (1, record.true_masks[i])):
            rect = layout.panel_rect(i, panel)
            for class_id in (1, 2, 3, 0):
                ys, xs = np.nonzero(mask == class_id)
                if not len(ys):
                    continue
                k = len(ys) // 2
                x = rect.left() + (xs[k] + 0.5) * layout.scale
                y = rect.top() + (ys[k] + 0.5) * layout.scale
                c = image.pixelColor(round(x), round(y))
                if class_id == 0:  # background: the image in grey, no colour
                    assert abs(c.red() - c.blue()) <= 2 and abs(c.red() - c.green()) <= 2
                    continue
                want = paint.class_colour(class_id)
                # the overlay pulls the grey towards the class colour, channel by channel
                order = np.argsort([want.red(), want.green(), want.blue()])
                got = np.array([c.red(), c.green(), c.blue()])
                assert got[order[-1]] > got[order[0]] + 60, (i, panel, class_id)
    names = view.legend.text()
    assert all(n in names for n in ("square", "disc", "triangle", "ignored"))
    assert "background" not in names


def test_hints_before_a_preview_for_a_classifier_and_for_a_damaged_file(qtbot):
    view = PredictionsView()
    qtbot.addWidget(view)
    assert view.empty and view.stack.hint.text() == WAITING_HINT
    view.show_history(history_of(dense_run("classification", epochs=1)))
    assert view.empty and view.stack.hint.text() == CLASSIFIER_HINT
    view.show_history(history_of(dense_run("detection", epochs=1, previews=False)))
    assert view.empty and view.stack.hint.text() == WAITING_HINT
    damaged = RunHistory()
    damaged.preview_problem = "/runs/r/preview.npz: damaged preview file (bad); it is left out."
    view.show_history(damaged)
    assert view.stack.hint.text() == damaged.preview_problem
    view.show_history(history_of([detection_preview()]))
    assert not view.empty and not view.stack.hint.isVisible()


@pytest.mark.parametrize("task, title, unit, legend", [
    ("detection", "mAP", "mAP (COCO)", ["val mAP@0.5", "val mAP"]),
    ("segmentation", "Mean IoU", "IoU, share of pixels",
     ["train pixel acc.", "val mean IoU", "val pixel acc."]),
    ("classification", "Accuracy", "top-1", ["train", "smoothed", "validation"])])
def test_the_accuracy_plot_shows_the_task_metrics_of_a_dense_run(trainer, task, title, unit,
                                                                   legend):
    _, c, _ = trainer
    history = history_of(dense_run(task, epochs=3))
    c.show_history(history)
    plots = c.views.plots
    assert plots.acc_plot.titleLabel.text == title
    assert plots.acc_plot.getAxis("left").labelText == unit
    assert [label.text for _, label in plots.legends[1].items] == legend
    others = {"detection": "map", "segmentation": "pixel_acc"}.get(task)
    assert list(plots.metric_items) == ([others] if others else [])
    if others:
        x, y = plots.metric_items[others].getData()
        np.testing.assert_allclose(y, history.task_metrics[others].y)
        np.testing.assert_array_equal(x, history.val_acc.x)
    assert ("accuracy" in f"{title} {unit}".lower()) == (task == "classification")
    readout = plots.show_readout(float(history.val_acc.x[1]))
    assert f"val {history.val_acc_label} {history.val_acc.y[1]:.4g}" in readout
    assert ("accuracy" in readout) == (task != "detection")  # segmentation: pixel accuracy
    loss_unit = "sum of losses" if task == "detection" else "cross-entropy"
    assert plots.loss_plot.getAxis("left").labelText == loss_unit


def test_a_dense_run_streams_into_the_views_and_the_panel(trainer):
    _, c, _ = trainer
    c.views.ensure()
    for record in dense_run("detection", epochs=2):
        c.bridge.sink.on_record(record)
    while c.bridge.drain():
        pass
    c.render()
    views = c.views
    assert views.history.preview is not None and views.history.preview.epoch == 2
    assert views.predictions.record is views.history.preview and not views.predictions.empty
    assert not views.tabs.isTabVisible(TAB_CONFUSION)  # a detector has no confusion matrix
    text = c.panel.metrics.text()
    assert "mAP@0.5 40.0%" in text and "mAP 20.0%" in text and "accuracy" not in text
    views.show_tab(TAB_PREDICTIONS)
    assert views.tabs.currentWidget() is views.predictions


def test_a_reopened_segmentation_run_shows_its_predictions_and_pixel_confusion(trainer,
                                                                               tmp_path):
    _, c, prompts = trainer
    run = tmp_path / "seg"
    sink = RunDirSink(run)
    for record in dense_run("segmentation", epochs=2):
        sink.on_record(record)
    sink.close()
    prompts.directory = str(run)
    c.actions["open_run"].trigger()
    views = c.views
    assert views.history.task == "segmentation"
    assert views.tabs.isTabVisible(TAB_CONFUSION)
    assert views.tabs.tabText(TAB_CONFUSION) == "Pixel Confusion"
    assert "Pixel confusion" in views.confusion.caption.text()
    assert "mean IoU 20.0%" in views.confusion.caption.text()
    np.testing.assert_array_equal(views.predictions.record.masks,
                                  segmentation_preview(2, 4).masks)
    assert views.plots.acc_plot.titleLabel.text == "Mean IoU"


def test_a_later_preview_replaces_the_one_shown(qtbot):
    view = PredictionsView()
    qtbot.addWidget(view)
    first = detection_preview(epoch=1)
    history = history_of([first])
    view.show_history(history)
    assert "epoch 1" in view.caption.text()
    second = replace(detection_preview(epoch=2, step=8), boxes=first.boxes)
    history.append([second])
    view.show_history(history)
    assert view.record is second and "epoch 2 (step 8)" in view.caption.text()


def test_the_runs_list_and_the_comparison_name_each_runs_main_score(trainer, tmp_path):
    _, c, _ = trainer
    c.views.ensure()
    paths = {}
    for task in ("detection", "segmentation", "classification"):
        paths[task] = tmp_path / task
        sink = RunDirSink(paths[task])
        for record in dense_run(task, epochs=2):
            sink.on_record(record)
        sink.close()
        c.views.runs.add_run(paths[task])
    table = c.views.runs.table
    best = {table.item(row, 0).toolTip().splitlines()[0]: table.item(row, 2).text()
            for row in range(table.rowCount())}
    assert best[str(paths["detection"])] == "40.0% mAP@0.5"
    assert best[str(paths["segmentation"])] == "20.0% mean IoU"
    assert best[str(paths["classification"])] == "60.0%"
    compare = c.views.compare
    compare.show_runs([paths["detection"], paths["detection"]])
    assert compare.acc_plot.titleLabel.text == "Validation mAP@0.5"
    assert compare.loss_plot.getAxis("left").labelText == "sum of losses"
    compare.show_runs([paths["segmentation"], paths["classification"]])
    assert compare.acc_plot.titleLabel.text.startswith("Validation score")
    compare.show_runs([paths["classification"], paths["classification"]])
    assert compare.acc_plot.titleLabel.text == "Validation accuracy"
    assert compare.loss_plot.getAxis("left").labelText == "cross-entropy"


def test_a_preview_that_cannot_be_drawn_says_why_instead_of_painting(qtbot):
    view = PredictionsView()
    qtbot.addWidget(view)
    broken = replace(segmentation_preview(epoch=3), true_masks=None)
    view.show_history(history_of([broken]))
    assert view.empty and view.record is None
    assert view.stack.hint.text().startswith("The predictions of epoch 3 cannot be drawn: "
                                             "true_masks are None")
