"""The trained network and validation samples behind Check an Image.

Kept apart from the runs feature because it imports torch, the compiler and the data loaders:
the feature imports this module when the user checks an image, not when the window opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...compiler import build
from ...data import load_spec
from ...graph import Graph
from ...graph.project import from_dict
from ...train.checkpoint import load_checkpoint
from ...train.rundir import RunReadError, find_checkpoint, read_data_spec, read_train_config
from ...train.setup import load_weights
from ..shell.session import NO_RUN_IN_FOCUS


def model_for_check(run: Path | None, lookup: Any) -> tuple[torch.nn.Module, str]:
    """The run's trained network, from its checkpoint (``best.pt``, else ``last.pt``):
    the same whether the run trained in this window, in another, or on the command line."""
    if run is None:
        raise FileNotFoundError(NO_RUN_IN_FOCUS)
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


def data_facts(run: Path) -> dict[str, Any] | None:
    """Input shape, normalisation and class names of the run's data, from its data spec
    (None when the run has none that can be read)."""
    try:
        spec = read_data_spec(run)
    except RunReadError:
        return None
    c, h, w = spec.shape
    return {"channels": c, "height": h, "width": w, "mean": list(spec.mean),
            "std": list(spec.std), "class_names": list(spec.class_names)}


def sampler(run: Path | None):
    """``index → (normalised image, label)`` of the run's validation split, rebuilt from its
    data spec on first use with the run's batch size (None when the run has no spec that can
    be read). A spec whose data cannot be loaded raises DataError when a sample is asked for."""
    if run is None:
        return None
    try:
        spec = read_data_spec(run)
    except RunReadError:
        return None
    batch_size = read_train_config(run).get("batch_size")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        return None
    cache: dict[str, Any] = {}

    def sample(index: int) -> tuple[torch.Tensor, int]:
        if "val" not in cache:
            cache["val"] = load_spec(spec, batch_size, "cpu").val
        val = cache["val"]
        if not 0 <= index < val.size:
            raise IndexError(f"the run has {val.size} validation images")
        x, y = next(val.epoch(0, start_batch=index // val.batch_size))
        return x[index % val.batch_size].cpu(), int(y[index % val.batch_size])

    return sample
