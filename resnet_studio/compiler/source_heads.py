"""``model.py`` of a detector or segmenter: the backbone as readable PyTorch (``generate_source``
with features), then the network class as a subclass of torchvision's own model whose
``__init__`` spells out the head's constructor, so that the file needs only torch and
torchvision and ``Net()`` has exactly the ``state_dict`` keys of ``compiler.build``'s model:

    class Net(FasterRCNN):
        def __init__(self, zero_init_residual=False):
            fpn = FeaturePyramidNetwork([128, 256, 512], 256, extra_blocks=MaxPoolLevels(2))
            backbone = BackboneWithFPN(Backbone(zero_init_residual), fpn, 256)
            super().__init__(backbone, num_classes=4, min_size=64, …)
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from typing import Any

from torchvision.ops.feature_pyramid_network import ExtraFPNBlock

from ..blocks import Call, shape_text
from ..blocks.heads_modules import BackboneWithFPN, MaxPoolLevels
from ..graph import Graph
from .dense import TORCHVISION_MODELS, DensePlan
from .infer import Analysis
from .source import generate_source
from .source_render import Group, call_doc, layout

_BODY = " " * 8
_OURS = (MaxPoolLevels, BackboneWithFPN)
_MODEL_NAMES = {"faster_rcnn": "Faster R-CNN", "retinanet": "RetinaNet", "fcn_head": "FCN",
                "deeplabv3_head": "DeepLabV3"}


class _Imports:
    """The torchvision classes the head's constructor names, each imported from the shortest
    public module that has it (``torchvision.ops`` rather than ``torchvision.ops.poolers``)."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}  # module → names

    def name(self, target: Any) -> str:
        if target not in _OURS:
            self.names.setdefault(_public_module(target), set()).add(target.__name__)
        return target.__name__

    def lines(self) -> list[str]:
        return [f"from {module} import {', '.join(sorted(names))}"
                for module, names in sorted(self.names.items())]

    def render(self, call: Call, head: str | None = None) -> Group:
        return call_doc(call, head or self.name(call.target), self.render)


def _public_module(target: Any) -> str:
    parts = target.__module__.split(".")
    for end in range(1, len(parts) + 1):
        path = ".".join(parts[:end])
        if getattr(importlib.import_module(path), target.__name__, None) is target:
            return path
    return target.__module__


def dense_source(graph: Graph, class_name: str, analysis: Analysis, plan: DensePlan) -> str:
    """The text of ``model.py`` for the detector or segmenter ``plan`` describes."""
    body_name = "Backbone" if class_name != "Backbone" else "BackboneBody"
    imports = _Imports()
    model = _model_class(graph, class_name, body_name, plan, imports)
    helpers = [inspect.getsource(cls).strip() for cls in _OURS] if plan.detection else []
    extra = ["import torch.nn.functional as F"] if plan.detection else []
    if plan.detection:
        imports.name(ExtraFPNBlock)
    nodes = [node for _, node in plan.features]
    return generate_source(graph, body_name, analysis=analysis, features=nodes,
                           feature_keys=[key for key, _ in plan.features],
                           trailer="\n\n\n".join([*helpers, model]),
                           imports=extra + imports.lines(),
                           about=(_summary(graph, analysis, plan), _main(graph, class_name, plan)))


def _model_class(graph: Graph, class_name: str, body_name: str, plan: DensePlan,
                 imports: _Imports) -> str:
    base = imports.name(TORCHVISION_MODELS[plan.head_type])
    lines = [f"class {class_name}({base}):", f'    """{_doc(graph, body_name, plan)}"""', "",
             "    def __init__(self, zero_init_residual=False):"]
    if plan.detection:
        assert plan.fpn_op is not None
        lines += layout(imports.render(plan.fpn_op), _BODY, "fpn = ")
        lines.append(f"{_BODY}backbone = {imports.name(BackboneWithFPN)}("
                     f"{body_name}(zero_init_residual), fpn, {plan.fpn_op.args[1]})")
        head = call_doc(plan.head_op, "super().__init__", imports.render)
        head.items.insert(0, ("", "backbone"))
    else:
        head = Group("super().__init__(", [("", f"{body_name}(zero_init_residual)"),
                                           ("", imports.render(plan.head_op))], ")", call=True)
    return "\n".join(lines + layout(head, _BODY))


def _doc(graph: Graph, body_name: str, plan: DensePlan) -> str:
    spec = graph.input_spec
    model = _MODEL_NAMES[plan.head_type]
    taps = ", ".join(node for _, node in plan.features)
    where = f"the feature pyramid of {body_name}'s {taps}" if plan.detection \
        else f"{body_name}'s {taps}"
    out = ("boxes, labels and scores per image" if plan.detection
           else f"per-pixel scores {{\"out\": N×{spec.classes}×{spec.height}×{spec.width}}}")
    text = (f"torchvision's {model} on {where}: {spec.channels}×{spec.height}×{spec.width} "
            f"images in, {out} out, for {spec.classes} classes (the background, 0, included).")
    return textwrap.fill(text, 92, subsequent_indent="    ")


def _summary(graph: Graph, analysis: Analysis, plan: DensePlan) -> str:
    spec = graph.input_spec
    task = "Detector" if plan.detection else "Segmenter"
    head = analysis.nodes[plan.head]
    text = (f"{task} ({_MODEL_NAMES[plan.head_type]}) for {spec.channels}×{spec.height}×"
            f"{spec.width} images: {shape_text(head.out_shape)}; "
            f"{analysis.total_params:,} parameters. Images go in already normalised and at "
            "this size (the model neither resizes nor renormalises them).")
    return textwrap.fill(text, 96) + "\n"


def _main(graph: Graph, class_name: str, plan: DensePlan) -> str:
    spec = graph.input_spec
    lines = ['if __name__ == "__main__":', f"    model = {class_name}().eval()",
             f"    images = torch.randn(2, {spec.channels}, {spec.height}, {spec.width})",
             "    with torch.no_grad():"]
    if plan.detection:
        return "\n".join([*lines, "        for found in model(images):",
                          "            print({name: tuple(value.shape) "
                          "for name, value in found.items()})",
                          "    # expected per image: boxes (M, 4), labels (M,), scores (M,)"])
    expected = (2, spec.classes, spec.height, spec.width)
    return "\n".join([*lines, f'        print(tuple(model(images)["out"].shape))  '
                              f"# expected: {expected}"])
