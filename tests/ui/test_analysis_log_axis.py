"""The analyses' log-scale axis carries numbers on any range: 1, 2 and 5 × each decade over a
few decades, decades only over many, and round values told apart by their digits on a range
narrower than one step of those (a loss between 1.12 and 1.18 got no number at all)."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_studio.ui.analyze.base import LogAxis, round_values


def ticks(axis: LogAxis, low: float, high: float) -> tuple[list[float], list[str]]:
    (_, values), = axis.logTickValues(np.log10(low), np.log10(high), 400, None)
    return [float(10 ** v) for v in values], axis.logTickStrings(values, 1.0, None)


def test_a_narrow_range_gets_round_values_with_distinct_labels(qtbot):
    axis = LogAxis("left")
    values, labels = ticks(axis, 1.1198, 1.1803)
    assert values == pytest.approx([1.12, 1.14, 1.16, 1.18])
    assert labels == ["1.12", "1.14", "1.16", "1.18"]


def test_wider_ranges_keep_the_one_two_five_and_decade_ticks(qtbot):
    axis = LogAxis("left")
    values, _ = ticks(axis, 0.03, 3.0)
    assert values == pytest.approx([0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
    values, _ = ticks(axis, 1e-4, 1e2)  # six decades: each decade once
    assert values == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.0102, 0.0138, [0.011, 0.012, 0.013]),
    (3.0, 4.0, [3.0, 3.5, 4.0]),  # at most about four: 0.25 apart rounds up to 0.5
])
def test_round_values_are_one_two_or_five_steps(low, high, expected):
    assert round_values(low, high) == pytest.approx(expected)
