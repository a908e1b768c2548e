"""Graphs with heads for the tests: torchvision's ResNet-18 layout (the preset) at 64×64 with
4 classes (the background and the three shapes), its classifier replaced by a head."""

from __future__ import annotations

from resnet_studio.graph import Graph, InputSpec
from resnet_studio.presets import create

SPEC = InputSpec(channels=3, height=64, width=64, classes=4)
STAGES = ("layer2", "layer3", "layer4")


def backbone(spec: InputSpec = SPEC) -> Graph:
    """The ResNet-18 preset without its classifier (avgpool, flatten, fc)."""
    graph = create("resnet18", spec)
    for node_id in ("avgpool", "flatten", "fc"):
        graph.remove_node(node_id)
    return graph


def detector(head: str = "faster_rcnn", taps: tuple[str, ...] = STAGES,
             spec: InputSpec = SPEC) -> Graph:
    """``taps`` → FPN ``fpn`` → ``head`` (node ``det``) → Output."""
    graph = backbone(spec)
    graph.add_node("fpn", {}, node_id="fpn")
    for stage in taps:
        graph.connect(stage, "out", "fpn", "in")
    graph.add_node(head, {}, node_id="det")
    graph.connect("fpn", "out", "det", "in")
    graph.connect("det", "out", "output", "in")
    return graph


def segmenter(head: str = "fcn_head", tap: str = "layer4", spec: InputSpec = SPEC) -> Graph:
    """``tap`` → ``head`` (node ``seg``) → Output."""
    graph = backbone(spec)
    graph.add_node(head, {}, node_id="seg")
    graph.connect(tap, "out", "seg", "in")
    graph.connect("seg", "out", "output", "in")
    return graph


def errors(analysis) -> list[tuple[str | None, str]]:
    return [(d.node_id, d.message) for d in analysis.diagnostics if d.severity == "error"]


SHAPE_NAMES = ["background", "square", "disc", "triangle"]


def trained_dense(graph: Graph, path):
    """``graph`` built with seed 0 as an export's ``Trained`` at ``path``, its batch norms given
    trained-looking statistics, so that an export's check compares real numbers."""
    import torch

    from resnet_studio.compiler import build
    from resnet_studio.export.trained import Trained

    torch.manual_seed(0)
    model = build(graph).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return Trained(path, {"model": model.state_dict(), "config": {}}, graph, SHAPE_NAMES)
