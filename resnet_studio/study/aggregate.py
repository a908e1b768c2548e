"""A study's runs grouped into configurations: the runs that differ only in their seed.

With ``settings["seeds"]`` listing more than one seed, every configuration has one run per
seed, all with the same label and values (plus ``"seed"``). Each configuration gets the mean
and 95 % interval (``stats.mean_ci``) of its finished runs' final training error, final
validation error and best validation accuracy; failed runs (and finished runs whose numbers
are NaN: diverged) are left out and counted.

A budget too small to learn anything shows as validation errors at chance: ``nothing_learned``
says so when every finished run ends within ``CHANCE_MARGIN`` of 1 − 1/classes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .plan import RunSpec, Study
from .stats import Estimate, mean_ci

# Five points: at chance a validation set of a few hundred images scatters by about two to
# three points (binomial), so a run within five points of chance has shown nothing learned.
CHANCE_MARGIN = 0.05
NOTHING_LEARNED = "nothing was learned at this budget: raise the epochs or the data"
ONE_SEED = ("one seed: differences of a few points cannot be told from noise; rerun with "
            "--seeds 3")
NO_RUNS = Estimate(math.nan, math.nan, 0)
MEASURES = (("train_error", "final_train_error"), ("val_error", "final_val_error"),
            ("best_val_acc", "best_val_acc"))
SUMMARY_COLUMNS = ("label", "runs", "finished", "failed", "params", "macs",
                   *(f"{m}_{part}" for m, _ in MEASURES for part in ("mean", "ci95")))


def seeds(study: Study) -> list[int]:
    """The study's seeds (one, unnamed, for plans written before seeds were repeated)."""
    listed = study.settings.get("seeds")
    return list(listed) if isinstance(listed, list) and listed else [0]


def config_key(study: Study, spec: RunSpec) -> dict[str, Any]:
    """A run's configuration: its values, without the seed when the study repeats seeds."""
    if len(seeds(study)) > 1:
        return {k: v for k, v in spec.values.items() if k != "seed"}
    return dict(spec.values)


@dataclass
class ConfigSummary:
    """One configuration: its runs (names, plan order) and the estimates over their seeds."""

    label: str
    values: dict[str, Any]
    runs: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    params: int = 0
    macs: int = 0
    train_error: Estimate = NO_RUNS
    val_error: Estimate = NO_RUNS
    best_val_acc: Estimate = NO_RUNS
    samples: dict[str, list[float]] = field(default_factory=dict)
    reached: list[int | None] = field(default_factory=list)  # finished runs' steps to target

    @property
    def finished(self) -> int:
        return self.statuses.count("finished")

    @property
    def failed(self) -> int:
        """Failed runs and finished runs without a final validation error (diverged)."""
        return self.statuses.count("failed") + self.val_error.excluded

    @property
    def status(self) -> str:
        """"finished" when every run did, else how many of each."""
        if all(s == "finished" for s in self.statuses):
            return "finished"
        counts = {s: self.statuses.count(s) for s in dict.fromkeys(self.statuses)}
        return ", ".join(f"{n} {s}" for s, n in counts.items())

    def row(self) -> dict[str, Any]:
        """The summary.csv row: label, values, counts, then each measure's mean and
        half-width of its 95 % interval (fractions; empty where unknown)."""
        out: dict[str, Any] = {"label": self.label, **self.values, "runs": len(self.runs),
                               "finished": self.finished, "failed": self.failed,
                               "params": self.params, "macs": self.macs}
        for name, _ in MEASURES:
            estimate: Estimate = getattr(self, name)
            out[f"{name}_mean"], out[f"{name}_ci95"] = estimate.mean, estimate.half
        return out


def summarise(study: Study, rows: Sequence[dict[str, Any]]) -> list[ConfigSummary]:
    """One ConfigSummary per configuration, in plan order (``rows`` parallel the runs)."""
    groups: dict[str, ConfigSummary] = {}
    for spec, row in zip(study.runs, rows):
        values = config_key(study, spec)
        key = json.dumps(values, sort_keys=True, default=str)
        group = groups.setdefault(key, ConfigSummary(spec.label, values,
                                                     params=row["params"], macs=row["macs"]))
        group.runs.append(spec.name)
        group.statuses.append(row["status"])
        if row["status"] == "finished":
            group.reached.append(row["steps_to_target"])
            for name, column in MEASURES:
                group.samples.setdefault(name, []).append(row[column])
    for group in groups.values():
        for name, _ in MEASURES:
            setattr(group, name, mean_ci(group.samples.get(name, [])))
    return list(groups.values())


def summary_csv(summary: Sequence[ConfigSummary]) -> str:
    rows = [s.row() for s in summary]
    columns = list(rows[0]) if rows else list(SUMMARY_COLUMNS)
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 6)
    return value


# ----- budget honesty -------------------------------------------------------------------------
def chance_error(spec: RunSpec) -> float:
    """The validation error of guessing: 1 − 1/classes of the run's network."""
    classes = spec.graph.get("input", {}).get("classes")
    return 1.0 - 1.0 / classes if isinstance(classes, int) and classes > 0 else math.nan


def nothing_learned(study: Study, rows: Sequence[dict[str, Any]],
                    margin: float = CHANCE_MARGIN) -> bool:
    """True when at least one run finished and every finished run's final validation error
    lies within ``margin`` of chance (diverged runs, with no error, are not counted)."""
    ended = [(spec, row["final_val_error"]) for spec, row in zip(study.runs, rows)
             if row["status"] == "finished" and math.isfinite(row["final_val_error"])]
    return bool(ended) and all(error >= chance_error(spec) - margin for spec, error in ended)


def one_seed(study: Study) -> bool:
    return len(seeds(study)) < 2
