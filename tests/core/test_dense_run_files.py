"""The files of a dense run: preview.npz (the latest predictions) and metrics.csv's task
metric columns, as RunDirSink writes them; a classifier's files stay as they were."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
from dense_records import dense_run, detection_preview, segmentation_preview

from resnet_studio.train.preview_file import preview_problem, read_preview, write_preview
from resnet_studio.train.rundir import RunReadError, read_metrics
from resnet_studio.train.sinks import METRIC_COLUMNS, RunDirSink, TensorBoardSink


def write_run(path, records) -> None:
    sink = RunDirSink(path)
    for record in records:
        sink.on_record(record)
    sink.close()


def header_of(run) -> list[str]:
    return next(csv.reader((run / "metrics.csv").read_text().splitlines()))


def assert_same_preview(a, b) -> None:
    assert (a.epoch, a.step, a.task, a.class_names) == (b.epoch, b.step, b.task, b.class_names)
    assert a.images.dtype == b.images.dtype == np.uint8
    np.testing.assert_array_equal(a.images, b.images)
    for name in ("boxes", "labels", "scores", "true_boxes", "true_labels"):
        left, right = getattr(a, name), getattr(b, name)
        assert len(left) == len(right), name
        for x, y in zip(left, right):
            np.testing.assert_array_equal(x, y, err_msg=name)
    for name in ("masks", "true_masks"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None), name
        if left is not None:
            np.testing.assert_array_equal(left, right, err_msg=name)


@pytest.mark.parametrize("make", [detection_preview, segmentation_preview])
def test_a_preview_reads_back_as_the_record_it_was_written_from(tmp_path, make):
    record = make(epoch=2, step=8)
    write_preview(tmp_path / "preview.npz", record)
    back = read_preview(tmp_path / "preview.npz")
    assert_same_preview(record, back)
    with np.load(tmp_path / "preview.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_ragged_box_lists_keep_each_images_boxes_including_an_image_without_any(tmp_path):
    record = detection_preview(count=3)
    boxes = (record.boxes[0], np.zeros((0, 4), np.float32), record.boxes[2])
    labels = (record.labels[0], np.zeros(0, np.int64), record.labels[2])
    scores = (record.scores[0], np.zeros(0, np.float32), record.scores[2])
    record = replace(record, boxes=boxes, labels=labels, scores=scores)
    write_preview(tmp_path / "p.npz", record)
    back = read_preview(tmp_path / "p.npz")
    assert [len(b) for b in back.boxes] == [len(boxes[0]), 0, len(boxes[2])]
    assert_same_preview(record, back)


def test_a_missing_preview_is_none_and_a_damaged_one_one_line_naming_it(tmp_path):
    path = tmp_path / "preview.npz"
    assert read_preview(path) is None
    path.write_bytes(b"not an archive at all")
    with pytest.raises(RunReadError) as caught:
        read_preview(path)
    message = str(caught.value)
    assert str(path) in message and "damaged preview" in message and "\n" not in message


def test_a_preview_whose_arrays_disagree_is_refused(tmp_path):
    path = tmp_path / "preview.npz"
    write_preview(path, detection_preview(count=2))
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["pred_counts"] = arrays["pred_counts"] + 1  # more boxes claimed than stored
    np.savez_compressed(path, **arrays)
    with pytest.raises(RunReadError, match="pred_boxes"):
        read_preview(path)
    arrays = dict(arrays, pred_counts=arrays["pred_counts"] - 1,
                  images=arrays["images"][..., :2])  # two channels
    np.savez_compressed(path, **arrays)
    with pytest.raises(RunReadError, match="N×H×W×3"):
        read_preview(path)


def test_a_pickled_object_in_the_archive_is_not_loaded(tmp_path):
    path = tmp_path / "preview.npz"
    write_preview(path, segmentation_preview(count=1))
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    np.savez(path, **dict(arrays, task=np.array([{"evil": 1}], dtype=object)))
    with pytest.raises(RunReadError, match="pickled"):
        read_preview(path)


def test_the_sink_keeps_the_latest_preview_and_one_column_per_task_metric(tmp_path):
    run = tmp_path / "run"
    records = dense_run("segmentation", epochs=3)
    write_run(run, records)
    header = header_of(run)
    assert tuple(header) == (*METRIC_COLUMNS, "miou", "pixel_acc")
    rows = read_metrics(run)
    assert [r["miou"] for r in rows] == pytest.approx([0.1, 0.2, 0.3])
    assert [r["pixel_acc"] for r in rows] == pytest.approx([0.2, 0.4, 0.6])
    assert [r["val_acc"] for r in rows] == pytest.approx([0.1, 0.2, 0.3])
    assert read_preview(run / "preview.npz").epoch == 3


def test_a_classifiers_metrics_csv_is_what_it_always_was(tmp_path):
    run = tmp_path / "run"
    write_run(run, dense_run("classification", epochs=2))
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == ",".join(METRIC_COLUMNS)
    assert lines[1] == "1,2,1.0,0.52,1.5,0.3,0.0,1,1.0"
    assert len(lines) == 3 and not (run / "preview.npz").exists()


def test_a_resumed_dense_run_keeps_its_metric_columns_and_earlier_rows(tmp_path):
    run = tmp_path / "run"
    first = dense_run("detection", epochs=3)
    write_run(run, first[:8])  # start, epochs 1 and 2 (with previews), a step of epoch 3
    resumed = dense_run("detection", epochs=3)
    start = resumed[0]
    resumed_start = replace(start, resumed_step=2, resumed_epoch=1)
    later = [r for r in resumed[1:] if getattr(r, "step", 0) > 2]
    write_run(run, [resumed_start, *later])
    header = header_of(run)
    assert tuple(header) == (*METRIC_COLUMNS, "map", "map_50")
    rows = read_metrics(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # epoch 2 written once, after resuming
    assert [r["map_50"] for r in rows] == pytest.approx([0.2, 0.4, 0.6])


def test_a_metric_that_appears_later_gets_a_column_with_nan_before_it(tmp_path):
    run = tmp_path / "run"
    records = dense_run("segmentation", epochs=2)
    records = [replace(r, metrics={}) if getattr(r, "epoch", 0) == 1 and hasattr(r, "metrics")
               else r for r in records]
    write_run(run, records)
    rows = read_metrics(run)
    assert np.isnan(rows[0]["miou"]) and rows[1]["miou"] == pytest.approx(0.2)
    assert rows[0]["val_loss"] == pytest.approx(1.5)


@pytest.mark.parametrize("change, problem", [
    (lambda r: replace(r, images=r.images[..., 0]), "not uint8 N×H×W×3"),
    (lambda r: replace(r, scores=r.scores[:-1]), "one entry per image"),
    (lambda r: replace(r, labels=(r.labels[0][:-1], *r.labels[1:])), "boxes of image 1"),
    (lambda r: replace(r, true_boxes=(r.true_boxes[0][:, :3], *r.true_boxes[1:])),
     "true_boxes of image 1")])
def test_a_detection_preview_that_cannot_be_drawn_is_described(change, problem):
    assert preview_problem(detection_preview(count=2)) == ""
    assert problem in preview_problem(change(detection_preview(count=2)))


def test_a_segmentation_preview_needs_both_masks_as_uint8_class_ids():
    record = segmentation_preview(count=2)
    assert preview_problem(record) == ""
    assert "true_masks are None" in preview_problem(replace(record, true_masks=None))
    wide = replace(record, masks=record.masks.astype(np.int64))
    assert "masks are int64" in preview_problem(wide)
    assert "unknown task 'depth'" in preview_problem(replace(record, task="depth"))


def test_tensorboard_gets_a_scalar_per_task_metric():
    class Writer:
        def __init__(self):
            self.scalars = []

        def add_scalar(self, tag, value, step):
            self.scalars.append((tag, value, step))

        def flush(self):
            pass

        def close(self):
            pass

    writer = Writer()
    sink = TensorBoardSink("unused", writer)
    for record in dense_run("detection", epochs=2):
        sink.on_record(record)
    tags = [(t, v, s) for t, v, s in writer.scalars if t in ("val/map", "val/map_50")]
    assert tags == [("val/map", pytest.approx(0.1), 2), ("val/map_50", pytest.approx(0.2), 2),
                    ("val/map", pytest.approx(0.2), 4), ("val/map_50", pytest.approx(0.4), 4)]
