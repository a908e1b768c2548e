"""The analysis of head blocks: their shapes and costs on the meta device, and the wiring rules
that span more than one node (one task head, feeding only the Output node).

A head's costs count what torchvision runs for one image at inference, except the parts
without a fixed size: the RPN and RetinaNet heads over every pyramid level, Faster R-CNN's box
head on as many proposals as it keeps at test time (``rpn_post_nms_top_n_test``, fewer when
the image has fewer anchors); RoIAlign, anchor decoding and non-maximum suppression are left
out, as are the bilinear upsampling of a segmenter's scores (which has no multiplications).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from ..blocks import BlockType, Call, Detections, Pyramid, shape_text
from ..blocks.heads import DETECTION_HEADS, ROI_SIZE, SEGMENTATION_HEADS, feature_names
from ..graph import OUTPUT_TYPE, Graph
from .counting import CostCounter
from .task import HEAD_TASKS, TaskError, task_of

Shape = tuple[int, ...]
Measured = tuple[Any, int, int, int, str | None, Any]  # shape, params, flops, bytes, problem, op
TASK_HEADS = DETECTION_HEADS + SEGMENTATION_HEADS


class _Stand(nn.Module):
    """Stands in for the backbone while a detector is measured: only ``out_channels`` is read."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels


def is_head(type_id: str) -> bool:
    return type_id == "fpn" or type_id in HEAD_TASKS


def is_task_head(type_id: str) -> bool:
    return type_id in TASK_HEADS


def measure(block: BlockType, params: dict, shapes: tuple[Shape, ...]) -> Measured:
    """A head's output (a Pyramid, Detections or the class scores' shape), parameters, FLOPs
    and produced bytes per image, the check's problem if any, and the op it builds from."""
    problem = block.check(params, shapes) if block.check else None
    if problem:
        return None, 0, 0, 0, problem, None
    op = block.make(params, shapes)
    counter = CostCounter()
    with torch.device("meta"), torch.no_grad():
        out, count = _MEASURES[block.type_id](op, params, shapes, counter)
    return out, count, counter.flops, counter.activation_bytes, None, op


def _maps(shapes) -> list[torch.Tensor]:
    return [torch.empty((1, *s)) for s in shapes]


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _fpn(op: Call, params: dict, shapes, counter: CostCounter):
    fpn = op.build().eval()
    with counter:
        out = fpn(OrderedDict(zip(feature_names(len(shapes)), _maps(shapes))))
    levels = Pyramid(tuple(tuple(v.shape[1:]) for v in out.values()), taps=len(shapes))
    return levels, _params(fpn)


def _faster_rcnn(op: Call, params: dict, shapes, counter: CostCounter):
    pyramid = shapes[0]
    model = replace(op, args=(_Stand(pyramid[0][0]),)).build().eval()
    anchors = model.rpn.anchor_generator.num_anchors_per_location()[0]
    kept = min(model.rpn._post_nms_top_n["testing"],
               sum(anchors * s[1] * s[2] for s in pyramid))
    with counter:
        model.rpn.head(_maps(pyramid))
        regions = model.roi_heads.box_head(torch.empty(kept, pyramid[0][0], ROI_SIZE, ROI_SIZE))
        model.roi_heads.box_predictor(regions)
    return Detections((params["classes"],)), _params(model)


def _retinanet(op: Call, params: dict, shapes, counter: CostCounter):
    pyramid = shapes[0]
    model = replace(op, args=(_Stand(pyramid[0][0]),)).build().eval()
    with counter:
        model.head(_maps(pyramid))
    return Detections((params["classes"],)), _params(model)


def _segmentation(op: Call, params: dict, shapes, counter: CostCounter):
    head = op.build().eval()
    with counter:
        scores = head(*_maps(shapes))
        counter.activation_bytes += scores.element_size() * params["classes"] \
            * params["height"] * params["width"]  # the upsampled scores
    return (params["classes"], params["height"], params["width"]), _params(head)


_MEASURES: dict[str, Callable[..., tuple[Any, int]]] = {
    "fpn": _fpn, "faster_rcnn": _faster_rcnn, "retinanet": _retinanet,
    "fcn_head": _segmentation, "deeplabv3_head": _segmentation,
}


# ----- wiring rules ----------------------------------------------------------------------------
def _title(graph: Graph, node_id: str) -> str:
    spec = graph.node_spec(node_id)
    return f"{spec.title} ‘{node_id}’"


def input_problem(graph: Graph, node_id: str, sources: list[tuple[str, Shape]]) -> str | None:
    """Why ``node_id`` cannot take its inputs (source node id, shape), when one of them is a
    pyramid or a task head's output that only a detection head, or only the Output, takes."""
    type_id = graph.node(node_id).type_id
    for source, shape in sources:
        if graph.node(source).type_id in TASK_HEADS and type_id != OUTPUT_TYPE:
            return (f"{_title(graph, node_id)}: takes the output of the task head ‘{source}’, "
                    "which goes only to the Output node.")
        if isinstance(shape, Pyramid) and type_id not in DETECTION_HEADS + SEGMENTATION_HEADS:
            return (f"{_title(graph, node_id)}: takes the {shape_text(shape)} of ‘{source}’, "
                    "which only a detection head (Faster R-CNN, RetinaNet) takes.")
    return None


def wiring_problems(graph: Graph) -> list[tuple[str | None, str]]:
    """(node id, message) for each rule a graph with heads breaks: heads of two tasks, more
    than one task head, a head feeding anything but the Output, or an Output not fed by it."""
    heads = [n.id for n in graph if n.type_id in TASK_HEADS]
    try:
        task_of(graph)
    except TaskError as exc:
        return [(heads[-1], str(exc)[0].upper() + str(exc)[1:] + ".")]
    problems: list[tuple[str | None, str]] = []
    if len(heads) > 1:
        problems.append((heads[1], f"The network has {len(heads)} task heads "
                         f"({', '.join(heads)}); keep one."))
    for head in heads:
        for edge in graph.outgoing(head):
            if graph.node(edge.dst).type_id != OUTPUT_TYPE:
                problems.append((head, f"{_title(graph, head)}: its output feeds ‘{edge.dst}’; a "
                                 "task head's output goes only to the Output node."))
    if len(heads) == 1:
        problems += _output_fed(graph, heads[0])
    return problems


def _output_fed(graph: Graph, head: str) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    for output in graph.nodes_of_type(OUTPUT_TYPE):
        sources = [e.src for e in graph.incoming(output.id)]
        if sources and sources != [head]:
            problems.append((output.id, (
                f"Output ‘{output.id}’: takes ‘{sources[0]}’, but the network has the "
                f"{HEAD_TASKS[graph.node(head).type_id]} head ‘{head}’; connect the head to "
                "the Output instead.")))
    return problems
