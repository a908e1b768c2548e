"""report.md and the findings: the sentence that matters and each comparison against the
baseline, their numbers checked against Welch's test and the means worked out by hand from
hand-made run directories."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats as sp
from study_runs import EFFECTIVE, final, seeded, write_run
from test_study_support import budget, staged_graph

from resnet_studio.cli import main
from resnet_studio.study.aggregate import ONE_SEED
from resnet_studio.study.kinds import plan_degradation, plan_twin, plan_variants
from resnet_studio.study.report import comparisons, findings, headline, markdown, points
from resnet_studio.study.results import collect

SEEDS = [1, 2, 3]


def _welch(a, b):
    """Difference of means, half-width of its 95 % interval and p, by the formulas."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    diff = statistics.fmean(a) - statistics.fmean(b)
    return diff, sp.t.ppf(0.975, dof) * math.sqrt(va + vb), 2 * sp.t.sf(
        abs(diff) / math.sqrt(va + vb), dof)


def _p(p):
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _errors(tmp_path, label, column):
    return [1 - final(tmp_path / "runs" / f"{label}-seed{s}", column) for s in SEEDS]


# ----- degradation ----------------------------------------------------------------------------
TRAIN = {"residual-6": [0.95, 0.94, 0.96], "plain-6": [0.95, 0.97, 0.96],
         "residual-10": [0.96, 0.95, 0.97], "plain-10": [0.70, 0.74, 0.72]}


@pytest.fixture
def degradation(tmp_path):
    study = seeded(plan_degradation(staged_graph(), budget(), depths=(6, 10)), SEEDS)
    for label, accs in TRAIN.items():
        for seed, acc in zip(SEEDS, accs):
            write_run(tmp_path / "runs" / f"{label}-seed{seed}", [0.5, acc], [0.5, acc - 0.1])
    return collect(study, tmp_path)


def test_the_degradation_sentence_gives_the_ratios_of_training_error(tmp_path, degradation):
    mean = {label: statistics.fmean(_errors(tmp_path, label, "train_acc")) for label in TRAIN}
    expected = (f"plain-10's training error is ×{mean['plain-10'] / mean['plain-6']:.1f} "
                f"plain-6's ({100 * mean['plain-10']:.1f} % vs {100 * mean['plain-6']:.1f} %), "
                f"while residual-10's is ×{mean['residual-10'] / mean['residual-6']:.1f} "
                f"residual-6's ({100 * mean['residual-10']:.1f} % vs "
                f"{100 * mean['residual-6']:.1f} %).")
    assert headline(degradation) == expected
    assert "×7.0" in expected and "×0.8" in expected  # the data were made so


def test_residual_against_plain_at_each_depth_with_welch(tmp_path, degradation):
    found = comparisons(degradation)
    assert [(f.config.label, f.baseline.label, f.measure) for f in found] == [
        ("residual-6", "plain-6", "train_error"), ("residual-6", "plain-6", "val_error"),
        ("residual-10", "plain-10", "train_error"), ("residual-10", "plain-10", "val_error")]
    diff, half, p = _welch(_errors(tmp_path, "residual-10", "train_acc"),
                           _errors(tmp_path, "plain-10", "train_acc"))
    deep = found[2]
    assert deep.comparison.difference == pytest.approx(diff)
    assert deep.comparison.half == pytest.approx(half)
    assert deep.comparison.p_value == pytest.approx(p)
    assert f"difference −{100 * -diff:.1f} points" in deep.text()
    assert deep.text().endswith(f"significant ({_p(p)})") and p < 0.05
    shallow = found[0]  # 5.0 % against 4.0 % from three seeds each: not told apart
    assert shallow.comparison.significant is False
    assert "not significant" in shallow.text() and "could be noise" in shallow.text()


def test_report_md_holds_settings_sentence_table_and_comparisons(tmp_path, degradation):
    text = markdown(degradation)
    assert f"Training: {EFFECTIVE}" in text
    assert headline(degradation) in text
    header = next(line for line in text.splitlines() if line.startswith("| run"))
    assert "train error" in header and "val error" in header
    train = _errors(tmp_path, "plain-10", "train_acc")
    half = sp.t.ppf(0.975, 2) * statistics.stdev(train) / math.sqrt(3)
    row = next(line for line in text.splitlines() if line.startswith("| plain-10 "))
    assert f"{100 * statistics.fmean(train):.1f} ± {100 * half:.1f} %" in row
    assert "- residual-10 vs plain-10: training error" in text
    assert ONE_SEED not in text


# ----- variants and twin ----------------------------------------------------------------------
VAL = {"basicblock": [0.80, 0.82, 0.81], "fusionblock": [0.90, 0.91, 0.92],
       "preactblock": [0.83, 0.80, 0.84]}


def _variants(tmp_path, baseline=None):
    study = seeded(plan_variants(staged_graph(), budget(), tuple(VAL)), SEEDS)
    if baseline:
        study.settings["baseline"] = baseline
    for block, accs in VAL.items():
        for seed, acc in zip(SEEDS, accs):
            write_run(tmp_path / "runs" / f"{block}-seed{seed}", [0.9, 0.95], [0.5, acc])
    return collect(study, tmp_path)


@pytest.mark.parametrize("baseline, expected", [(None, "basicblock"),
                                                ("preactblock", "preactblock")])
def test_variants_compare_the_best_with_the_baseline(tmp_path, baseline, expected):
    results = _variants(tmp_path, baseline)
    titles = {s.values["block"]: s.label for s in results.summary}
    found = comparisons(results)
    assert {f.baseline.label for f in found} == {titles[expected]}
    diff, half, p = _welch(_errors(tmp_path, "fusionblock", "val_acc"),
                           _errors(tmp_path, expected, "val_acc"))
    sentence = headline(results)
    assert sentence.startswith(f"Best against the baseline: {titles['fusionblock']} vs "
                               f"{titles[expected]}: validation error")
    assert f"difference −{100 * -diff:.1f} points (95 % CI −{100 * -(diff - half):.1f} to " \
           f"−{100 * -(diff + half):.1f})" in sentence
    assert sentence.endswith(f": significant ({_p(p)}).")


def test_the_twin_sentence_is_residual_against_plain_and_one_seed_cannot_tell(tmp_path):
    study = plan_twin(staged_graph(), budget())  # planned before seeds: one run each
    write_run(tmp_path / "runs" / "residual", [0.9, 0.95], [0.6, 0.85])
    write_run(tmp_path / "runs" / "plain", [0.9, 0.92], [0.6, 0.80])
    results = collect(study, tmp_path)
    sentence = headline(results)
    assert sentence.startswith("tiny (residual) vs tiny plain twin (no skips): validation "
                               "error 15.0 % (one seed) vs 20.0 % (one seed), difference "
                               "−5.0 points: cannot tell")
    assert ONE_SEED in findings(results)


def test_experiment_report_writes_report_md(tmp_path, capsys, degradation):
    degradation.study.save(tmp_path)
    assert main(["experiment", "report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert headline(degradation) in out and "report.md" in out
    assert (tmp_path / "report.md").read_text() == markdown(degradation)


@pytest.mark.parametrize(("fraction", "text"), [(0.012, "+1.2"), (-0.004, "−0.4"),
                                                (0.0, "+0.0"), (-0.25, "−25.0")])
def test_a_difference_is_signed_percentage_points(fraction, text):
    assert points(fraction) == text
