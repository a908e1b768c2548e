"""Means with 95 % intervals and Welch's t-test, checked against textbook numbers and the
formulas worked by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from resnet_studio.study.stats import CANNOT_TELL, compare, mean_ci


def test_the_interval_of_a_textbook_sample():
    # mean 5, sample sd sqrt(32/7); t(0.975, 7 dof) = 2.365 from the printed table.
    estimate = mean_ci([2, 4, 4, 4, 5, 5, 7, 9])
    assert estimate.mean == 5.0 and estimate.n == 8 and estimate.excluded == 0
    assert estimate.half == pytest.approx(2.365 * math.sqrt(32 / 7) / math.sqrt(8), abs=2e-3)


def test_the_interval_of_three_values_by_hand():
    values = [0.12, 0.10, 0.17]
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    estimate = mean_ci(values)
    assert estimate.mean == pytest.approx(mean)
    assert estimate.half == pytest.approx(sp.t.ppf(0.975, 2) * sd / math.sqrt(3))
    assert (estimate.low, estimate.high) == pytest.approx((mean - estimate.half,
                                                           mean + estimate.half))
    assert estimate.percent() == f"{100 * mean:.1f} ± {100 * estimate.half:.1f} %"


def test_failed_runs_are_left_out_and_counted():
    estimate = mean_ci([0.2, math.nan, 0.4, math.nan])
    assert (estimate.n, estimate.excluded) == (2, 2)
    assert estimate.mean == pytest.approx(0.3)
    assert estimate.half == pytest.approx(sp.t.ppf(0.975, 1) * math.sqrt(0.02) / math.sqrt(2))


def test_one_value_has_no_interval_and_none_has_no_mean():
    one = mean_ci([0.25, math.nan])
    assert one.mean == 0.25 and math.isnan(one.half) and (one.n, one.excluded) == (1, 1)
    assert one.percent() == "25.0 % (one seed)"
    none = mean_ci([math.nan])
    assert math.isnan(none.mean) and none.n == 0 and none.percent() == "—"


def test_equal_values_have_a_zero_width_interval():
    estimate = mean_ci([0.3, 0.3, 0.3])
    assert estimate.mean == pytest.approx(0.3) and estimate.half == pytest.approx(0.0, abs=1e-12)


# ----- Welch's t-test -------------------------------------------------------------------------
A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_welch_on_the_textbook_example():
    # Welch (1947) as worked in the usual reference example: t = -2.46, 27.9 dof, p = 0.021.
    result = compare(A1, A2)
    assert result.p_value == pytest.approx(0.021, abs=6e-4)
    assert result.significant is True and result.verdict == "significant (p = 0.021)"
    assert result.difference == pytest.approx(sum(A1) / 15 - sum(A2) / 15)


def test_welch_by_hand():
    a, b = [0.10, 0.12, 0.15, 0.11], [0.13, 0.18, 0.16]
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    t = (ma - mb) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    result = compare(a, b)
    assert result.p_value == pytest.approx(2 * sp.t.sf(abs(t), dof))
    assert result.half == pytest.approx(sp.t.ppf(0.975, dof) * math.sqrt(va + vb))
    assert result.difference == pytest.approx(ma - mb)
    assert result.significant is (result.p_value < 0.05)


def test_overlapping_samples_are_not_significant():
    result = compare([0.10, 0.14, 0.12], [0.11, 0.15, 0.12])
    assert result.significant is False and result.p_value > 0.5
    assert result.verdict.startswith("not significant") and "could be noise" in result.verdict


def test_one_seed_on_either_side_cannot_tell():
    for a, b in (([0.1], [0.2, 0.3]), ([0.1, 0.2], [0.3, math.nan])):
        result = compare(a, b)
        assert result.significant is None and math.isnan(result.p_value)
        assert result.verdict == CANNOT_TELL
    assert compare([0.1], [0.3]).difference == pytest.approx(-0.2)


def test_no_spread_on_either_side_is_exact_and_raises_no_warning():
    differ = compare([0.2, 0.2], [0.5, 0.5])
    assert (differ.p_value, differ.significant, differ.half) == (0.0, True, 0.0)
    same = compare([0.2, 0.2], [0.2, 0.2])
    assert (same.p_value, same.significant) == (1.0, False)
    one_side = compare([0.9, 0.9, 0.9], [0.8, 0.85, 0.82])  # scipy warns here unless told
    mb = (0.8 + 0.85 + 0.82) / 3
    sb = math.sqrt(sum((x - mb) ** 2 for x in (0.8, 0.85, 0.82)) / 2 / 3)
    assert one_side.p_value == pytest.approx(2 * sp.t.sf((0.9 - mb) / sb, 2), rel=1e-6)


def test_failed_runs_are_left_out_of_the_test():
    with_nan = compare([0.1, math.nan, 0.12, 0.11], [0.2, 0.22, math.nan])
    without = compare([0.1, 0.12, 0.11], [0.2, 0.22])
    assert with_nan.p_value == pytest.approx(without.p_value)
    assert (with_nan.n, with_nan.baseline_n) == (3, 2)
