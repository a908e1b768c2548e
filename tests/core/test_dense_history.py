"""A dense run's history: task metrics per epoch, its task and its latest predictions, the
same whether built from the live records or read back from the run directory."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import numpy as np
import pytest
from dense_records import METRIC_KEYS, dense_run

from resnet_studio.train.history import RunHistory
from resnet_studio.train.records import EpochRecord, PreviewRecord
from resnet_studio.train.rundir import read_confusion, summarise
from resnet_studio.train.sinks import RunDirSink


def write_run(path, records) -> None:
    sink = RunDirSink(path)
    for record in records:
        sink.on_record(record)
    sink.close()


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_a_dense_run_reads_back_with_the_numbers_its_records_hold(tmp_path, task):
    records = dense_run(task, epochs=3)
    write_run(tmp_path / "run", records)
    live, loaded = RunHistory(), RunHistory.load(tmp_path / "run")
    live.append(records)
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    for history in (live, loaded):
        assert history.task == task and history.dense
        assert list(history.task_metrics) == list(METRIC_KEYS[task])
        for key in METRIC_KEYS[task]:
            series = history.task_metrics[key]
            np.testing.assert_allclose(series.y, [e.metrics[key] for e in epochs])
            np.testing.assert_array_equal(series.x, history.val_acc.x)
        np.testing.assert_allclose(history.val_acc.y, [e.val_acc for e in epochs])
        assert history.preview.epoch == 3 and history.preview.task == task
    last = [r for r in records if isinstance(r, PreviewRecord)][-1]
    if task == "detection":
        for a, b in zip(loaded.preview.boxes, last.boxes):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(loaded.preview.masks, last.masks)


def test_the_labels_name_the_main_metric_of_a_dense_run():
    names = {}
    for task in ("classification", "detection", "segmentation"):
        history = RunHistory()
        history.append(dense_run(task, epochs=1))
        names[task] = (history.val_acc_label, history.train_acc_label)
    assert names == {"classification": ("accuracy", "accuracy"),
                     "detection": ("mAP@0.5", None),
                     "segmentation": ("mean IoU", "pixel accuracy")}


def test_a_run_reopened_part_way_shows_the_preview_of_that_point(tmp_path):
    run = tmp_path / "run"
    write_run(run, dense_run("detection", epochs=3))
    up_to = RunHistory.load(run, up_to_step=4)  # preview.npz is of epoch 3 (step 6)
    assert up_to.task_metrics["map_50"].size == 2 and up_to.preview is None
    assert up_to.task == "detection"  # from graph.json, with or without a preview


def test_a_damaged_preview_leaves_the_history_and_says_so_in_one_line(tmp_path):
    run = tmp_path / "run"
    write_run(run, dense_run("segmentation", epochs=2))
    (run / "preview.npz").write_bytes(b"PK\x03\x04 torn")
    history = RunHistory.load(run)
    assert history.preview is None and history.val_acc.size == 2
    assert str(run / "preview.npz") in history.preview_problem
    assert "\n" not in history.preview_problem


def test_a_run_without_a_graph_takes_its_task_from_its_metrics(tmp_path):
    run = tmp_path / "run"
    records = dense_run("segmentation", epochs=2, previews=False)
    records[0] = replace(records[0], graph=None)
    write_run(run, records)
    live = RunHistory()
    live.append(records)
    assert live.task == RunHistory.load(run).task == summarise(run).task == "segmentation"
    assert RunHistory.load(run).preview is None and RunHistory.load(run).preview_problem == ""


def test_a_classifiers_history_has_no_task_metrics(tmp_path):
    write_run(tmp_path / "run", dense_run("classification", epochs=2))
    history = RunHistory.load(tmp_path / "run")
    assert history.task == "classification" and history.task_metrics == {}
    assert history.to_csv().splitlines()[0] == ("step,loss,loss_smoothed,accuracy,"
                                                 "accuracy_smoothed,lr,val_loss,val_acc")


def test_a_detectors_empty_confusion_matrix_reads_back_as_zero_by_zero(tmp_path):
    write_run(tmp_path / "run", dense_run("detection", epochs=1))
    assert read_confusion(tmp_path / "run").matrix.shape == (0, 0)


def test_a_runs_summary_says_its_task(tmp_path):
    for task in ("detection", "segmentation", "classification"):
        write_run(tmp_path / task, dense_run(task, epochs=2))
        summary = summarise(tmp_path / task)
        assert summary.task == task
        assert summary.best_val_acc == pytest.approx({"detection": 0.4, "segmentation": 0.2,
                                                      "classification": 0.6}[task])


def test_the_history_csv_puts_the_task_metrics_on_the_epoch_rows():
    history = RunHistory()
    history.append(dense_run("detection", epochs=2, per_epoch=2))
    rows = list(csv.DictReader(io.StringIO(history.to_csv())))
    assert [r["map_50"] for r in rows[:2]] == ["", "0.2"]
    assert float(rows[3]["map"]) == pytest.approx(0.2) and rows[2]["map"] == ""
