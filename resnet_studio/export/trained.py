"""What an export starts from: a training checkpoint, or a run directory holding one.

``open_trained`` reads the checkpoint safely (``weights_only``), rebuilds the network from the
project stored in it, loads the trained weights, and gathers what a deployed model needs to
know besides its weights: the class names and the input normalisation of the dataset.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..blocks import CATALOGUE
from ..compiler import BuildError, build
from ..data import DataError, DataSpec
from ..graph import Graph, GraphError, InputSpec, project
from ..train.checkpoint import (
    DATA_INFO,
    DATA_SPEC,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from ..train.rundir import RunReadError, read_data_info, read_data_spec
from ..train.rundir import find_checkpoint as run_checkpoint
from .errors import ExportError
from .weights import describe_mismatch, mismatch


@dataclass
class Trained:
    """A trained network ready to export."""

    path: Path                      # the checkpoint file
    checkpoint: dict[str, Any]
    graph: Graph
    class_names: list[str]
    mean: tuple[float, ...] | None = None  # input normalisation, when known
    std: tuple[float, ...] | None = None
    _model: nn.Module | None = field(default=None, repr=False)

    @property
    def input_spec(self) -> InputSpec:
        return self.graph.input_spec

    @property
    def image_shape(self) -> tuple[int, int, int]:
        spec = self.input_spec
        return spec.channels, spec.height, spec.width

    @property
    def config(self) -> dict[str, Any]:
        return self.checkpoint["config"]

    def model(self) -> nn.Module:
        """The network with the trained weights, in evaluation mode, on the CPU."""
        if self._model is None:
            self._model = network_with_weights(self.graph, self.checkpoint["model"],
                                               str(self.path))
        return self._model


def find_checkpoint(source: str | Path) -> Path:
    """The checkpoint file ``source`` names: itself, or a run directory's best.pt (else
    last.pt)."""
    path = Path(source)
    if path.is_dir():
        found = run_checkpoint(path)
        if found is not None:
            return found
        raise ExportError(f"{path} holds neither best.pt nor last.pt; give a checkpoint file "
                          "or the run directory of a ResNet Studio training run.")
    if not path.exists():
        raise ExportError(f"{path}: no such checkpoint file or run directory.")
    return path


def open_trained(source: str | Path) -> Trained:
    """Read the checkpoint (or run directory) ``source``; raises ExportError when it is
    missing, damaged, foreign, or holds no project."""
    path = find_checkpoint(source)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    graph = graph_of(checkpoint, path)
    names, mean, std = _data_facts(path, checkpoint, graph.input_spec.classes)
    return Trained(path, checkpoint, graph, names, mean, std)


def graph_of(checkpoint: dict[str, Any], path: Path) -> Graph:
    data = checkpoint.get("graph")
    if data is None:
        raise ExportError(f"{path}: the checkpoint holds no project (the network was trained "
                          "from a plain nn.Module), so its network cannot be rebuilt here.")
    try:
        return project.from_dict(data, CATALOGUE, name=f"{path} (project)")
    except GraphError as exc:
        raise ExportError(str(exc)) from None


def network_with_weights(graph: Graph, state: dict[str, torch.Tensor], where: str) -> nn.Module:
    """``build(graph)`` with ``state`` loaded strictly, in evaluation mode."""
    try:
        model = build(graph)
    except BuildError as exc:
        raise ExportError(f"{where}: the project cannot be built: {exc}") from None
    problem = mismatch(model.state_dict(), state)
    if problem:
        raise ExportError(f"{where}: the weights do not fit the project "
                          f"({describe_mismatch(problem)}).")
    model.load_state_dict(state)
    return model.eval()


# ----- what the dataset says about inputs and outputs ----------------------------------------
def _data_facts(path: Path, checkpoint: dict[str, Any],
                classes: int) -> tuple[list[str], tuple | None, tuple | None]:
    """Class names and normalisation: from the run's data spec (its run directory's, else
    the checkpoint's), else from the run directory's dataset description, else from the
    checkpoint's (``data_info``: written by the engine and by ``copy_checkpoint``), else from
    the data configuration where that is enough."""
    info = _spec_facts(path.parent, checkpoint) or read_data_info(path.parent)
    if "class_names" not in info:  # no run directory (or a config.json of another kind)
        info = data_info_of(checkpoint) or _info_from_config(checkpoint.get("config") or {})
    names = [str(n) for n in info.get("class_names") or []]
    if len(names) != classes:
        names = [str(i) for i in range(classes)]
    mean, std = info.get("mean"), info.get("std")
    return names, tuple(mean) if mean else None, tuple(std) if std else None


def _spec_facts(folder: Path, checkpoint: dict[str, Any]) -> dict[str, Any]:
    try:
        spec = read_data_spec(folder)
    except RunReadError:
        try:
            raw = checkpoint.get(DATA_SPEC)
            spec = DataSpec.from_dict(raw) if raw is not None else None
        except DataError:
            spec = None
    if spec is None:
        return {}
    return {"class_names": list(spec.class_names), "mean": list(spec.mean),
            "std": list(spec.std)}


def data_info_of(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The dataset description a checkpoint carries ({} for one written before it did)."""
    info = checkpoint.get(DATA_INFO)
    return info if isinstance(info, dict) and "class_names" in info else {}


def copy_checkpoint(source: Path, target: Path) -> Path:
    """Copy the checkpoint ``source`` to ``target`` so that it keeps what the run directory
    knew of the data: one that carries no ``data_info`` (written before checkpoints did) gets
    the run's, so an export made later from the copy keeps the input normalisation. Raises
    ExportError for an unreadable checkpoint or a target that cannot be written."""
    try:
        checkpoint = load_checkpoint(source)
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    info = read_data_info(source.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if data_info_of(checkpoint) or "class_names" not in info:
            shutil.copyfile(source, target)
        else:
            save_checkpoint({**checkpoint, DATA_INFO: info}, target)
    except OSError as exc:
        raise ExportError(f"{target} cannot be written ({exc.strerror or exc}).") from None
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    return target


def _info_from_config(config: dict[str, Any]) -> dict[str, Any]:
    data = config.get("data") or {}
    name = data.get("dataset")
    if name == "synthetic":
        from ..data.synthetic import CLASS_NAMES

        return {"class_names": list(CLASS_NAMES[:int(data.get("classes", 0))])}
    from ..data.torchvision_sets import SETS

    if name in SETS:
        return {"mean": SETS[name].mean, "std": SETS[name].std}
    return {}
