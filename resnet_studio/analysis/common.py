"""What every analysis shares: progress and cancel, reading a run, its data, and evaluation.

Analyses run on a worker thread in the app and in a terminal from the CLI, so each takes a
``progress(done, total, message)`` callback and a ``cancel`` object (anything with
``is_set()``, e.g. ``threading.Event``) that is checked between units of work; a cancelled
analysis raises ``Cancelled`` and leaves nothing half-written.

A run directory is read through ``train.rundir`` (the one reader of its files);
``load_run`` adds what an analysis needs on top: the network rebuilt with its weights.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
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
    """A trained network and what is needed to feed it as it was trained."""

    path: Path
    graph: Any  # resnet_studio.graph.Graph
    config: Any  # resnet_studio.train.TrainConfig
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: list[str]
    checkpoint: Path
    state: dict[str, Tensor]

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
    info = _data_info(folder)
    return Run(folder, graph, TrainConfig.from_dict(state["config"]), tuple(info["mean"]),
               tuple(info["std"]), list(info.get("class_names", [])), ckpt, state["model"])


def _checkpoint_in(folder: Path) -> Path:
    from ..train import rundir

    if not folder.is_dir():
        raise AnalysisError(f"{folder}: no such run directory or checkpoint file.")
    found = rundir.find_checkpoint(folder)
    if found is None:
        raise AnalysisError(f"{folder}: not a run directory (it holds neither "
                            f"{rundir.BEST} nor {rundir.LAST}).")
    return found


def _data_info(folder: Path) -> dict[str, Any]:
    """The dataset statistics the run normalised with, from its config.json."""
    from ..train import rundir

    info = rundir.read_data_info(folder)
    try:
        [float(v) for v in info["mean"]], [float(v) for v in info["std"]]
    except (KeyError, TypeError, ValueError):
        raise AnalysisError(f"{folder / rundir.CONFIG}: cannot read the run's data statistics "
                            "(missing, unreadable, or without mean and std).") from None
    return info


def validation_batches(run: Run, samples: int | None, batch_size: int,
                       device: torch.device | str = "cpu") -> list[tuple[Tensor, Tensor]]:
    """The run's validation images (the first ``samples`` of them, else all), normalised as
    in training, rebuilt from its data configuration through the data package."""
    from ..data import DataError, load_data

    try:  # the run's own batch size fits its training split, which load_data checks
        bundle = load_data(run.config.data, run.config.batch_size, device)
    except DataError as exc:
        raise AnalysisError(f"the run's data ({run.config.data.dataset}) cannot be loaded: "
                            f"{exc}") from None
    kept = take(bundle.val.epoch(0), samples)
    x, y = torch.cat([b[0] for b in kept]), torch.cat([b[1] for b in kept])
    return list(zip(x.split(batch_size), y.split(batch_size)))


def take(batches: Iterator[tuple[Tensor, Tensor]], samples: int | None
         ) -> list[tuple[Tensor, Tensor]]:
    """The batches holding the first ``samples`` images (all when None)."""
    kept, count = [], 0
    for x, y in batches:
        if samples is not None and count + len(x) > samples:
            x, y = x[: samples - count], y[: samples - count]
        if len(x):
            kept.append((x, y))
        count += len(x)
        if samples is not None and count >= samples:
            break
    if not kept:
        raise AnalysisError("the run's validation split holds no images to analyse.")
    return kept


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
    from ..files import write_text_atomic

    lines = [",".join(header)] + [",".join(_cell(v) for v in row) for row in rows]
    write_text_atomic(path, "\n".join(lines) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return f'"{text}"' if "," in text else text
