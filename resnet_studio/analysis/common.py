"""What every analysis shares: progress and cancel, reading a run, its data, and evaluation.

Analyses run on a worker thread in the app and in a terminal from the CLI, so each takes a
``progress(done, total, message)`` callback and a ``cancel`` object (anything with
``is_set()``, e.g. ``threading.Event``) that is checked between units of work; a cancelled
analysis raises ``Cancelled`` and leaves nothing half-written.

A run directory is read through ``train.rundir`` (the one reader of its files);
``load_run`` adds what an analysis needs on top: the network rebuilt with its weights.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Progress = Callable[[int, int, str], None]


class AnalysisError(Exception):
    """An analysis that cannot run on this input; the message names the file or setting."""


class Cancelled(Exception):
    """The caller's cancel flag was set; the analysis stopped between two units of work."""


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def no_progress(done: int, total: int, message: str) -> None:
    """The default progress callback: ignore."""


def check_cancel(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the analysis was cancelled")


class Eta:
    """Estimates the time left from the average time per finished unit."""

    def __init__(self, total: int):
        self.total, self.began = total, time.monotonic()

    def text(self, done: int) -> str:
        if done <= 0:
            return "estimating time left"
        left = (time.monotonic() - self.began) / done * (self.total - done)
        return f"about {left:.0f} s left"


# ----- runs -----------------------------------------------------------------------------------
@dataclass
class Run:
    """A trained network and the data spec that feeds it as it was trained."""

    path: Path
    graph: Any  # resnet_studio.graph.Graph
    config: Any  # resnet_studio.train.TrainConfig
    spec: Any  # resnet_studio.data.spec.DataSpec
    checkpoint: Path
    state: dict[str, Tensor]

    @property
    def mean(self) -> tuple[float, ...]:
        return self.spec.mean

    @property
    def std(self) -> tuple[float, ...]:
        return self.spec.std

    @property
    def class_names(self) -> list[str]:
        return list(self.spec.class_names)

    def model(self, device: torch.device | str = "cpu") -> nn.Module:
        """The network with the run's weights, in evaluation mode."""
        from ..compiler import build

        net = build(self.graph, initialise=False)
        net.load_state_dict(self.state)
        return net.to(device).eval()


def load_run(path: str | Path) -> Run:
    """Read a run directory (config.json, best.pt else last.pt) or one checkpoint file in it.
    Raises ``AnalysisError`` naming the file when something is missing or unreadable."""
    from ..blocks import CATALOGUE
    from ..graph import project
    from ..train.checkpoint import CheckpointError, load_checkpoint
    from ..train.config import TrainConfig

    path = Path(path)
    folder, ckpt = (path.parent, path) if path.is_file() else (path, _checkpoint_in(path))
    try:
        state = load_checkpoint(ckpt)
    except CheckpointError as exc:
        raise AnalysisError(str(exc)) from None
    if state.get("graph") is None:
        raise AnalysisError(f"{ckpt}: the checkpoint holds no project (trained from a plain "
                            "module), so its network cannot be rebuilt.")
    graph = project.from_dict(state["graph"], CATALOGUE, f"the project in {ckpt}")
    task_of_graph(graph, f"{folder}")  # a network with heads of two tasks: one line here
    return Run(folder, graph, TrainConfig.from_dict(state["config"]), run_spec(folder), ckpt,
               state["model"])


def _checkpoint_in(folder: Path) -> Path:
    from ..train import rundir

    if not folder.is_dir():
        raise AnalysisError(f"{folder}: no such run directory or checkpoint file.")
    found = rundir.find_checkpoint(folder)
    if found is None:
        raise AnalysisError(f"{folder}: not a run directory (it holds neither "
                            f"{rundir.BEST} nor {rundir.LAST}).")
    return found


def run_spec(folder: Path) -> Any:
    """The run's data spec (``data.spec.DataSpec``); AnalysisError, one line, without one."""
    from ..train import rundir

    try:
        return rundir.read_data_spec(folder)
    except rundir.RunReadError as exc:
        raise AnalysisError(str(exc)) from None


def run_data(run: Run, device: torch.device | str = "cpu") -> Any:
    """The run's data (a ``DataBundle``), rebuilt from its spec as training loaded it."""
    from ..data import DataError, load_spec

    try:  # the run's own batch size fits its training split, which load_data checks
        return load_spec(run.spec, run.config.batch_size, device)
    except DataError as exc:
        raise AnalysisError(f"the run's data ({run.spec.config.dataset}) cannot be loaded: "
                            f"{exc}") from None


def validation_batches(run: Run, samples: int | None, batch_size: int,
                       device: torch.device | str = "cpu", seed: int | None = None
                       ) -> list[tuple[Tensor, Tensor]]:
    """The run's validation images, normalised as in training, in batches of ``batch_size``:
    all of them, or ``samples`` spread evenly over the classes (``data.balanced_indices``,
    drawn from ``seed``, by default the data's seed), in the split's order."""
    from ..data import balanced_indices

    val = run_data(run, device).val
    seed = run.spec.config.seed if seed is None else seed
    keep = torch.tensor(balanced_indices(val.labels.tolist(), samples, seed), dtype=torch.int64)
    if not len(keep):
        raise AnalysisError("the run's validation split holds no images to analyse.")
    kept, start = [], 0
    for x, y in val.epoch(0):
        inside = keep[(keep >= start) & (keep < start + len(y))] - start
        if len(inside):
            kept.append((x[inside.to(x.device)], y[inside.to(y.device)]))
        start += len(y)
    x, y = torch.cat([b[0] for b in kept]), torch.cat([b[1] for b in kept])
    return list(zip(x.split(batch_size), y.split(batch_size)))


def class_counts(batches: list[tuple[Tensor, Tensor]], names: list[str]) -> dict[str, int]:
    """Images per class in ``batches`` ({class name: count}, every class listed)."""
    labels = torch.cat([y.cpu() for _, y in batches])
    counts = torch.bincount(labels, minlength=len(names)).tolist()
    return {name: int(c) for name, c in zip(names, counts)}


@torch.no_grad()
def evaluate(model: nn.Module, batches: list[tuple[Tensor, Tensor]]) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (as it is: set eval mode first)."""
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in batches:
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
        count += len(y)
    return loss_sum / count, correct / count


def write_json(path: Path, data: Any) -> None:
    from ..files import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """A CSV file written through the ``csv`` module, so that names holding commas, quotes or
    line breaks read back as they were; floats keep 6 significant digits."""
    from ..files import write_text_atomic

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    write_text_atomic(path, out.getvalue())


def _cell(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


#: What each analysis that works on class scores measures, for the line refusing a dense network.
CLASS_SCORE_ANALYSES = {
    "lesion": "the lesion study measures how far a classifier's validation accuracy falls "
              "without each block",
    "landscape": "the loss landscape is the cross-entropy of a classifier's class scores "
                 "around the trained weights",
    "explain": "Grad-CAM and the pixel attributions explain one class score of the image, "
               "and a detector's outputs are boxes whose number and order change with the "
               "image",
}


def task_of_graph(graph: Any, where: str) -> str:
    """The network's task ("classification", "detection", "segmentation"); AnalysisError,
    one line, for a network with heads of more than one task."""
    from ..compiler.task import TaskError, task_of

    try:
        return task_of(graph)
    except TaskError as exc:
        raise AnalysisError(f"{where}: {exc}") from None


def classifier_only(graph: Any, where: str, analysis: str) -> None:
    """The analyses that measure class scores (``CLASS_SCORE_ANALYSES``) refuse a detector's
    or segmenter's network (its heads make it one) in one line saying why and what works
    for it instead."""
    from ..compiler.task import CLASSIFICATION, SEGMENTATION

    task = task_of_graph(graph, where)
    if task == CLASSIFICATION:
        return
    works = "signal at init" + (", Grad-CAM on the backbone (explain)"
                                if task == SEGMENTATION else "")
    raise AnalysisError(
        f"{where}: a {task} network; {CLASS_SCORE_ANALYSES[analysis]}, so it does not apply "
        f"here. What works for it: {works}, and the per-layer gradient norms in the run's "
        "steps.jsonl and the Train workspace's Gradients tab.")
