"""Hand-made study run directories for the results tests, and a plan repeated over seeds.

``write_run`` writes the files ``RunDirSink`` writes (metrics.csv, steps.jsonl, status.json)
with chosen numbers; the per-step accuracy, the per-epoch training accuracy and the validation
accuracy are all different, so a table that takes one for another is caught. ``final`` reads a
number back with the csv module, independently of the project's readers. Holds no tests.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

from scipy import stats as sp

from resnet_studio.study.plan import Study

HEADER = ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "best",
          "duration")
EFFECTIVE = "SGD lr 0.05 momentum 0.9, weight decay 5e-4, constant schedule, 2 epochs"


def write_run(folder: Path, train_accs: list[float], val_accs: list[float],
              status: str = "finished", steps_per_epoch: int = 4) -> None:
    """A run directory with these per-epoch accuracies; each step's accuracy is 0.05 below
    the training accuracy of its epoch minus a bit more early on."""
    folder.mkdir(parents=True)
    with open(folder / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for e, (t, v) in enumerate(zip(train_accs, val_accs)):
            writer.writerow([e + 1, (e + 1) * steps_per_epoch, 1.0, t, 1.2, v, 0.05, 0, 1.5])
    lines = []
    for e, t in enumerate(train_accs):
        for i in range(steps_per_epoch):
            step = e * steps_per_epoch + i + 1
            lines.append(json.dumps({"step": step, "loss": 1.0, "accuracy": t - 0.05 - 0.01 * i}))
    (folder / "steps.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "status.json").write_text(json.dumps({"status": status, "message": ""}))


def final(folder: Path, column: str, best: bool = False) -> float:
    """The last (or largest) value of ``column`` in metrics.csv, read with the csv module."""
    with open(folder / "metrics.csv", newline="") as handle:
        values = [float(row[column]) for row in csv.DictReader(handle)]
    return max(values) if best else values[-1]


def seeded(study: Study, seeds: list[int], effective: str = EFFECTIVE) -> Study:
    """``study`` with each run repeated once per seed, as the planner writes it: the same
    label, the seed among the values and in the configuration, the name ``NAME-seedS``."""
    runs = [replace(spec, name=f"{spec.name}-seed{s}", values={**spec.values, "seed": s},
                    config={**spec.config, "seed": s})
            for spec in study.runs for s in seeds]
    settings = {**study.settings, "seeds": list(seeds), "effective": effective}
    return Study(study.kind, study.title, study.project, runs, settings)


def mean_and_half(values: list[float]) -> tuple[float, float]:
    """By hand: the mean and the half-width of its 95 % Student-t interval."""
    finite = [v for v in values if not math.isnan(v)]
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return mean, math.nan
    return mean, sp.t.ppf(0.975, len(finite) - 1) * statistics.stdev(finite) / math.sqrt(
        len(finite))
