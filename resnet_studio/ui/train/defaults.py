"""The synthetic set shaped like a network's input, and what compute devices this machine has.

No Qt here. The training settings themselves come from the project and its recipe
(``train/recipe.py``, ``presets/recipes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...data import DataConfig
from ...graph import Graph
from ...train.devices import GpuInfo, list_gpus

SYNTHETIC_MAX_SIZE = 64     # larger inputs are drawn at this size (the input is adapted)
SYNTHETIC_MAX_CLASSES = 20  # the synthetic set's number of figures


def synthetic_for(graph: Graph, base: DataConfig | None = None) -> DataConfig:
    """The synthetic set drawn like the network's input (size capped, classes ≤ 20)."""
    spec = graph.input_spec
    size = max(8, min(spec.height, SYNTHETIC_MAX_SIZE))
    channels = spec.channels if spec.channels in (1, 3) else 3
    classes = max(2, min(spec.classes, SYNTHETIC_MAX_CLASSES))
    return (base or DataConfig()).replace(dataset="synthetic", image_size=size,
                                          channels=channels, classes=classes)


@dataclass(frozen=True)
class Devices:
    """What PyTorch can train on here, and a sentence for the panel. ``gpus`` are the CUDA
    GPUs (``train.devices.GpuInfo``); ``known`` is False until torch has loaded and been
    asked."""

    cuda: bool
    mps: bool
    description: str
    gpus: tuple[GpuInfo, ...] = ()
    known: bool = True


UNKNOWN_DEVICES = Devices(False, False, "Looking for GPUs while PyTorch loads…", known=False)


def find_devices() -> Devices:
    """Ask torch (which this loads) for the devices; GPUs through ``train.devices``."""
    import torch

    gpus = tuple(list_gpus())
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    parts = [f"CUDA {g.index}: {g.name}, {g.total_bytes / 2 ** 30:.1f} GiB" for g in gpus]
    if mps:
        parts.append("Apple MPS (Metal)")
    parts.append(f"CPU: {torch.get_num_threads()} threads")
    if not gpus and not mps:
        parts.insert(0, "No GPU found; training runs on the CPU")
    return Devices(bool(gpus), mps, " · ".join(parts), gpus)
