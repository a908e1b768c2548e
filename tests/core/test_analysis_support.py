"""Tiny networks and runs shared by the analysis tests (no tests of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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


def image_folder(root: Path, channels: int, size: int, per_class: tuple[int, ...] = (12, 12, 12)
                 ) -> Path:
    """An ImageFolder tree of PNGs (grey for 1 channel, RGB for 3) at ``size``×``size``:
    class k is a bright square at a place of its own on noise, so a network can learn it."""
    from PIL import Image

    gen = np.random.default_rng(7)
    for label, count in enumerate(per_class):
        folder = root / f"class_{'abc'[label]}"
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = gen.integers(0, 90, (size, size, channels), dtype=np.uint8)
            at = label * size // len(per_class)
            pixels[at: at + size // 3, at: at + size // 3] = 255
            image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
            image.save(folder / f"{i:03d}.png")
    return root


def tiny_net(channels: int, size: int, classes: int = CLASSES) -> Graph:
    """A stride-2 stem and one stage of two basic blocks at ``channels``×``size``×``size``."""
    chain = Chain(InputSpec(channels=channels, height=size, width=size, classes=classes))
    chain.add("conv1", "conv2d", out_channels=4, kernel_size=3, stride=2, padding=1, bias=False)
    chain.add("bn1", "batchnorm2d")
    chain.add("relu", "relu")
    chain.add("layer1", "stage", block="basicblock", blocks=2, planes=4, stride=2, shortcut="A")
    graph = chain.classifier()
    graph.name = f"tiny{channels}x{size}"
    return graph


def train_once(folder: Path, graph: Graph, data: Any, epochs: int = 1) -> Any:
    """Train ``graph`` on ``data`` (a DataConfig) for ``epochs`` with batches of 8 into the
    run directory ``folder``; the engine, whose session still holds the data it trained on."""
    from resnet_studio.train import Engine, TrainConfig

    config = TrainConfig(epochs=epochs, batch_size=8, lr=0.05, schedule="constant",
                         device="cpu", seed=1, data=data).validate()
    engine = Engine(graph, config, [], folder)
    end = engine.run()
    assert end.status == "finished", end.message
    return engine
