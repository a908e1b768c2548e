"""Tiny networks and runs shared by the analysis tests (no tests of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from resnet_studio.graph import Graph, InputSpec
from resnet_studio.presets.base import Chain

SIZE, CLASSES = 8, 3


def tiny_resnet(shortcut: str = "A", channels: int = 3, blocks: int = 2) -> Graph:
    """A CIFAR-style ResNet in miniature: a 4-channel stem, two stages of basic blocks
    (4 channels, then 8 at stride 2), a linear head; 8×8 inputs, 3 classes."""
    chain = Chain(InputSpec(channels=channels, height=SIZE, width=SIZE, classes=CLASSES))
    chain.add("conv1", "conv2d", out_channels=4, kernel_size=3, stride=1, padding=1, bias=False)
    chain.add("bn1", "batchnorm2d")
    chain.add("relu", "relu")
    for index, planes in enumerate((4, 8)):
        chain.add(f"layer{index + 1}", "stage", block="basicblock", blocks=blocks, planes=planes,
                  stride=1 if index == 0 else 2, shortcut=shortcut)
    graph = chain.classifier()
    graph.name = "tiny"
    return graph


def tiny_run(folder: Path, shortcut: str = "A", epochs: int = 2, **changes: Any) -> Path:
    """Train ``tiny_resnet`` briefly on 48 synthetic 8×8 images; return the run directory."""
    from resnet_studio.data import DataConfig
    from resnet_studio.train import Engine, TrainConfig

    data = DataConfig(dataset="synthetic", train_size=48, val_size=24, image_size=SIZE,
                      channels=3, classes=CLASSES, seed=3)
    config = TrainConfig(epochs=epochs, batch_size=8, lr=0.05, schedule="constant",
                         device="cpu", seed=1, data=data, **changes).validate()
    end = Engine(tiny_resnet(shortcut), config, [], folder).run()
    assert end.status == "finished", end.message
    return folder


def batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 3, SIZE, SIZE, generator=gen),
            torch.randint(0, CLASSES, (n,), generator=gen))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (the file must really be a PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
