"""The trained network and validation samples behind Check an Image.

Kept apart from the runs feature because it imports torch, the compiler and the data loaders:
the feature imports this module when the user checks an image, not when the window opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...compiler import build
from ...data import DataConfig, DataError, load_data
from ...graph import Graph
from ...graph.project import from_dict
from ...train.checkpoint import load_checkpoint
from ...train.rundir import find_checkpoint
from ...train.setup import load_weights


def model_for_check(run: Path | None, lookup: Any) -> tuple[torch.nn.Module, str]:
    """The run's trained network, from its checkpoint (``best.pt``, else ``last.pt``):
    the same whether the run trained in this window, in another, or on the command line."""
    if run is None:
        raise FileNotFoundError("Train a network or open a run first.")
    checkpoint = find_checkpoint(run)
    if checkpoint is None:
        raise FileNotFoundError(f"{run} has no checkpoint yet (best.pt is written after "
                                "the first epoch).")
    return load_model(checkpoint, lookup), f"{checkpoint.name} of {run.name}"


def load_model(path: Path, lookup: Any) -> torch.nn.Module:
    """The network a checkpoint holds, built from its graph (custom blocks looked up in
    ``lookup``) with its weights, in eval mode."""
    checkpoint = load_checkpoint(path)
    graph: Graph = from_dict(checkpoint.get("graph") or {}, lookup, str(path))
    model = build(graph)
    load_weights(model, checkpoint)
    return model.eval()


def sampler(config: dict[str, Any]):
    """``index → (normalised image, label)`` of the run's validation split, loaded on
    first use with the run's batch size (None when its data settings cannot be read)."""
    data, batch_size = config.get("data"), config.get("batch_size")
    if not isinstance(data, dict) or not isinstance(batch_size, int):
        return None
    cache: dict[str, Any] = {}

    def sample(index: int) -> tuple[torch.Tensor, int]:
        if "val" not in cache:
            cache["val"] = load_data(DataConfig.from_dict(data), batch_size, "cpu").val
        val = cache["val"]
        for i, (x, y) in enumerate(val.epoch(0)):
            if i == index // val.batch_size:
                return x[index % val.batch_size].cpu(), int(y[index % val.batch_size])
        raise IndexError(index)

    try:
        DataConfig.from_dict(data)
    except DataError:
        return None
    return sample
