"""Reading run directories: the one place that knows their files (``RunDirSink`` writes them).

A run directory is what ``RunDirSink`` writes — from the GUI, ``resnet-studio train`` or a
``torchrun`` job on another machine alike: ``config.json`` (training configuration, dataset
description, layer names), ``graph.json`` (the project), ``metrics.csv`` (one row per
epoch), ``steps.jsonl`` (one object per step), ``confusion.json`` (the latest validation),
``status.json`` (how the run ended), for a dense task ``preview.npz`` (its latest predictions,
read by ``preview_file``) and the checkpoints ``last.pt`` / ``best.pt``. Any of
them may be missing (a run still going, or stopped before its first epoch), and a line being
written while we read may be cut short; so everything here reads what is there and skips what
cannot be parsed.

The views, the exports, the ``resnet-studio`` commands and the comparison of runs all read
through this module; ``history.RunHistory.load`` turns a directory into the series they show.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.task import CLASSIFICATION, DETECTION, SEGMENTATION, task_of_project
from ..data.config import DataError
from ..data.spec import SPEC_KEY, DataSpec, derive_spec

CONFIG, GRAPH, METRICS, STEPS = "config.json", "graph.json", "metrics.csv", "steps.jsonl"
CONFUSION, STATUS = "confusion.json", "status.json"
BEST, LAST = "best.pt", "last.pt"
CHECKPOINTS = (BEST, LAST)  # in order of preference for using a trained network
RUN_MARKERS = (CONFIG, METRICS, STEPS)
RUNNING, INCOMPLETE = "running", "incomplete"  # beside records.STATUSES: how a run ended
MAX_JSON_BYTES = 64 * 2 ** 20  # config.json, graph.json, status.json, confusion.json
MAX_LINE_BYTES = 2 ** 20       # one line of steps.jsonl
MAX_METRICS_BYTES = 256 * 2 ** 20
# The task metric a dense run sends as ``val_acc`` (so that "best", studies and comparisons
# work unchanged); its other metrics have columns of their own in metrics.csv.
MAIN_METRIC = {DETECTION: "map_50", SEGMENTATION: "miou"}


class RunReadError(Exception):
    """A folder that is not a run directory, or a damaged file in one; the message names it."""


@dataclass
class RunSummary:
    """What a list of runs shows of one run."""

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
    task: str = CLASSIFICATION  # a dense run's best_val_acc is its main metric

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / LAST).is_file()


@dataclass(frozen=True)
class Confusion:
    """A validation confusion matrix (rows: true class, columns: predicted) and its epoch."""

    matrix: np.ndarray
    epoch: int
    val_acc: float


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in RUN_MARKERS)


def require_run_dir(path: Path) -> Path:
    """``path`` itself; RunReadError (naming it) when it is no run directory."""
    if not is_run_dir(path):
        raise RunReadError(f"{path} is not a run directory (it has no config.json, metrics.csv "
                           "or steps.jsonl).")
    return path


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


def load_json(path: Path) -> Any:
    """A run file's JSON, read through the project reader's guards (a regular file of bounded
    size, bounded nesting); RunReadError naming the file and the problem otherwise."""
    from ..files import read_guarded_json

    return read_guarded_json(path, "a run file", MAX_JSON_BYTES, RunReadError, "reading the run")


def read_json(path: Path) -> Any:
    """``load_json``, or None when the file is missing or cannot be read."""
    try:
        return load_json(path)
    except RunReadError:
        return None


def read_object(path: Path) -> dict[str, Any]:
    """A run file that must hold a JSON object: {} when it is missing, RunReadError naming it
    when it is damaged (unreadable, too large, too deep, or not an object)."""
    if not path.exists():
        return {}
    data = load_json(path)
    if not isinstance(data, dict):
        raise RunReadError(f"{path}: holds {type(data).__name__}, not a JSON object; the "
                           "file is damaged.")
    return data


def read_config(run: Path) -> dict[str, Any]:
    """``config.json`` as written by the run sink ({} when missing or unreadable): the
    training configuration under "config", the dataset under "data", the layer names."""
    data = read_json(run / CONFIG)
    return data if isinstance(data, dict) else {}


def read_train_config(run: Path) -> dict[str, Any]:
    """The run's training settings (``TrainConfig.to_dict()``; {} when unknown)."""
    config = read_config(run).get("config")
    return config if isinstance(config, dict) else {}


def read_data_info(run: Path) -> dict[str, Any]:
    """The dataset description (class names, mean, std, sizes; {} when unknown)."""
    data = read_config(run).get("data")
    return data if isinstance(data, dict) else {}


def read_data_spec(run: Path) -> DataSpec:
    """The run's data spec (``data/spec.py``): the one recorded in config.json, else — for a
    run written before specs were — derived from config.json and graph.json where that is
    exact. RunReadError, one line naming the file and what is missing, otherwise."""
    where = run / CONFIG
    config = read_object(where)
    if not config:
        raise RunReadError(f"{where}: missing or empty, so the run's data is unknown.")
    if SPEC_KEY in config:
        if config[SPEC_KEY] is None:
            raise RunReadError(f"{where}: the run was trained on batches handed to the engine "
                               "ready-made, so its data cannot be rebuilt.")
        try:
            return DataSpec.from_dict(config[SPEC_KEY])
        except DataError as exc:
            raise RunReadError(f"{where}: {exc}.") from None
    return _derived_spec(run, config)


def _derived_spec(run: Path, config: dict[str, Any]) -> DataSpec:
    where = run / CONFIG
    data = (config.get("config") or {}).get("data") if isinstance(config.get("config"),
                                                                  dict) else None
    if not isinstance(data, dict):
        raise RunReadError(f"{where}: has no data spec and no training data settings "
                           "(config.data), so the run's data is unknown.")
    graph = read_graph(run)
    try:
        return derive_spec(data, _graph_input(graph), read_data_info(run))
    except DataError as exc:
        missing = run / GRAPH if graph is None and data.get("fit", "network") == "network" \
            else where
        raise RunReadError(f"{missing}: the run's data spec cannot be derived: {exc}.") from None


def _graph_input(graph: dict[str, Any] | None) -> tuple[int, int, int] | None:
    spec = (graph or {}).get("input")
    try:
        return int(spec["channels"]), int(spec["height"]), int(spec["width"])
    except (KeyError, TypeError, ValueError):
        return None


def read_graph(run: Path) -> dict[str, Any] | None:
    data = read_json(run / GRAPH)
    return data if isinstance(data, dict) else None


def task_of_metrics(metrics: dict[str, Any], default: str) -> str:
    """The dense task whose main metric ``metrics`` report (a run without a graph)."""
    for task, key in MAIN_METRIC.items():
        if key in metrics:
            return task
    return default


def read_status(run: Path) -> dict[str, Any]:
    """``status.json`` ({} while the run goes on, or when it was killed)."""
    data = read_json(run / STATUS)
    return data if isinstance(data, dict) else {}


def find_checkpoint(run: Path, names: tuple[str, ...] = CHECKPOINTS) -> Path | None:
    """The first of ``names`` that the run holds (best.pt, else last.pt), or None."""
    for name in names:
        if (run / name).is_file():
            return run / name
    return None


def read_confusion(run: Path) -> Confusion | None:
    """The latest validation confusion matrix of a run; None for runs written before it was
    kept, or without a finished epoch."""
    path = run / CONFUSION
    if not path.is_file():
        return None
    data = read_json(path)
    try:
        matrix = np.asarray(data["matrix"], dtype=np.int64)
        if matrix.size == 0:  # a detector's: it has no confusion matrix (0 × 0)
            matrix = matrix.reshape(0, 0)
        return Confusion(matrix, int(data["epoch"]), float(data["val_acc"]))
    except (KeyError, TypeError, ValueError):
        raise RunReadError(f"{path} is damaged: it holds no confusion matrix.") from None


def read_metrics(run: Path, up_to_step: int | None = None) -> list[dict[str, float]]:
    """The rows of ``metrics.csv`` as numbers (unparsable rows are skipped)."""
    try:
        with open(run / METRICS, encoding="utf-8", errors="replace") as stream:
            text = stream.read(MAX_METRICS_BYTES)
    except OSError:
        return []
    rows = []
    for row in _csv_rows(text):
        try:
            values = {k: _number(v) for k, v in row.items() if k is not None}
        except (ValueError, TypeError):
            continue  # a row cut short by a write in progress
        if up_to_step is None or values.get("step", 0) <= up_to_step:
            rows.append(values)
    return rows


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """The rows csv can parse; it stops at a field beyond its size limit (a damaged file)."""
    rows: list[dict[str, Any]] = []
    with contextlib.suppress(csv.Error):
        rows.extend(csv.DictReader(text.splitlines()))
    return rows


def _number(text: str | None) -> float:
    if text is None or text == "":
        raise ValueError("missing value")
    return float(text)


def read_steps(run: Path, up_to_step: int | None = None) -> list[dict[str, Any]]:
    """The objects of ``steps.jsonl`` (steps after ``up_to_step`` left out; a line cut short
    by a write in progress is skipped)."""
    rows = []
    try:
        handle = open(run / STEPS, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError:
        return rows
    with handle:
        for line in _lines(handle):
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):  # cut short by a write, or hostile
                continue
            if isinstance(row, dict) and "step" in row and (
                    up_to_step is None or row["step"] <= up_to_step):
                rows.append(row)
    return rows


def _lines(handle: Any) -> Any:
    """The lines of ``handle``, each read at most MAX_LINE_BYTES at a time: a longer line (no
    step record is near that) is skipped whole instead of being held in memory."""
    while line := handle.readline(MAX_LINE_BYTES):
        if line.endswith("\n") or len(line) < MAX_LINE_BYTES:
            yield line
            continue
        while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith("\n"):
            pass


def summarise(run: Path, running: bool = False) -> RunSummary:
    """The runs list's row for ``run``; raises RunReadError when it is no run directory."""
    require_run_dir(run)
    config = read_train_config(run)
    metrics = read_metrics(run)
    status = read_status(run)
    accuracies = [m["val_acc"] for m in metrics if math.isfinite(m.get("val_acc", math.nan))]
    state = RUNNING if running else str(status.get("status") or INCOMPLETE)
    return RunSummary(
        path=run, status=state, message=str(status.get("message") or ""),
        epochs_done=int(metrics[-1]["epoch"]) if metrics else 0,
        epochs=config.get("epochs") if isinstance(config.get("epochs"), int) else None,
        steps=int(status.get("step") or (metrics[-1]["step"] if metrics else 0)),
        best_val_acc=max(accuracies) if accuracies else None,
        duration=float(sum(m.get("duration", 0.0) for m in metrics)),
        started=_started(run), config=config,
        task=task_of_metrics(metrics[-1] if metrics else {}, task_of_project(read_graph(run))))
