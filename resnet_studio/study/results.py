"""A study's results as plain data: each run's curves, one table row per run, the Pareto front.

Views and the CLI render these; nothing here draws. Curves are NumPy arrays, the table is a
list of dicts (one per run, the varied values first) with ``to_csv`` / ``to_json``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .plan import STATE_FILE, RunSpec, Study, run_dir

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
    """Read a run directory as ``RunDirSink`` writes it (steps.jsonl, metrics.csv,
    status.json). The one place that knows those files, to be switched to the shared run
    model when there is one. Missing files give empty curves; an unfinished last line of
    steps.jsonl (a run killed mid-write) is skipped."""
    directory = Path(directory)
    curves = RunCurves()
    steps = _json_lines(directory / "steps.jsonl")
    if steps:
        curves.step = np.array([s["step"] for s in steps], dtype=float)
        curves.loss = np.array([_num(s.get("loss")) for s in steps])
        curves.accuracy = np.array([_num(s.get("accuracy")) for s in steps])
    rows = _csv_rows(directory / "metrics.csv")
    if rows:
        curves.epoch_step = np.array([float(r["step"]) for r in rows])
        curves.train_acc = np.array([_num(r.get("train_acc")) for r in rows])
        curves.val_loss = np.array([_num(r.get("val_loss")) for r in rows])
        curves.val_acc = np.array([_num(r.get("val_acc")) for r in rows])
        curves.seconds = float(sum(_num(r.get("duration")) for r in rows))
    status = _json(directory / "status.json")
    if status:
        curves.status, curves.message = status.get("status", "unknown"), status.get("message", "")
    elif steps or (directory / "last.pt").exists():
        curves.status = "stopped"
    return curves


def _json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    return [r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
            if r.get("step")]


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _num(value: Any) -> float:
    try:
        return float(value) if value not in (None, "") else math.nan
    except (TypeError, ValueError):
        return math.nan


# ----- the study's results --------------------------------------------------------------------
@dataclass
class StudyResults:
    """Every run's curves and the table, in plan order."""

    study: Study
    curves: dict[str, RunCurves]
    rows: list[dict[str, Any]]

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
        return json.dumps({"kind": self.study.kind, "title": self.study.title, "rows": rows},
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
    state = _json(Path(directory) / STATE_FILE) or {}
    target = float(study.settings.get("target", 0.9))
    costs = _costs(study.runs)
    curves, rows = {}, []
    for spec in study.runs:
        run = read_run(run_dir(directory, spec))
        recorded = state.get("runs", {}).get(spec.name, {})
        if recorded.get("status") == "failed" and run.status != "finished":
            run.status, run.message = "failed", recorded.get("error", run.message)
        curves[spec.name] = run
        rows.append(table_row(spec, run, costs[spec.name], target))
    return StudyResults(study, curves, rows)


def table_row(spec: RunSpec, run: RunCurves, cost: tuple[int, int],
              target: float) -> dict[str, Any]:
    """One run's row: its varied values, then the COLUMNS."""
    row: dict[str, Any] = {"label": spec.label, **spec.values}
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


def _costs(runs: Sequence[RunSpec]) -> dict[str, tuple[int, int]]:
    """(parameters, MACs per image) of every run's network, from the compiler."""
    from ..blocks import CATALOGUE
    from ..compiler import Analyzer
    from ..graph.project import from_dict

    analyzer = Analyzer()  # one cache: the runs share most of their blocks
    out = {}
    for spec in runs:
        analysis = analyzer.analyze(from_dict(spec.graph, CATALOGUE, spec.name))
        out[spec.name] = (analysis.total_params, analysis.total_macs)
    return out


def pareto_front(cost: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats: none has lower (or equal) cost and higher
    accuracy, or lower cost and equal accuracy. Sorted by cost; NaN points never count."""
    points = [(c, -a, i) for i, (c, a) in enumerate(zip(cost, accuracy))
              if math.isfinite(c) and math.isfinite(a)]
    front, best = [], -math.inf
    for c, neg_a, i in sorted(points):
        if -neg_a > best:
            front.append(i)
            best = -neg_a
    return front
