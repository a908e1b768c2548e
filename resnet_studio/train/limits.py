"""Training's memory, estimated from the compiler's counts before the data is loaded or the
network built, and refused (``BudgetError`` with the estimate and the limit) when it cannot
fit on the training device. The arithmetic is ``resnet_studio.budget``'s."""

from __future__ import annotations

from typing import Any

from ..budget import (
    FLOAT,
    TRAINING_STATE,
    backward_bytes,
    check_memory,
    images_bytes,
    network_numbers,
)
from ..graph import Graph
from .config import TrainConfig


def training_bytes(graph: Graph, config: TrainConfig) -> int | None:
    """Bytes a training step of ``graph`` holds at once — weights, gradients and the
    optimiser's two moments, one batch's activations kept for the backward pass with their
    gradients, the batch itself — plus the synthetic set, which lives on the device; None
    when the graph does not compile or its weights alone are too many to build (building it
    says why, in the network's own terms)."""
    from ..compiler import Analyzer
    from ..compiler.builder import parameter_limit

    analysis = Analyzer().analyze(graph)
    if not analysis.ok:
        return None
    params, activations, _ = network_numbers(analysis)
    if params * FLOAT > parameter_limit():
        return None
    spec = graph.input_spec
    shape = (spec.channels, spec.height, spec.width)
    needed = backward_bytes(params, activations, config.batch_size, TRAINING_STATE) \
        + images_bytes(config.batch_size, shape)
    data = config.data
    if data.dataset == "synthetic" and data.fit == "network":
        needed += images_bytes(data.train_size + data.val_size, shape, itemsize=1)
    return needed


def check_training(network: Any, config: TrainConfig, device: Any) -> None:
    """BudgetError when training ``network`` (a Graph; other networks are not estimated)
    needs more memory than ``device`` has free."""
    if not isinstance(network, Graph):
        return
    needed = training_bytes(network, config)
    if needed is None:
        return
    spec = network.input_spec
    check_memory(needed, f"training on {spec.channels}×{spec.height}×{spec.width} images in "
                 f"batches of {config.batch_size:,}", device,
                 "lower the batch size or the network's input size")
