"""The buffers behind the live plots and the reading of run directories (NumPy and files
only): growth by doubling, bounded heatmap history, smoothing across NaN, partial files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from resnet_studio.train.compare import config_differences
from resnet_studio.train.history import RunHistory, Series, ema
from resnet_studio.train.rundir import RunReadError, summarise
from resnet_studio.ui.train.series import LayerHistory


def test_series_grows_by_doubling_and_keeps_its_points():
    series = Series(capacity=4)
    series.extend(np.arange(3.0), np.arange(3.0) * 2)
    assert series.capacity == 4
    series.extend(np.arange(3.0, 9.0), np.arange(3.0, 9.0) * 2)
    assert series.capacity == 16 and series.size == 9
    assert np.array_equal(series.y, np.arange(9.0) * 2)
    assert series.nearest(4.4) == (4.0, 8.0) and series.nearest(100) == (8.0, 16.0)
    series.clear()
    assert series.nearest(1.0) is None and series.capacity == 16


def test_layer_history_is_the_same_whatever_the_batches_and_stays_bounded():
    rng = np.random.default_rng(1)
    rows = rng.uniform(size=(1000, 3))
    steps = np.arange(1, 1001)
    whole = LayerHistory(3, columns=16)
    whole.append(steps, rows)
    pieces = LayerHistory(3, columns=16)
    start = 0
    for size in rng.integers(1, 40, size=200):
        pieces.append(steps[start:start + size], rows[start:start + size])
        start += size
        if start >= 1000:
            break
    assert (whole.used, whole.stride) == (pieces.used, pieces.stride) == (15, 64)
    np.testing.assert_allclose(whole.matrix, pieces.matrix)
    # each column is the mean of its `stride` steps; the steps after the last full column wait
    np.testing.assert_allclose(whole.matrix[:, 2], rows[128:192].mean(axis=0))
    assert whole.column_steps(2) == (129, 192)


def test_layer_history_keeps_non_finite_values_visible():
    history = LayerHistory(2, columns=4)
    values = np.ones((16, 2))
    values[5, 1] = np.inf
    history.append(np.arange(1, 17), values)
    assert history.stride == 8 and history.used == 2
    assert np.isinf(history.matrix[1, 0]) and np.isfinite(history.matrix[0]).all()


def test_ema_skips_non_finite_values_and_continues_from_a_state():
    out = ema(np.array([1.0, np.nan, 3.0, np.inf, 5.0]), 0.5)
    np.testing.assert_allclose(out, [1.0, 1.0, 2.0, 2.0, 3.5])
    np.testing.assert_allclose(ema(np.array([4.0]), 0.5, start=2.0), [3.0])
    assert math.isnan(ema(np.array([np.nan]), 0.5)[0])


def test_a_partial_run_directory_reads_what_is_there(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(RunReadError, match="not a run directory"):
        summarise(run)
    (run / "config.json").write_text(json.dumps({"config": {"epochs": 5, "lr": 0.1},
                                                 "layers": ["a", "b"]}))
    lines = [json.dumps({"step": s, "epoch": 1, "loss": 1.0 / s, "accuracy": 0.5, "lr": 0.1,
                         "grad_norms": [0.1 * s, None]}) for s in (1, 2, 3)]
    (run / "steps.jsonl").write_text("\n".join(lines) + '\n{"step": 4, "los')  # being written
    (run / "metrics.csv").write_text("epoch,step,train_loss,train_acc,val_loss,val_acc,lr,best,"
                                     "duration\n1,3,0.9,0.5,0.8,0.6,0.1,1,2.5\n2,6,0.7")
    summary = summarise(run)
    assert (summary.status, summary.epochs_done, summary.epochs) == ("incomplete", 1, 5)
    assert summary.best_val_acc == 0.6 and summary.duration == 2.5
    history = RunHistory.load(run)
    assert np.array_equal(history.steps, [1, 2, 3]) and history.layer_names == ("a", "b")
    np.testing.assert_allclose(history.grad_norms.array[0], [0.1, 0.2, 0.3])
    assert np.isnan(history.grad_norms.array[1]).all()  # non-finite values are stored as null
    assert np.array_equal(RunHistory.load(run, up_to_step=2).steps, [1, 2])


def test_config_differences_list_only_what_differs():
    a = {"lr": 0.1, "data": {"dataset": "synthetic", "seed": 0}, "milestones": [1, 2]}
    b = {"lr": 0.05, "data": {"dataset": "synthetic", "seed": 1}, "milestones": [1, 2]}
    assert config_differences([a, b]) == [("data.seed", [0, 1]), ("lr", [0.1, 0.05])]
