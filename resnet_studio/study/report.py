"""What a study found, in words: the one comparison that matters, each configuration against
the baseline with its interval and significance, the table, and report.md.

    lines = findings(results)          # the headline first, then notes and comparisons
    write_markdown(results, folder / "report.md")

The baseline: variants — ``settings["baseline"]`` (the project's own block type) when the
plan names it and it was run, else the first variant; twin — the plain twin; degradation —
the plain network at each depth. Differences are "this configuration − baseline", in points
of error (negative: fewer errors than the baseline).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import write_text_atomic
from ..summary import format_table, human_count
from .aggregate import NOTHING_LEARNED, ONE_SEED, ConfigSummary, one_seed
from .results import StudyResults
from .stats import Comparison, Estimate, compare

MEASURE_TITLES = {"train_error": "training error", "val_error": "validation error"}
HEADERS = ("run", "status", "seeds", "params", "MACs", "train error", "val error",
           "best val acc", "steps to target")


@dataclass(frozen=True)
class Finding:
    """``config`` against ``baseline`` on one measure."""

    config: ConfigSummary
    baseline: ConfigSummary
    measure: str
    comparison: Comparison

    def text(self) -> str:
        a, b = getattr(self.config, self.measure), getattr(self.baseline, self.measure)
        c = self.comparison
        head = (f"{self.config.label} vs {self.baseline.label}: "
                f"{MEASURE_TITLES[self.measure]} {a.percent()} vs {b.percent()}")
        if math.isnan(c.difference):
            return f"{head}: no finished runs to compare"
        interval = ("" if math.isnan(c.half) else
                    f" (95 % CI {points(c.difference - c.half)} to "
                    f"{points(c.difference + c.half)})")
        return f"{head}, difference {points(c.difference)} points{interval}: {c.verdict}"


def points(fraction: float) -> str:
    """A difference of fractions in percentage points, signed: ``+1.2``, ``−0.4``."""
    value = 100 * fraction
    return f"{'−' if value < 0 else '+'}{abs(value):.1f}"


def versus(config: ConfigSummary, baseline: ConfigSummary, measure: str) -> Finding:
    return Finding(config, baseline, measure, compare(config.samples.get(measure, []),
                                                      baseline.samples.get(measure, [])))


# ----- comparisons of each kind ---------------------------------------------------------------
def variants_baseline(results: StudyResults) -> ConfigSummary:
    named = results.study.settings.get("baseline")
    return next((s for s in results.summary if s.values.get("block") == named),
                results.summary[0])


def by_skip(results: StudyResults, depth: int | None = None) -> dict[bool, ConfigSummary]:
    return {bool(s.values["skip"]): s for s in results.summary
            if depth is None or s.values.get("depth") == depth}


def comparisons(results: StudyResults) -> list[Finding]:
    """Each configuration against the study kind's baseline (none for a sweep)."""
    kind = results.study.kind
    if kind == "variants":
        base = variants_baseline(results)
        return [versus(s, base, "val_error") for s in results.summary if s is not base]
    if kind == "twin":
        pair = by_skip(results)
        return ([versus(pair[True], pair[False], "val_error")]
                if len(pair) == 2 else [])
    if kind == "degradation":
        out = []
        for depth in results.study.settings.get("depths", []):
            pair = by_skip(results, depth)
            if len(pair) == 2:
                out += [versus(pair[True], pair[False], m) for m in ("train_error", "val_error")]
        return out
    return []


# ----- the headline ---------------------------------------------------------------------------
def headline(results: StudyResults) -> str:
    """The comparison that matters, in one sentence with its numbers."""
    kind = results.study.kind
    if kind == "degradation":
        return _degradation_headline(results)
    finished = [s for s in results.summary if s.val_error.n]
    if not finished:
        return "No run has finished yet."
    if kind == "twin":
        found = comparisons(results)
        return (found[0].text() + "." if found else
                f"Only {finished[0].label} has finished: "
                f"validation error {finished[0].val_error.percent()}.")
    best = min(finished, key=lambda s: s.val_error.mean)
    if kind == "variants":
        return _variants_headline(results, best, finished)
    worst = max(finished, key=lambda s: s.val_error.mean)
    return (f"Lowest validation error: {best.label} at {best.val_error.percent()} "
            f"(highest: {worst.label} at {worst.val_error.percent()}).")


def _variants_headline(results: StudyResults, best: ConfigSummary,
                       finished: Sequence[ConfigSummary]) -> str:
    base = variants_baseline(results)
    if best is base:
        others = [s for s in finished if s is not base]
        if not others:
            return f"Only the baseline {base.label} has finished: {base.val_error.percent()}."
        runner = min(others, key=lambda s: s.val_error.mean)
        return (f"The baseline {base.label} has the lowest validation error; the next best: "
                f"{versus(runner, base, 'val_error').text()}.")
    return f"Best against the baseline: {versus(best, base, 'val_error').text()}."


def _degradation_headline(results: StudyResults) -> str:
    depths = [d for d in results.study.settings.get("depths", [])
              if all(s.train_error.n for s in by_skip(results, d).values())
              and len(by_skip(results, d)) == 2]
    if len(depths) < 2:
        return "Fewer than two depths have finished on both sides: nothing to compare yet."
    shallow, deep = by_skip(results, depths[0]), by_skip(results, depths[-1])
    return (f"{_ratio(deep[False], shallow[False])}, while "
            f"{_ratio(deep[True], shallow[True], short=True)}.")


def _ratio(deep: ConfigSummary, shallow: ConfigSummary, short: bool = False) -> str:
    """``plain-44's training error is ×7.0 plain-20's (3.5 % vs 0.5 %)``."""
    a, b = deep.train_error.mean, shallow.train_error.mean
    factor = f"×{a / b:.1f}" if b > 0 else ("equal to" if a == 0 else "above")
    what = "'s is" if short else "'s training error is"
    return (f"{deep.label}{what} {factor} {shallow.label}'s "
            f"({100 * a:.1f} % vs {100 * b:.1f} %)")


def notes(results: StudyResults) -> list[str]:
    """What the reader must know before trusting any number."""
    out = []
    if results.nothing_learned:
        out.append(NOTHING_LEARNED)
    if one_seed(results.study):
        out.append(ONE_SEED)
    return out


def findings(results: StudyResults) -> list[str]:
    """The headline, the notes, then every comparison against the baseline."""
    return [headline(results), *notes(results), *(f.text() for f in comparisons(results))]


# ----- the table ------------------------------------------------------------------------------
def table_cells(results: StudyResults) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One row per configuration; errors as ``12.3 ± 1.1 %`` (mean ± 95 % interval)."""
    cells = []
    for s in results.summary:
        cells.append((s.label, s.status, f"{s.train_error.n}/{len(s.runs)}",
                      human_count(s.params), human_count(s.macs), _cell(s.train_error),
                      _cell(s.val_error), _cell(s.best_val_acc), _steps(s.reached)))
    if "target" not in results.study.settings:  # only variants aim at a target accuracy
        return HEADERS[:-1], [row[:-1] for row in cells]
    return HEADERS, cells


def _steps(reached: Sequence[int | None]) -> str:
    """The mean step at which the finished seeds reached the target; how many did, if not all."""
    steps = [s for s in reached if s is not None]
    if not steps:
        return "—"
    text = f"{sum(steps) / len(steps):,.0f}"
    return text if len(steps) == len(reached) else f"{text} ({len(steps)}/{len(reached)})"


def _cell(estimate: Estimate) -> str:
    if estimate.n == 0:
        return "—"
    if math.isnan(estimate.half):
        return f"{100 * estimate.mean:.1f} %"
    return estimate.percent()


def terminal_text(results: StudyResults) -> str:
    """The table and the findings, for the terminal."""
    headers, cells = table_cells(results)
    table = format_table(headers, cells, right=range(2, len(headers)))
    return "\n".join([table, "", *findings(results)])


def markdown(results: StudyResults) -> str:
    study = results.study
    effective = study.settings.get("effective")
    headers, cells = table_cells(results)
    lines = [f"# {study.title}", ""]
    if effective:
        lines += [f"Training: {effective}", ""]
    lines += [f"**{headline(results)}**", ""]
    lines += [line for note in notes(results) for line in (f"> {note}", "")]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    lines += ["", "Errors are the mean over seeds ± the half-width of its 95 % confidence "
              "interval (Student t); failed runs are left out and counted.", ""]
    found = comparisons(results)
    if found:
        lines += ["## Against the baseline", "", *(f"- {f.text()}" for f in found), ""]
    return "\n".join(lines)


def write_markdown(results: StudyResults, path: str | Path) -> Path:
    path = Path(path)
    write_text_atomic(path, markdown(results))
    return path
