"""Study results: reading run directories, the table, sorting, CSV/JSON, the Pareto front and
the figures written from them."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from test_study_support import budget, staged_graph

from resnet_studio.study.figures import smooth, write_report
from resnet_studio.study.kinds import plan_degradation, plan_sweep, plan_variants
from resnet_studio.study.results import collect, pareto_front, read_run, steps_to

METRICS = "epoch,step,train_loss,train_acc,val_loss,val_acc,lr,best,duration\n"


def _fake_run(folder, val_accs, train_accs=None, status="finished", steps_per_epoch=5):
    """A run directory as RunDirSink writes it, with chosen accuracies."""
    folder.mkdir(parents=True)
    train_accs = train_accs or val_accs
    rows = [f"{e + 1},{(e + 1) * steps_per_epoch},1.0,{t},1.0,{v},0.1,0,2.5"
            for e, (t, v) in enumerate(zip(train_accs, val_accs))]
    (folder / "metrics.csv").write_text(METRICS + "\n".join(rows) + "\n")
    steps = [json.dumps({"step": s, "loss": 1.0 / s, "accuracy": min(1.0, s / 20)})
             for s in range(1, steps_per_epoch * len(val_accs) + 1)]
    (folder / "steps.jsonl").write_text("\n".join(steps) + '\n{"step": 99, "lo')  # torn line
    if status:
        (folder / "status.json").write_text(json.dumps({"status": status, "message": "m"}))


# ----- reading a run --------------------------------------------------------------------------
def test_read_run_reads_steps_epochs_and_status(tmp_path):
    _fake_run(tmp_path / "r", [0.5, 0.8], [0.4, 0.7])
    run = read_run(tmp_path / "r")
    assert list(run.step) == list(range(1, 11))  # the torn last line is skipped
    assert list(run.val_acc) == [0.5, 0.8] and list(run.train_acc) == [0.4, 0.7]
    assert list(run.epoch_step) == [5, 10] and run.seconds == 5.0
    assert run.status == "finished"


def test_read_run_of_a_missing_or_interrupted_directory(tmp_path):
    assert read_run(tmp_path / "nothing").status == "pending"
    _fake_run(tmp_path / "r", [0.5], status=None)
    assert read_run(tmp_path / "r").status == "stopped"


def test_read_run_of_a_run_that_failed_before_its_first_step(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"config": {}, "layers": []}))
    (run_dir / "status.json").write_text(json.dumps({"status": "failed", "message": "bad"}))
    run = read_run(run_dir)
    assert (run.status, run.message, len(run.step), len(run.val_acc)) == ("failed", "bad", 0, 0)


def test_steps_to_target_is_the_first_epoch_that_reaches_it(tmp_path):
    _fake_run(tmp_path / "r", [0.5, 0.91, 0.89, 0.95])
    run = read_run(tmp_path / "r")
    assert steps_to(run, 0.9) == 10
    assert steps_to(run, 0.96) is None


# ----- the table ------------------------------------------------------------------------------
def _study_with_runs(tmp_path):
    study = plan_degradation(staged_graph(), budget(), depths=(6, 10))
    accs = {"residual-6": [0.5, 0.7], "plain-6": [0.5, 0.6], "residual-10": [0.6, 0.9]}
    for name, values in accs.items():
        _fake_run(tmp_path / "runs" / name, values)
    (tmp_path / "state.json").write_text(json.dumps(
        {"runs": {"plain-10": {"status": "failed", "error": "out of memory"}}}))
    return study


def test_the_table_has_one_row_per_run_with_values_costs_and_errors(tmp_path):
    results = collect(_study_with_runs(tmp_path), tmp_path)
    rows = {r["label"]: r for r in results.rows}
    assert list(rows) == ["residual-6", "plain-6", "residual-10", "plain-10"]
    assert list(results.rows[0])[:3] == ["label", "depth", "skip"]
    r10 = rows["residual-10"]
    assert r10["final_val_acc"] == 0.9 and r10["best_val_acc"] == 0.9
    assert r10["final_train_error"] == pytest.approx(0.1) and r10["steps"] == 10
    assert rows["residual-6"]["params"] == rows["plain-6"]["params"] > 0  # option A twins
    assert rows["residual-10"]["macs"] > rows["residual-6"]["macs"]
    failed = rows["plain-10"]
    assert failed["status"] == "failed" and failed["error"] == "out of memory"
    assert math.isnan(failed["final_val_acc"]) and failed["steps_to_target"] is None


def test_sorting_puts_missing_values_last_either_way(tmp_path):
    results = collect(_study_with_runs(tmp_path), tmp_path)
    up = [r["label"] for r in results.sorted_rows("final_val_acc")]
    down = [r["label"] for r in results.sorted_rows("final_val_acc", descending=True)]
    assert up == ["plain-6", "residual-6", "residual-10", "plain-10"]
    assert down == ["residual-10", "residual-6", "plain-6", "plain-10"]
    assert next(r["label"] for r in results.sorted_rows("label")) == "plain-10"


def test_csv_and_json_hold_the_table(tmp_path):
    results = collect(_study_with_runs(tmp_path), tmp_path)
    rows = list(csv.DictReader(io.StringIO(results.to_csv())))
    assert [r["label"] for r in rows] == [r["label"] for r in results.rows]
    assert rows[2]["final_val_acc"] == "0.9" and rows[3]["final_val_acc"] == ""
    assert rows[3]["error"] == "out of memory"
    data = json.loads(results.to_json())
    assert data["kind"] == "degradation" and data["rows"][3]["final_val_acc"] == ""
    assert data["rows"][0]["skip"] is True


# ----- Pareto front ---------------------------------------------------------------------------
def test_pareto_front_keeps_points_nothing_beats():
    cost = [10, 20, 15, 30, 25, 5]
    acc = [0.80, 0.85, 0.70, 0.90, 0.85, 0.60]
    # 15 (worse and dearer than 10) and 25 (as good as 20, dearer) are dominated.
    assert pareto_front(cost, acc) == [5, 0, 1, 3]


def test_pareto_front_ignores_missing_points_and_ties_in_cost():
    assert pareto_front([1, 1, 2], [0.5, 0.7, math.nan]) == [1]
    assert pareto_front([], []) == []


# ----- figures --------------------------------------------------------------------------------
def test_smooth_keeps_length_and_averages():
    values = np.array([0.0, 10.0] * 50)
    smoothed = smooth(values)
    assert len(smoothed) == 100 and np.all(np.abs(smoothed[10:-10] - 5.0) < 1.0)


def test_smooth_is_the_centred_moving_average_with_edges_held():
    values = np.random.default_rng(3).normal(size=1001)
    window = 101  # 10 % of the points, odd
    padded = np.concatenate((np.full(50, values[0]), values, np.full(50, values[-1])))
    expected = [padded[i:i + window].mean() for i in range(len(values))]
    assert smooth(values) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("kind", ["degradation", "variants", "sweep"])
def test_the_report_writes_the_table_and_each_kinds_figures(tmp_path, kind):
    if kind == "degradation":
        study = _study_with_runs(tmp_path)
        figures = {"curves", "degradation"}
    else:
        study = (plan_variants(staged_graph(), budget(), ("basicblock", "fusionblock"))
                 if kind == "variants" else
                 plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1]}))
        for i, spec in enumerate(study.runs):
            _fake_run(tmp_path / "runs" / spec.name, [0.5, 0.6 + 0.1 * i])
        figures = {"curves", "pareto", "pareto_macs"} | ({"sweep"} if kind == "sweep" else
                                                          {"errors"})
    written = write_report(collect(study, tmp_path), tmp_path / "out")
    names = {p.name for p in written}
    assert {"results.csv", "summary.csv", "results.json", "report.md"} <= names
    for figure in figures:
        png = tmp_path / "out" / f"{figure}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert (tmp_path / "out" / f"{figure}.svg").read_text().lstrip().startswith("<?xml")
    assert len(names) == 4 + 2 * len(figures)


def test_a_failed_run_without_a_recorded_error_keeps_its_own_message(tmp_path):
    study = plan_degradation(staged_graph(), budget(), depths=(6,))
    folder = tmp_path / "runs" / "plain-6"
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"status": "failed", "message": "bad"}))
    (tmp_path / "state.json").write_text(json.dumps({"runs": {"plain-6": {"status": "failed"}}}))
    rows = {r["label"]: r for r in collect(study, tmp_path).rows}
    assert (rows["plain-6"]["status"], rows["plain-6"]["error"]) == ("failed", "bad")


def test_an_empty_summary_keeps_the_columns_of_a_full_one(tmp_path):
    from resnet_studio.study.aggregate import summary_csv

    full = collect(_study_with_runs(tmp_path), tmp_path).summary_csv().splitlines()
    assert len(full) == 1 + 4  # the header, then one line per configuration
    # the same measures; only the columns of the values a study varies (depth, skip) go
    empty = summary_csv([]).splitlines()
    assert empty == [full[0].replace("depth,skip,", "")]
