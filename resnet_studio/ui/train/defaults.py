"""The synthetic set shaped like a network's input, and what compute devices this machine has.

No Qt here. The training settings themselves come from the project and its recipe
(``train/recipe.py``, ``presets/recipes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...data import DataConfig
from ...graph import Graph

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
    """What PyTorch can train on here, and a sentence for the panel."""

    cuda: bool
    mps: bool
    description: str


UNKNOWN_DEVICES = Devices(False, False, "Looking for GPUs while PyTorch loads…")


def find_devices() -> Devices:
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    parts = []
    if cuda:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            parts.append(f"CUDA {i}: {props.name}, {props.total_memory / 2 ** 30:.1f} GiB")
    if mps:
        parts.append("Apple MPS (Metal)")
    parts.append(f"CPU: {torch.get_num_threads()} threads")
    if not cuda and not mps:
        parts.insert(0, "No GPU found; training runs on the CPU")
    return Devices(cuda, mps, " · ".join(parts))
