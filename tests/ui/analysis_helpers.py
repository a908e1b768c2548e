"""Tiny networks, runs and images for the analyses' UI tests (no tests of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from resnet_studio.graph import Graph, InputSpec
from resnet_studio.presets.base import Chain

SIZE, CLASSES = 8, 3


def tiny_resnet(blocks: int = 1) -> Graph:
    """A CIFAR-style ResNet in miniature: a stem, two stages of basic blocks (4 channels,
    then 8 at stride 2), a linear head; 8×8 inputs, 3 classes."""
    chain = Chain(InputSpec(channels=3, height=SIZE, width=SIZE, classes=CLASSES))
    chain.add("conv1", "conv2d", out_channels=4, kernel_size=3, stride=1, padding=1, bias=False)
    chain.add("bn1", "batchnorm2d")
    chain.add("relu", "relu")
    for index, planes in enumerate((4, 8)):
        chain.add(f"layer{index + 1}", "stage", block="basicblock", blocks=blocks, planes=planes,
                  stride=1 if index == 0 else 2, shortcut="A")
    graph = chain.classifier()
    graph.name = "tiny"
    return graph


def tiny_run(folder: Path, graph: Graph | None = None, epochs: int = 1) -> Path:
    """Train ``graph`` (``tiny_resnet`` by default) briefly on 48 synthetic 8×8 images."""
    from resnet_studio.data import DataConfig
    from resnet_studio.train import Engine, TrainConfig

    data = DataConfig(dataset="synthetic", train_size=48, val_size=24, image_size=SIZE,
                      channels=3, classes=CLASSES, seed=3)
    config = TrainConfig(epochs=epochs, batch_size=8, lr=0.05, schedule="constant",
                         device="cpu", seed=1, data=data).validate()
    end = Engine(graph or tiny_resnet(), config, [], folder).run()
    assert end.status == "finished", end.message
    return folder


def image_file(path: Path, seed: int = 0) -> Path:
    """A small random RGB PNG."""
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def accepting(**fields: Any):
    """An ``ask`` for the analyses feature that sets the dialog's fields and accepts it:
    values for spin boxes and combo boxes (by data), text for path pickers."""

    def ask(dialog) -> bool:
        for name, value in fields.items():
            widget = getattr(dialog, name)
            if hasattr(widget, "edit"):
                widget.edit.setText(str(value))
            elif hasattr(widget, "findData"):
                widget.setCurrentIndex(widget.findData(value))
            elif hasattr(widget, "setChecked"):
                widget.setChecked(value)
            else:
                widget.setValue(value)
        dialog.accept()
        return dialog.result() == dialog.DialogCode.Accepted

    return ask


def png_header_ok(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
