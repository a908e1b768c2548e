"""The sampled mutation score of benchmarks/mutation.py: the Wilson interval it reports for the
whole scope and the stratified, seeded sample it draws."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from mutation import stratified_sample, wilson_interval


def test_wilson_interval_matches_the_hand_computed_value():
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416 = 0.71674,
    # half 1.96 * sqrt(0.016 + 0.009604) / 1.38416 = 0.22658
    low, high = wilson_interval(8, 10, z=1.96)
    assert low == pytest.approx(0.49016, abs=1e-4)
    assert high == pytest.approx(0.94332, abs=1e-4)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (137, 150), (1, 3)])
def test_wilson_interval_agrees_with_scipy_and_bounds_zero_and_all(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-9)
    if k == 0:  # no success: the upper bound is z^2 / (n + z^2), not 0 as the Wald one is
        assert low == 0 and high == pytest.approx(1.959964**2 / (n + 1.959964**2), abs=1e-6)


def test_wilson_interval_rejects_no_trials():
    with pytest.raises(ValueError, match="trials"):
        wilson_interval(0, 0)


def _names():
    return ([f"a.m.x_f__mutmut_{i}" for i in range(600)]
            + [f"b.m.x_g__mutmut_{i}" for i in range(300)]
            + [f"c.m.x_h__mutmut_{i}" for i in range(100)] + ["other.x_k__mutmut_1"])


def test_the_sample_is_split_in_proportion_to_each_part_and_repeats_with_its_seed():
    names = _names()
    sample = stratified_sample(names, 50, seed=7, strata=("a.", "b.", "c."))
    assert len(sample) == len(set(sample)) == 50 and set(sample) <= set(names)
    assert Counter(n[0] for n in sample) == {"a": 30, "b": 15, "c": 5}
    assert sample == stratified_sample(list(reversed(names)), 50, seed=7, strata=("a.", "b.", "c."))
    assert sample != stratified_sample(names, 50, seed=8, strata=("a.", "b.", "c."))
    assert set(sample) < set(stratified_sample(names, 80, seed=7, strata=("a.", "b.", "c.")))


def test_the_largest_remainders_take_the_seats_rounding_leaves():
    # quotas 7 * 600/1000 = 4.2, 7 * 300/1000 = 2.1, 7 * 100/1000 = 0.7: c takes the last seat
    sample = stratified_sample(_names(), 7, seed=1, strata=("a.", "b.", "c."))
    assert Counter(n[0] for n in sample) == {"a": 4, "b": 2, "c": 1}
    assert len(stratified_sample(_names(), 5000, seed=1, strata=("a.", "b.", "c."))) == 1000
