"""How sure a study's numbers are: the mean of repeated runs (seeds) with its 95 % confidence
interval, and Welch's t-test of a configuration against a baseline.

    estimate = mean_ci([0.12, 0.10, 0.14])       # 0.12 ± 0.0497 (Student t, 2 dof)
    versus = compare([0.12, 0.10, 0.14], [0.20, 0.22, 0.19])
    versus.verdict                                # "significant (p = 0.003)"

Failed runs give NaN; they are left out of every number and counted (``excluded``). One value
gives a mean but no interval (NaN: "one seed"), and a comparison needs two values on each side
or it "cannot tell".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
ONE_SEED = "one seed"
CANNOT_TELL = "cannot tell (fewer than 2 seeds on a side)"


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` finite values with the half-width of its 95 % interval (NaN with
    fewer than two values); ``excluded`` counts the NaN values (failed runs) left out."""

    mean: float
    half: float
    n: int
    excluded: int = 0

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def percent(self, digits: int = 1) -> str:
        """``12.3 ± 1.1 %`` (values are fractions); ``12.3 % (one seed)``; ``—`` without any."""
        if self.n == 0:
            return "—"
        if math.isnan(self.half):
            return f"{100 * self.mean:.{digits}f} % ({ONE_SEED})"
        return f"{100 * self.mean:.{digits}f} ± {100 * self.half:.{digits}f} %"


def finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray([float(v) for v in values], dtype=float)
    return array[np.isfinite(array)]


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean and Student-t interval (n − 1 degrees of freedom) of the finite ``values``."""
    from scipy import stats

    kept = finite(values)
    n, excluded = len(kept), len(values) - len(kept)
    if n == 0:
        return Estimate(math.nan, math.nan, 0, excluded)
    mean = float(kept.mean())
    if n == 1:
        return Estimate(mean, math.nan, 1, excluded)
    spread = float(kept.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * spread / math.sqrt(n)
    return Estimate(mean, half, n, excluded)


@dataclass(frozen=True)
class Comparison:
    """``values`` against ``baseline``: the difference of the means (values − baseline) with
    its Welch interval, the p-value of Welch's t-test and whether p < 0.05. ``significant``
    is None when it cannot be told (fewer than two values on a side)."""

    difference: float
    half: float
    p_value: float
    significant: bool | None
    n: int
    baseline_n: int

    @property
    def verdict(self) -> str:
        if self.significant is None:
            return CANNOT_TELL
        if self.significant:
            return f"significant ({format_p(self.p_value)})"
        return f"not significant ({format_p(self.p_value)}: could be noise)"


def format_p(p: float) -> str:
    """``p = 0.021``; ``p < 0.001``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def compare(values: Sequence[float], baseline: Sequence[float],
            alpha: float = ALPHA) -> Comparison:
    """Welch's t-test (unequal variances) of ``values`` against ``baseline``, NaNs left out.

    With no spread on either side scipy has no answer (0/0); the difference is then exact:
    p = 0 when the means differ, 1 when they are equal."""
    a, b = finite(values), finite(baseline)
    difference = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return Comparison(difference, math.nan, math.nan, None, len(a), len(b))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va == 0 and vb == 0:
        p = 0.0 if difference != 0 else 1.0
        return Comparison(difference, 0.0, p, p < alpha, len(a), len(b))
    p = _welch_p(a, b)
    return Comparison(difference, _welch_half(va, vb, len(a), len(b)), p, p < alpha,
                      len(a), len(b))


def _welch_p(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    with warnings.catch_warnings():
        # Identical values on one side make scipy warn of "catastrophic cancellation" while
        # its answer (from the other side's spread) is right.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _welch_half(va: float, vb: float, na: int, nb: int,
                confidence: float = CONFIDENCE) -> float:
    """Half-width of the interval of a difference of means, Welch–Satterthwaite dof."""
    from scipy import stats

    se2 = va + vb
    dof = se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(se2)
