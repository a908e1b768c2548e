"""Shared helpers of the study tests: a tiny staged network and a tiny training budget.

Imported by the other ``test_study_*`` files; holds no tests itself. The network is the
CIFAR ResNet layout shrunk to 8×8 images and 4/8 channels, so that depth variants, block
variants and plain twins all apply, and a run of a few steps takes well under a second.
"""

from __future__ import annotations

from typing import Any

from test_train_support import CLASSES, SIZE, tiny_data

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import Graph, InputSpec
from resnet_studio.train import TrainConfig


def staged_graph(blocks: int = 1, shortcut: str = "A") -> Graph:
    """conv-BN-ReLU stem (4 channels), two stages of basic blocks (4 and 8 channels, the
    second at stride 2), pooling and a linear classifier: depth 2 + 4·blocks."""
    g = Graph(CATALOGUE, InputSpec(channels=3, height=SIZE, width=SIZE, classes=CLASSES),
              name="tiny")
    chain = [("input", "input", {}),
             ("conv1", "conv2d", {"out_channels": 4, "bias": False}),
             ("bn1", "batchnorm2d", {}), ("relu", "relu", {}),
             ("layer1", "stage", {"block": "basicblock", "blocks": blocks, "planes": 4,
                                  "stride": 1, "shortcut": shortcut}),
             ("layer2", "stage", {"block": "basicblock", "blocks": blocks, "planes": 8,
                                  "stride": 2, "shortcut": shortcut}),
             ("pool", "adaptiveavgpool2d", {"output_size": 1}), ("flatten", "flatten", {}),
             ("fc", "linear", {"out_features": "$classes"}), ("output", "output", {})]
    previous = None
    for node_id, type_id, params in chain:
        g.add_node(type_id, params, node_id=node_id)
        if previous is not None:
            g.connect(previous, "out", node_id, "in")
        previous = node_id
    return g


def budget(**changes: Any) -> TrainConfig:
    """Batches of 8 from 24 images, 3 steps per epoch, 2 epochs, on the CPU."""
    values: dict[str, Any] = {"epochs": 2, "batch_size": 8, "lr": 0.05, "schedule": "constant",
                              "device": "cpu", "telemetry_every": 1, "seed": 1,
                              "data": tiny_data(train_size=24, val_size=8)}
    values.update(changes)
    return TrainConfig(**values).validate()
