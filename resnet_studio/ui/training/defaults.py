"""Starting training settings for a network, and what compute devices this machine has.

No Qt here. The defaults follow the papers the presets come from, scaled to runs that finish
in minutes on the built-in synthetic set: SGD with momentum 0.9 and a cosine schedule, the
CIFAR ResNets' weight decay of 1e-4 (He et al. 2015, §4.2), the wide ResNet's 5e-4 with
Nesterov momentum (Zagoruyko & Komodakis 2016), and for the ImageNet networks a learning rate
of 0.1 × batch / 256 with a warm-up epoch (Goyal et al. 2017, https://arxiv.org/abs/1706.02677).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...data import DataConfig
from ...graph import Graph
from ...presets import PRESETS
from ...train import TrainConfig

SYNTHETIC_MAX_SIZE = 64     # larger inputs are drawn at this size (the input is adapted)
SYNTHETIC_MAX_CLASSES = 20  # the synthetic set's number of figures

_BY_FAMILY: dict[str, dict[str, Any]] = {
    "Starter": {"epochs": 10, "lr": 0.1, "weight_decay": 5e-4, "batch_size": 128},
    "MNIST": {"epochs": 5, "lr": 0.05, "weight_decay": 5e-4, "batch_size": 128},
    "CIFAR ResNet": {"epochs": 30, "lr": 0.1, "weight_decay": 1e-4, "batch_size": 128},
    "CIFAR plain": {"epochs": 30, "lr": 0.1, "weight_decay": 1e-4, "batch_size": 128},
    "Wide ResNet": {"epochs": 30, "lr": 0.1, "weight_decay": 5e-4, "batch_size": 128,
                    "nesterov": True},
    "Pre-activation": {"epochs": 30, "lr": 0.1, "weight_decay": 5e-4, "batch_size": 128},
    "ImageNet ResNet": {"epochs": 10, "lr": 0.025, "weight_decay": 1e-4, "batch_size": 64,
                        "warmup_epochs": 1.0, "label_smoothing": 0.1},
}
_OTHER = {"epochs": 10, "lr": 0.05, "weight_decay": 5e-4, "batch_size": 64}


def preset_defaults(graph: Graph) -> TrainConfig:
    """Settings for ``graph``: those saved with the project if any, else its preset family's,
    always on the built-in synthetic set shaped like the network's input."""
    saved = _saved(graph)
    if saved is not None:
        return saved
    preset = PRESETS.get(graph.name or "")
    values = dict(_BY_FAMILY.get(preset.family, _OTHER) if preset else _OTHER)
    return TrainConfig(optimizer="sgd", momentum=0.9, schedule="cosine",
                       data=synthetic_for(graph), **values)


def _saved(graph: Graph) -> TrainConfig | None:
    settings = (graph.training or {}).get("config") if isinstance(graph.training, dict) else None
    if not isinstance(settings, dict):
        return None
    try:
        return TrainConfig.from_dict(settings)
    except ValueError:  # an older or hand-edited file: fall back to the defaults
        return None


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
