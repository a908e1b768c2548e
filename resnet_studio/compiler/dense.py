"""Detectors and segmenters: torchvision's own models around the backbone a graph builds.

A graph whose stages feed an FPN and the FPN a detection head builds

    FasterRCNN(BackboneWithFPN(body, FeaturePyramidNetwork(...), 256), num_classes=K, ...)

(or RetinaNet), where ``body`` is the graph's network up to the stages the FPN takes,
returning them as an ``OrderedDict`` "0", "1", … finest first; state-dict keys are those of
torchvision's ``fasterrcnn_resnet50_fpn`` (``backbone.body.layer2…``, ``backbone.fpn…``,
``rpn…``, ``roi_heads…``). A graph with one stage feeding a segmentation head builds
torchvision's ``FCN`` or ``DeepLabV3`` with ``body`` returning that stage as ``"out"``; the
model upsamples the scores to the input's size. The models follow torchvision's contract
(``blocks.heads`` says how their transforms are set for images the data pipeline has already
normalised and sized).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn
from torchvision.models.detection import FasterRCNN, RetinaNet
from torchvision.models.segmentation import FCN, DeepLabV3

from ..blocks import Call
from ..blocks.heads import DETECTION_HEADS, feature_names
from ..blocks.heads_modules import BackboneWithFPN
from ..graph import Graph
from .heads import TASK_HEADS
from .infer import Analysis
from .module import GraphNet, assemble, operand_sources


class NodePaths:
    """Where each graph node's module sits in the model (``backbone.body.layer2``), for the
    per-layer telemetry that a network built from a graph gives (``GraphNet.node_paths``)."""

    graph_paths: dict[str, str]

    def node_paths(self) -> dict[str, str]:
        return dict(self.graph_paths)


class GraphFasterRCNN(NodePaths, FasterRCNN):
    """torchvision's FasterRCNN, knowing its graph's node paths."""


class GraphRetinaNet(NodePaths, RetinaNet):
    """torchvision's RetinaNet, knowing its graph's node paths."""


class GraphFCN(NodePaths, FCN):
    """torchvision's FCN, knowing its graph's node paths."""


class GraphDeepLabV3(NodePaths, DeepLabV3):
    """torchvision's DeepLabV3, knowing its graph's node paths."""


# torchvision's model class for each head, and ours that also names the graph's node paths.
TORCHVISION_MODELS = {"faster_rcnn": FasterRCNN, "retinanet": RetinaNet, "fcn_head": FCN,
                      "deeplabv3_head": DeepLabV3}
_MODELS = {"faster_rcnn": GraphFasterRCNN, "retinanet": GraphRetinaNet, "fcn_head": GraphFCN,
           "deeplabv3_head": GraphDeepLabV3}
# The module of the head node: the part of torchvision's model that the head block adds.
HEAD_MODULE = {"faster_rcnn": "roi_heads", "retinanet": "head", "fcn_head": "classifier",
               "deeplabv3_head": "classifier"}


@dataclass(frozen=True)
class DensePlan:
    """What a graph with a task head builds: the head (node and constructor), the FPN between
    it and the backbone (detection only), and the nodes the backbone returns under which keys."""

    head: str
    head_type: str
    head_op: Call
    features: tuple[tuple[str, str], ...]  # (key, node id), finest first
    fpn: str | None = None
    fpn_op: Call | None = None

    @property
    def detection(self) -> bool:
        return self.head_type in DETECTION_HEADS

    @property
    def body_prefix(self) -> str:
        return "backbone.body." if self.detection else "backbone."


def head_of(graph: Graph) -> str | None:
    """The task head's node id, None for a classifier."""
    return next((n.id for n in graph if n.type_id in TASK_HEADS), None)


def dense_plan(graph: Graph, analysis: Analysis) -> DensePlan | None:
    """The plan of a graph with a task head (None without one), from an error-free analysis."""
    head = head_of(graph)
    if head is None:
        return None
    head_type = graph.node(head).type_id
    (source,) = operand_sources(graph, head)
    if head_type not in DETECTION_HEADS:
        return DensePlan(head, head_type, analysis.nodes[head].op, (("out", source),))
    taps = operand_sources(graph, source)
    return DensePlan(head, head_type, analysis.nodes[head].op,
                     tuple(zip(feature_names(len(taps)), taps)), source,
                     analysis.nodes[source].op)


def assemble_dense(graph: Graph, plan: DensePlan, analysis: Analysis) -> nn.Module:
    """torchvision's model for ``plan`` around the graph's backbone (fresh initialisation:
    the caller initialises the backbone as it initialises any network)."""
    body = assemble(graph, analysis, plan.features)
    model_class = _MODELS[plan.head_type]
    if plan.detection:
        assert plan.fpn_op is not None
        backbone = BackboneWithFPN(body, plan.fpn_op.build(), plan.fpn_op.args[1])
        model = replace(plan.head_op, target=model_class, args=(backbone,)).build()
    else:
        model = model_class(body, plan.head_op.build())
    model.graph_paths = _paths(plan, body)
    return model


def _paths(plan: DensePlan, body: GraphNet) -> dict[str, str]:
    paths = {node: plan.body_prefix + path for node, path in body.node_paths().items()}
    if plan.fpn is not None:
        paths[plan.fpn] = "backbone.fpn"
    paths[plan.head] = HEAD_MODULE[plan.head_type]
    return paths


def backbone_body(model: nn.Module) -> GraphNet:
    """The GraphNet inside a model ``assemble_dense`` built."""
    backbone = model.backbone
    return backbone.body if isinstance(backbone, BackboneWithFPN) else backbone
