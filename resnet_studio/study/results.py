"""A study's results as plain data: each run's curves, one table row per run, one summary per
configuration (mean ± 95 % interval over its seeds, see ``aggregate``), the Pareto front.

Views and the CLI render these; nothing here draws. Curves are NumPy arrays, the table is a
list of dicts (one per run, the varied values first) with ``to_csv`` / ``to_json``, the
summary a list of ``ConfigSummary`` with ``summary_csv``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..train.history import RunHistory
from ..train.rundir import LAST, is_run_dir, read_json, read_metrics, read_status
from . import aggregate
from .plan import STATE_FILE, RunSpec, Study, run_dir
from .trial import FINAL

COLUMNS = ("label", "status", "params", "macs", "steps", "final_train_error",
           "final_val_error", "final_val_acc", "best_val_acc", "steps_to_target", "seconds",
           "error")


@dataclass
class RunCurves:
    """What one run directory holds: per-step training loss and accuracy, per-epoch
    training and validation figures (``epoch_step`` is the step each epoch ended at)."""

    step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    epoch_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    train_acc: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_acc: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seconds: float = 0.0
    status: str = "pending"
    message: str = ""


def read_run(directory: str | Path) -> RunCurves:
    """A run directory's curves, read through the project's run model (``train.rundir`` and
    ``train.history.RunHistory``, which also skip a line cut short by a killed run). A
    missing directory gives empty curves with status "pending"; one without a status file
    but with steps or a checkpoint was stopped (killed, or closed mid-run)."""
    directory = Path(directory)
    curves = RunCurves()
    if is_run_dir(directory):
        history = RunHistory.load(directory, smoothing=0.0)
        curves.step, curves.loss = history.steps.copy(), history.loss.raw.y.copy()
        curves.accuracy = history.accuracy.raw.y.copy()
        curves.epoch_step = history.epoch_steps.copy()
        curves.train_acc = history.train_acc.y.copy()
        curves.val_loss, curves.val_acc = history.val_loss.y.copy(), history.val_acc.y.copy()
        curves.seconds = float(sum(r.get("duration", 0.0) for r in read_metrics(directory)))
    status = read_status(directory)
    if status:
        curves.status, curves.message = status.get("status", "unknown"), status.get("message", "")
    elif len(curves.step) or (directory / LAST).exists():
        curves.status = "stopped"
    return curves


# ----- the study's results --------------------------------------------------------------------
@dataclass
class StudyResults:
    """Every run's curves and the table, in plan order; the per-configuration summary."""

    study: Study
    curves: dict[str, RunCurves]
    rows: list[dict[str, Any]]

    @cached_property
    def summary(self) -> list[aggregate.ConfigSummary]:
        """One entry per configuration (the runs differing only in their seed)."""
        return aggregate.summarise(self.study, self.rows)

    @property
    def nothing_learned(self) -> bool:
        """Every finished run ended at chance (see ``aggregate.nothing_learned``)."""
        return aggregate.nothing_learned(self.study, self.rows)

    def summary_csv(self) -> str:
        return aggregate.summary_csv(self.summary)

    def to_csv(self) -> str:
        columns = list(self.rows[0]) if self.rows else list(COLUMNS)
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return out.getvalue()

    def to_json(self) -> str:
        rows = [{k: _cell(v) if isinstance(v, float) else v for k, v in r.items()}
                for r in self.rows]
        summary = [{k: _cell(v) if isinstance(v, float) else v for k, v in s.row().items()}
                   for s in self.summary]
        return json.dumps({"kind": self.study.kind, "title": self.study.title, "rows": rows,
                           "summary": summary},
                          indent=1, ensure_ascii=False) + "\n"

    def sorted_rows(self, column: str, descending: bool = False) -> list[dict[str, Any]]:
        """The rows sorted by ``column``; missing values (None, NaN) always last."""
        def missing(row: dict[str, Any]) -> bool:
            value = row.get(column)
            return value is None or (isinstance(value, float) and math.isnan(value))

        present = sorted((r for r in self.rows if not missing(r)), key=lambda r: r[column],
                         reverse=descending)
        return present + [r for r in self.rows if missing(r)]


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 6)
    if value is None:
        return ""
    return value


def collect(study: Study, directory: str | Path) -> StudyResults:
    """Read every run of ``study`` in ``directory`` and build the results table."""
    state = read_json(Path(directory) / STATE_FILE)
    state = state if isinstance(state, dict) else {}
    target = float(study.settings.get("target", 0.9))
    costs = _costs(study.runs)
    curves, rows = {}, []
    for spec in study.runs:
        run = read_run(run_dir(directory, spec))
        recorded = state.get("runs", {}).get(spec.name, {})
        if recorded.get("status") == "failed" and run.status != "finished":
            run.status, run.message = "failed", recorded.get("error", run.message)
        elif recorded.get("status") in FINAL and run.status in ("stopped", "pending"):
            run.status = recorded["status"]  # by the sweep's ASHA or TPE: not resumed
        curves[spec.name] = run
        rows.append(table_row(spec, run, costs[spec.name], target))
    return StudyResults(study, curves, rows)


def table_row(spec: RunSpec, run: RunCurves, cost: tuple[int, int],
              target: float) -> dict[str, Any]:
    """One run's row: its varied values and its seed, then the COLUMNS."""
    row: dict[str, Any] = {"label": spec.label, **spec.values}
    row.setdefault("seed", spec.config.get("seed"))
    row.update(status=run.status, params=cost[0], macs=cost[1],
               steps=int(run.step[-1]) if len(run.step) else 0,
               final_train_error=1.0 - _last(run.train_acc),
               final_val_error=1.0 - _last(run.val_acc), final_val_acc=_last(run.val_acc),
               best_val_acc=float(np.nanmax(run.val_acc)) if _any_finite(run.val_acc)
               else math.nan,
               steps_to_target=steps_to(run, target), seconds=round(run.seconds, 1),
               error=run.message if run.status == "failed" else "")
    return row


def _last(values: np.ndarray) -> float:
    return float(values[-1]) if len(values) else math.nan


def _any_finite(values: np.ndarray) -> bool:
    return bool(len(values)) and bool(np.isfinite(values).any())


def steps_to(run: RunCurves, target: float) -> int | None:
    """The step of the first validation that reached ``target`` accuracy, or None."""
    reached = np.flatnonzero(np.nan_to_num(run.val_acc, nan=-1.0) >= target)
    return int(run.epoch_step[reached[0]]) if len(reached) else None


def _costs(runs: Sequence[RunSpec], each: Callable[[int], None] | None = None
           ) -> dict[str, tuple[int, int]]:
    """(parameters, MACs per image) of every run's network, from the compiler; ``each(i)``
    after the i-th run's (a progress report, or a cancel check that raises)."""
    from ..blocks import CATALOGUE
    from ..compiler import Analyzer
    from ..graph.project import from_dict

    analyzer = Analyzer()  # one cache: the runs share most of their blocks
    out = {}
    for i, spec in enumerate(runs):
        analysis = analyzer.analyze(from_dict(spec.graph, CATALOGUE, spec.name))
        out[spec.name] = (analysis.total_params, analysis.total_macs)
        if each is not None:
            each(i)
    return out


def pareto_front(cost: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats: none has lower (or equal) cost and higher
    accuracy, or lower cost and equal accuracy. Sorted by cost; NaN points never count."""
    points = [(c, -a, i) for i, (c, a) in enumerate(zip(cost, accuracy))
              if math.isfinite(c) and math.isfinite(a)]
    front, best = [], -math.inf
    for _cost, neg_a, i in sorted(points):
        if -neg_a > best:
            front.append(i)
            best = -neg_a
    return front
