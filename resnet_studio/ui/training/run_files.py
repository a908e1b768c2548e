"""Reading run directories (no Qt): what the runs list shows and the curves the plots draw.

A run directory is what ``RunDirSink`` writes — from the GUI, ``resnet-studio train`` or a
``torchrun`` job on another machine alike: ``config.json`` (training configuration, dataset
description, layer names), ``graph.json`` (the project), ``metrics.csv`` (one row per
epoch), ``steps.jsonl`` (one object per step), ``status.json`` (how the run ended) and the
checkpoints ``last.pt`` / ``best.pt``. Any of them may be missing (a run still going, or
stopped before its first epoch), and a line being written while we read may be cut short; so
everything here reads what is there and skips what cannot be parsed.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RUN_MARKERS = ("config.json", "metrics.csv", "steps.jsonl")


class RunReadError(Exception):
    """A folder that is not a run directory; the message names it."""


@dataclass
class RunSummary:
    """One row of the runs list."""

    path: Path
    status: str            # finished, stopped, failed, running or incomplete
    message: str = ""
    epochs_done: int = 0
    epochs: int | None = None
    steps: int = 0
    best_val_acc: float | None = None
    duration: float = 0.0
    started: float = 0.0   # modification time of config.json (seconds since the epoch)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / "last.pt").is_file()


@dataclass
class RunCurves:
    """Everything the plots need from a run directory, as arrays."""

    steps: np.ndarray
    epochs: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: np.ndarray
    grad_norms: np.ndarray       # steps × layers (NaN where a value was not finite)
    layer_names: tuple[str, ...]
    epoch_steps: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    train_loss: np.ndarray


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in RUN_MARKERS)


def list_runs(root: Path) -> list[Path]:
    """Run directories directly inside ``root``, oldest first."""
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if is_run_dir(p)]
    return sorted(runs, key=lambda p: (_started(p), p.name))


def _started(path: Path) -> float:
    for name in RUN_MARKERS:
        if (path / name).exists():
            return (path / name).stat().st_mtime
    return 0.0


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_config(run: Path) -> dict[str, Any]:
    """``config.json`` as written by the run sink ({} when missing or unreadable)."""
    data = read_json(run / "config.json")
    return data if isinstance(data, dict) else {}


def read_graph(run: Path) -> dict[str, Any] | None:
    data = read_json(run / "graph.json")
    return data if isinstance(data, dict) else None


def read_confusion(run: Path) -> tuple[np.ndarray, int, float] | None:
    """The latest validation confusion matrix of a run (rows: true class), its epoch and
    accuracy; None for runs written before it was kept, or without a finished epoch."""
    path = run / "confusion.json"
    if not path.is_file():
        return None
    data = read_json(path)
    try:
        return np.asarray(data["matrix"], dtype=np.int64), int(data["epoch"]), float(data["val_acc"])
    except (KeyError, TypeError, ValueError):
        raise RunReadError(f"{path} is damaged: it holds no confusion matrix.") from None


def read_metrics(run: Path) -> list[dict[str, float]]:
    """The rows of ``metrics.csv`` as numbers (unparsable rows are skipped)."""
    try:
        text = (run / "metrics.csv").read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for row in csv.DictReader(text.splitlines()):
        try:
            rows.append({k: _number(v) for k, v in row.items() if k is not None})
        except ValueError:
            continue  # a row cut short by a write in progress
    return rows


def _number(text: str | None) -> float:
    if text is None or text == "":
        raise ValueError("missing value")
    return float(text)


def summarise(run: Path, running: bool = False) -> RunSummary:
    """The runs list's row for ``run``; raises RunReadError when it is no run directory."""
    if not is_run_dir(run):
        raise RunReadError(f"{run} is not a run directory (it has no config.json, metrics.csv "
                           "or steps.jsonl).")
    config = read_config(run).get("config") or {}
    metrics = read_metrics(run)
    status = read_json(run / "status.json") or {}
    accuracies = [m["val_acc"] for m in metrics if math.isfinite(m.get("val_acc", math.nan))]
    state = "running" if running else str(status.get("status") or "incomplete")
    return RunSummary(
        path=run, status=state, message=str(status.get("message") or ""),
        epochs_done=int(metrics[-1]["epoch"]) if metrics else 0,
        epochs=config.get("epochs") if isinstance(config.get("epochs"), int) else None,
        steps=int(status.get("step") or (metrics[-1]["step"] if metrics else 0)),
        best_val_acc=max(accuracies) if accuracies else None,
        duration=float(sum(m.get("duration", 0.0) for m in metrics)),
        started=_started(run), config=config)


def read_curves(run: Path, up_to_step: int | None = None) -> RunCurves:
    """Per-step and per-epoch curves of ``run`` (steps after ``up_to_step`` left out)."""
    layers = tuple(read_config(run).get("layers") or ())
    rows = _read_steps(run / "steps.jsonl", up_to_step)
    width = len(layers) or max((len(r.get("grad_norms") or ()) for r in rows), default=0)
    norms = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        values = [np.nan if v is None else v for v in (row.get("grad_norms") or ())][:width]
        norms[i, : len(values)] = values
    metrics = [m for m in read_metrics(run) if up_to_step is None or m["step"] <= up_to_step]

    def column(source: list[dict], key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else r[key] for r in source], np.float64)

    return RunCurves(
        steps=column(rows, "step"), epochs=column(rows, "epoch"), loss=column(rows, "loss"),
        accuracy=column(rows, "accuracy"), lr=column(rows, "lr"), grad_norms=norms,
        layer_names=layers or tuple(f"layer {i}" for i in range(width)),
        epoch_steps=column(metrics, "step"), val_loss=column(metrics, "val_loss"),
        val_acc=column(metrics, "val_acc"), train_loss=column(metrics, "train_loss"))


def _read_steps(path: Path, up_to_step: int | None) -> list[dict[str, Any]]:
    rows = []
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError:
        return rows
    with handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the last line of a run still writing
            if isinstance(row, dict) and "step" in row and (
                    up_to_step is None or row["step"] <= up_to_step):
                rows.append(row)
    return rows


# ----- differences between runs ---------------------------------------------------------------
def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"data": {"dataset": "x"}}`` → ``{"data.dataset": "x"}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(configs: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """(setting, value in each run) for every setting that is not the same in all runs."""
    flat = [flatten(c) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    return [(k, [f.get(k) for f in flat]) for k in keys
            if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]


def graph_differences(graphs: list[dict[str, Any] | None], names: list[str]) -> list[str]:
    """Sentences describing how the runs' architectures differ ([] when they are the same)."""
    known = [(n, g) for n, g in zip(names, graphs) if g is not None]
    if len(known) < 2:
        return []
    (base_name, base), lines = known[0], []
    for name, other in known[1:]:
        changes = _compare_graphs(base, other)
        if changes:
            lines += [f"{name} against {base_name}:"] + [f"  {line}" for line in changes]
    return lines


def _compare_graphs(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    nodes_a = {n["id"]: n for n in a.get("nodes", []) if isinstance(n, dict) and "id" in n}
    nodes_b = {n["id"]: n for n in b.get("nodes", []) if isinstance(n, dict) and "id" in n}
    lines = []
    for label, ids in (("only in the first", sorted(set(nodes_a) - set(nodes_b))),
                       ("only in the second", sorted(set(nodes_b) - set(nodes_a)))):
        if ids:
            lines.append(f"nodes {label}: {', '.join(ids[:8])}{' …' if len(ids) > 8 else ''}")
    for node_id in sorted(set(nodes_a) & set(nodes_b)):
        x, y = nodes_a[node_id], nodes_b[node_id]
        if x.get("type") != y.get("type"):
            lines.append(f"{node_id}: type {x.get('type')} → {y.get('type')}")
            continue
        px, py = x.get("params") or {}, y.get("params") or {}
        for key in sorted(set(px) | set(py)):
            if px.get(key) != py.get(key):
                lines.append(f"{node_id}.{key}: {px.get(key)!r} → {py.get(key)!r}")
    edges_a, edges_b = len(a.get("edges", [])), len(b.get("edges", []))
    if edges_a != edges_b:
        lines.append(f"{edges_a} connections → {edges_b}")
    if a.get("input") != b.get("input"):
        lines.append(f"input {a.get('input')} → {b.get('input')}")
    return lines
