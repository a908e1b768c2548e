"""Study results per configuration (seeds repeated): every number of the table, summary.csv
and the terminal table checked against numbers worked out independently from the run
directories' files; failed runs; a study planned before seeds were repeated; the warning when
nothing was learned, on both sides of its threshold."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from study_runs import EFFECTIVE, final, mean_and_half, seeded, write_run
from test_study_support import budget, staged_graph
from test_train_support import CLASSES

from resnet_studio.study.aggregate import CHANCE_MARGIN, NOTHING_LEARNED, ONE_SEED
from resnet_studio.study.kinds import plan_degradation, plan_sweep
from resnet_studio.study.report import table_cells, terminal_text
from resnet_studio.study.results import collect

SEEDS = [1, 2, 3]
# (train accuracy per epoch, validation accuracy per epoch) of each run; training and
# validation differ everywhere, and the best validation is not the last.
ACCS = {
    "residual-6": [([0.60, 0.90], [0.55, 0.80]), ([0.62, 0.93], [0.70, 0.78]),
                   ([0.58, 0.88], [0.52, 0.83])],
    "plain-6": [([0.55, 0.85], [0.50, 0.70]), ([0.50, 0.80], [0.45, 0.72]),
                ([0.52, 0.86], [0.66, 0.65])],
    "residual-10": [([0.70, 0.97], [0.60, 0.85]), ([0.72, 0.95], [0.61, 0.86]), None],
    "plain-10": [([0.40, 0.60], [0.38, 0.55]), ([0.42, 0.70], [0.40, 0.50]),
                 ([0.45, 0.65], [0.41, 0.58])],
}


@pytest.fixture
def seeded_study(tmp_path):
    """Degradation at depths 6 and 10 over three seeds; residual-10's third seed failed."""
    study = seeded(plan_degradation(staged_graph(), budget(), depths=(6, 10)), SEEDS)
    for label, runs in ACCS.items():
        for seed, accs in zip(SEEDS, runs):
            if accs is not None:
                write_run(tmp_path / "runs" / f"{label}-seed{seed}", *accs)
    (tmp_path / "state.json").write_text(json.dumps(
        {"runs": {"residual-10-seed3": {"status": "failed", "error": "out of memory"}}}))
    return study


def _expected(tmp_path, label):
    """Mean and half-interval of each measure of ``label``, from its files by hand."""
    folders = [tmp_path / "runs" / f"{label}-seed{s}" for s in SEEDS]
    folders = [f for f in folders if f.exists()]
    return {"train_error": mean_and_half([1 - final(f, "train_acc") for f in folders]),
            "val_error": mean_and_half([1 - final(f, "val_acc") for f in folders]),
            "best_val_acc": mean_and_half([final(f, "val_acc", best=True) for f in folders])}


def test_every_number_of_the_summary_comes_from_the_files(tmp_path, seeded_study):
    results = collect(seeded_study, tmp_path)
    assert [s.label for s in results.summary] == list(ACCS)
    for summary in results.summary:
        expected = _expected(tmp_path, summary.label)
        for measure, (mean, half) in expected.items():
            estimate = getattr(summary, measure)
            assert estimate.mean == pytest.approx(mean), (summary.label, measure)
            assert estimate.half == pytest.approx(half), (summary.label, measure)
        assert summary.values == {"depth": summary.values["depth"],
                                  "skip": summary.label.startswith("residual")}
    failed = results.summary[2]
    assert (failed.train_error.n, failed.failed, failed.finished, len(failed.runs)) == (2, 1, 2, 3)
    assert failed.status == "2 finished, 1 failed"
    assert results.summary[0].status == "finished" and results.summary[0].failed == 0


def test_the_training_error_is_not_the_validation_error(tmp_path, seeded_study):
    """The two differ in every run here, so taking one for the other cannot pass."""
    summary = collect(seeded_study, tmp_path).summary[0]
    train = [1 - final(tmp_path / "runs" / f"residual-6-seed{s}", "train_acc") for s in SEEDS]
    val = [1 - final(tmp_path / "runs" / f"residual-6-seed{s}", "val_acc") for s in SEEDS]
    assert summary.train_error.mean == pytest.approx(sum(train) / 3)
    assert abs(sum(train) / 3 - sum(val) / 3) > 0.05
    assert summary.val_error.mean == pytest.approx(sum(val) / 3)


def test_the_runs_table_keeps_one_row_per_seed_with_its_seed(tmp_path, seeded_study):
    results = collect(seeded_study, tmp_path)
    rows = list(csv.DictReader(io.StringIO(results.to_csv())))
    assert len(rows) == 12 and [r["seed"] for r in rows[:3]] == ["1", "2", "3"]
    assert {r["label"] for r in rows[:3]} == {"residual-6"}
    assert float(rows[1]["final_train_error"]) == pytest.approx(
        1 - final(tmp_path / "runs" / "residual-6-seed2", "train_acc"))


def test_summary_csv_and_the_terminal_table_show_the_same_numbers(tmp_path, seeded_study):
    results = collect(seeded_study, tmp_path)
    rows = list(csv.DictReader(io.StringIO(results.summary_csv())))
    headers, cells = table_cells(results)
    assert "train error" in headers and "val error" in headers
    train_col, val_col = headers.index("train error"), headers.index("val error")
    for row, cell, label in zip(rows, cells, ACCS):
        expected = _expected(tmp_path, label)
        assert row["label"] == cell[0] == label
        for measure in ("train_error", "val_error", "best_val_acc"):
            mean, half = expected[measure]
            assert float(row[f"{measure}_mean"]) == pytest.approx(mean, abs=1e-6)
            assert float(row[f"{measure}_ci95"]) == pytest.approx(half, abs=1e-6)
        for column, measure in ((train_col, "train_error"), (val_col, "val_error")):
            mean, half = expected[measure]
            assert cell[column] == f"{100 * mean:.1f} ± {100 * half:.1f} %"
    assert rows[2]["failed"] == "1" and rows[2]["finished"] == "2" and rows[2]["runs"] == "3"
    text = terminal_text(results)
    assert cells[0][train_col] in text and ONE_SEED not in text


def test_a_diverged_run_is_left_out_and_counted_as_failed(tmp_path):
    study = seeded(plan_sweep(staged_graph(), budget(), {"lr": [0.1]}), [1, 2, 3])
    write_run(tmp_path / "runs" / "lr-0.1-seed1", [0.5, 0.7], [0.4, 0.6])
    write_run(tmp_path / "runs" / "lr-0.1-seed2", [0.5, math.nan], [0.4, math.nan])
    write_run(tmp_path / "runs" / "lr-0.1-seed3", [0.5, 0.8], [0.4, 0.5])
    summary = collect(study, tmp_path).summary[0]
    assert (summary.val_error.n, summary.val_error.excluded, summary.failed) == (2, 1, 1)
    assert summary.val_error.mean == pytest.approx(mean_and_half([0.4, 0.5])[0])


def test_a_study_planned_before_seeds_has_one_configuration_per_run(tmp_path):
    """No "seeds" setting: a sweep of the seed keeps each seed its own configuration."""
    study = plan_sweep(staged_graph(), budget(), {"seed": [1, 2]})
    write_run(tmp_path / "runs" / "seed-1", [0.5, 0.7], [0.4, 0.6])
    write_run(tmp_path / "runs" / "seed-2", [0.5, 0.8], [0.4, 0.5])
    results = collect(study, tmp_path)
    assert [(s.label, s.values, s.val_error.n) for s in results.summary] == [
        ("seed=1", {"seed": 1}, 1), ("seed=2", {"seed": 2}, 1)]
    cells = table_cells(results)[1]
    assert cells[0][6] == "40.0 %" and math.isnan(results.summary[0].val_error.half)
    assert ONE_SEED in terminal_text(results)


# ----- nothing learned ------------------------------------------------------------------------
CHANCE = 1 - 1 / CLASSES


@pytest.mark.parametrize("val_errors, flagged", [
    ([CHANCE - CHANCE_MARGIN + 0.01, CHANCE + 0.02], True),     # both within 5 points
    ([CHANCE - CHANCE_MARGIN - 0.01, CHANCE + 0.02], False),    # one run learned a bit
    ([CHANCE - 0.3, CHANCE - 0.25], False),
])
def test_a_budget_that_learned_nothing_is_said_everywhere(tmp_path, val_errors, flagged):
    from resnet_studio.study.figures import draw_curves, draw_sweep, write_report

    study = seeded(plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1]}), [1])
    for spec, error in zip(study.runs, val_errors):
        write_run(tmp_path / "runs" / spec.name, [0.3, 0.3], [0.2, 1 - error])
    results = collect(study, tmp_path)
    assert results.nothing_learned is flagged
    write_report(results, tmp_path / "out")
    assert (NOTHING_LEARNED in terminal_text(results)) is flagged
    assert (NOTHING_LEARNED in (tmp_path / "out" / "report.md").read_text()) is flagged
    for draw in (draw_curves, draw_sweep):
        figure = draw(results)
        texts = [t.get_text() for t in figure.texts if t.get_visible()]
        assert (NOTHING_LEARNED in texts) is flagged
        assert any(EFFECTIVE in t for t in texts)


def test_runs_not_finished_do_not_count_towards_nothing_learned(tmp_path):
    study = plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1]})
    write_run(tmp_path / "runs" / "lr-0.01", [0.3], [0.25])
    write_run(tmp_path / "runs" / "lr-0.1", [0.3], [0.9], status="stopped")  # learned, unfinished
    assert collect(study, tmp_path).nothing_learned is True
    assert collect(plan_sweep(staged_graph(), budget(), {"lr": [0.5]}), tmp_path / "none") \
        .nothing_learned is False  # no finished run: nothing to say
