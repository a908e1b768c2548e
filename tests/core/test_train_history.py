"""The run model: a run directory read back gives the history its records built live; the
comparison of runs; checkpoints and statuses found by one set of functions."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from resnet_studio.train.compare import describe_differences, graph_differences
from resnet_studio.train.history import RunHistory
from resnet_studio.train.records import EpochRecord, RunEndRecord, RunStartRecord, StepRecord
from resnet_studio.train.rundir import (
    RunReadError,
    find_checkpoint,
    read_confusion,
    read_status,
    summarise,
)
from resnet_studio.train.sinks import RunDirSink

LAYERS = ("conv1", "bn1", "fc")


def records(steps: int = 12, per_epoch: int = 4, resumed: int = 0) -> list:
    """A run of ``steps`` steps with an epoch every ``per_epoch`` (from ``resumed`` on)."""
    data = {"class_names": ["a", "b"], "channels": 3, "height": 8, "width": 8}
    out: list = [RunStartRecord(LAYERS, ("Conv2d",) * 3, (1,) * 3, {"epochs": 3, "lr": 0.1},
                                data, {"nodes": []}, "cpu", 1, per_epoch, steps, resumed, None,
                                resumed_epoch=resumed // per_epoch)]
    rng = np.random.default_rng(resumed)
    for step in range(resumed + 1, steps + 1):
        norms = rng.uniform(0.1, 1.0, 3)
        norms[1] = np.inf if step == 5 else norms[1]  # a non-finite value round-trips as NaN
        out.append(StepRecord(step, (step - 1) // per_epoch + 1, 1.0 / step, step / steps,
                              0.1, 500.0, norms))
        if step % per_epoch == 0:
            epoch = step // per_epoch
            out.append(EpochRecord(epoch, step, 0.5, 0.6, 0.4 / epoch, 0.3 * epoch,
                                   np.array([[epoch, 1], [0, 3]]), True, 1.5))
    out.append(RunEndRecord("finished", "done", steps, steps // per_epoch))
    return out


def write_run(path, recs) -> None:
    sink = RunDirSink(path)
    for record in recs:
        sink.on_record(record)
    sink.close()


def assert_same_history(a: RunHistory, b: RunHistory) -> None:
    assert a.layer_names == b.layer_names and len(a) == len(b)
    for name in ("lr", "images_per_s", "epoch", "val_loss", "val_acc", "train_loss",
                 "train_acc"):
        np.testing.assert_allclose(getattr(a, name).x, getattr(b, name).x, err_msg=name)
        np.testing.assert_allclose(getattr(a, name).y, getattr(b, name).y, err_msg=name)
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(getattr(a, name).raw.y, getattr(b, name).raw.y)
        np.testing.assert_allclose(getattr(a, name).smooth.y, getattr(b, name).smooth.y)
    inf_as_nan = np.where(np.isfinite(a.grad_norms.array), a.grad_norms.array, np.nan)
    np.testing.assert_allclose(inf_as_nan, b.grad_norms.array)
    assert a.grad_norms.array.shape == (len(LAYERS), len(a))


def test_a_run_directory_reads_back_as_the_history_its_records_built(tmp_path):
    recs = records()
    write_run(tmp_path / "run", recs)
    live = RunHistory()
    live.append(recs)
    loaded = RunHistory.load(tmp_path / "run")
    assert_same_history(live, loaded)
    assert loaded.status == live.status == "finished"
    assert loaded.class_names == live.class_names == ["a", "b"]
    assert loaded.confusion.epoch == live.confusion.epoch == 3
    assert np.array_equal(loaded.confusion.matrix, live.confusion.matrix)
    assert loaded.best_epoch() == (3, pytest.approx(0.9))
    assert np.isnan(loaded.grad_norms.array[1, 4])  # the infinite norm of step 5


def test_a_resumed_run_reads_as_one_uninterrupted_history(tmp_path):
    run = tmp_path / "run"
    first = records()
    write_run(run, first[:13])  # stopped at step 10, two steps into epoch 3
    write_run(run, records(resumed=8))  # resumed from the checkpoint of step 8
    history = RunHistory.load(run)
    assert np.array_equal(history.steps, np.arange(1, 13))
    assert np.array_equal(history.val_loss.x, [4, 8, 12])
    up_to = RunHistory.load(run, up_to_step=8)
    assert np.array_equal(up_to.steps, np.arange(1, 9)) and up_to.val_loss.size == 2


def test_smoothing_is_one_moving_average_however_the_records_arrive():
    recs = records(steps=40, per_epoch=10)
    whole, pieces = RunHistory(smoothing=0.8), RunHistory(smoothing=0.8)
    whole.append(recs)
    for i in range(0, len(recs), 3):
        pieces.append(recs[i:i + 3])
    np.testing.assert_allclose(whole.loss.smooth.y, pieces.loss.smooth.y)
    pieces.set_smoothing(0.0)  # no smoothing: the raw values
    np.testing.assert_allclose(pieces.loss.smooth.y, pieces.loss.raw.y)
    assert not np.allclose(whole.loss.smooth.y, whole.loss.raw.y)


def test_the_metrics_csv_is_written_from_the_history(tmp_path):
    history = RunHistory()
    history.append(records())
    rows = list(csv.DictReader(io.StringIO(history.to_csv())))
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert [r["val_acc"] != "" for r in rows] == [s % 4 == 0 for s in range(1, 13)]
    assert float(rows[1]["loss"]) == 0.5 and float(rows[3]["val_loss"]) == pytest.approx(0.4)
    assert float(rows[1]["loss_smoothed"]) == pytest.approx(1.0 + 0.1 * (0.5 - 1.0))


def test_checkpoints_status_and_confusion_are_found_by_the_run_model(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(RunReadError, match="is not a run directory"):
        RunHistory.load(run)
    write_run(run, records())
    assert find_checkpoint(run) is None
    (run / "last.pt").write_bytes(b"")
    assert find_checkpoint(run) == run / "last.pt"
    (run / "best.pt").write_bytes(b"")
    assert find_checkpoint(run) == run / "best.pt"
    assert read_status(run)["status"] == "finished" and summarise(run).status == "finished"
    (run / "confusion.json").write_text(json.dumps({"epoch": 1}))
    with pytest.raises(RunReadError, match=r"confusion\.json is damaged"):
        read_confusion(run)


def test_differences_name_the_settings_and_the_changed_nodes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a, records())
    write_run(b, records())
    config = json.loads((b / "config.json").read_text())
    config["config"]["lr"] = 0.2
    (b / "config.json").write_text(json.dumps(config))
    graph = {"nodes": [{"id": "conv1", "type": "conv2d", "params": {"out_channels": 8}}]}
    (a / "graph.json").write_text(json.dumps(graph))
    graph["nodes"][0]["params"]["out_channels"] = 16
    (b / "graph.json").write_text(json.dumps(graph))
    text = describe_differences([a, b], ["a", "b"])
    assert "  lr: 0.1 | 0.2" in text and "epochs" not in text
    assert "conv1.out_channels: 8 → 16" in text
    assert describe_differences([a], ["a"]) == ""
    assert graph_differences([None, graph], ["a", "b"]) == []  # nothing to compare with
