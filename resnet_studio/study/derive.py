"""Networks derived from a project: another depth, another residual block, another width,
the plain twin. Each returns a new graph; the project itself is never changed.

Depth is counted as He et al. count it: the weighted layers on the main path (every
convolution and linear layer outside residual blocks, plus each block's convolutions),
so the CIFAR ResNet with n blocks per stage has depth 6n + 2. A depth is reached by giving
every ``stage`` node the same number of blocks; networks without stages cannot change depth.
"""

from __future__ import annotations

import math
from typing import Any

from ..blocks.stages import shortcut_for
from ..graph import Graph
from ..graph.project import from_dict, to_dict
from ..presets.twin import plain_twin
from .plan import StudyError

RESIDUAL_CATEGORY = "Residual blocks"
STAGE = "stage"
WEIGHTED = ("conv2d", "linear")
# Convolutions on the main path of each residual block type (SE gates and 1×1 fusion or
# projection layers are not counted, as the papers do not count them).
BLOCK_DEPTH = {"basicblock": 2, "bottleneck": 3, "preactblock": 2, "sebasicblock": 2,
               "scaledresidual": 2, "resnormblock": 2, "fusionblock": 2, "convnextblock": 3,
               "simpleresidual": 2}


def residual_types(graph: Graph) -> list[str]:
    """The residual block type ids the catalogue offers (every one a stage can hold)."""
    stage = graph.spec(STAGE)
    return list(stage.param("block").choices) if stage is not None else list(BLOCK_DEPTH)


def is_residual_block(graph: Graph, type_id: str) -> bool:
    spec = graph.spec(type_id)
    return spec is not None and spec.category == RESIDUAL_CATEGORY


def depth(graph: Graph) -> int:
    """Weighted layers on the main path (see the module docstring)."""
    total = 0
    for node in graph:
        if node.type_id in WEIGHTED:
            total += 1
        elif node.type_id == STAGE:
            total += node.params["blocks"] * BLOCK_DEPTH.get(node.params["block"], 2)
        elif is_residual_block(graph, node.type_id):
            total += BLOCK_DEPTH.get(node.type_id, 2)
    return total


def reachable_depths(graph: Graph, limit: int = 6) -> tuple[int, int, list[int]]:
    """(fixed, step, first depths): the depths ``with_depth`` can reach are fixed + step·n."""
    stages = graph.nodes_of_type(STAGE)
    step = sum(BLOCK_DEPTH.get(s.params["block"], 2) for s in stages)
    fixed = depth(graph) - sum(s.params["blocks"] * BLOCK_DEPTH.get(s.params["block"], 2)
                               for s in stages)
    return fixed, step, [fixed + step * n for n in range(1, limit + 1)]


def with_depth(graph: Graph, target: int) -> Graph:
    """``graph`` with every stage holding n blocks so that its depth is ``target``."""
    stages = graph.nodes_of_type(STAGE)
    if not stages:
        raise StudyError(f"‘{graph.name or 'the project'}’ has no stage nodes, so its depth "
                         "cannot be varied; build it from stages (as the ResNet presets are).")
    fixed, step, first = reachable_depths(graph)
    n, rest = divmod(target - fixed, step)
    if rest or n < 1:
        raise StudyError(f"depth {target} cannot be reached: with {len(stages)} stage(s) this "
                         f"network has depth {fixed} + {step}·n ({', '.join(map(str, first))}, "
                         "…).")
    out = graph.copy()
    for stage in stages:
        out.set_params(stage.id, {"blocks": n})
    out.name = f"{graph.name or 'net'}_d{target}"
    return out


def with_block(graph: Graph, type_id: str) -> Graph:
    """``graph`` with every residual block and every stage's blocks of type ``type_id``.

    Parameters the new type declares keep their values (planes, stride, groups …); the
    shortcut keeps its kind where the new type offers it and becomes ``auto`` where not (the
    pre-activation and SE blocks have no parameter-free option-A shortcut)."""
    if type_id not in residual_types(graph):
        raise StudyError(f"‘{type_id}’ is not a residual block type; known: "
                         f"{', '.join(residual_types(graph))}.")
    data = to_dict(graph)
    channels = _input_channels(graph)
    new_spec = graph.spec(type_id)
    shortcut_choices = new_spec.param("shortcut").choices
    touched = 0
    for node in data["nodes"]:
        if node["type"] == STAGE:
            node["params"]["block"] = type_id
            node["params"]["shortcut"] = _shortcut(node["params"].get("shortcut", "auto"),
                                                   shortcut_choices)
            touched += 1
        elif is_residual_block(graph, node["type"]):
            node["params"] = _carried(node["params"], new_spec, shortcut_choices)
            if new_spec.param("planes") is not None and "planes" not in node["params"]:
                node["params"]["planes"] = channels.get(node["id"], 64)  # keep the width
            node["type"] = type_id
            touched += 1
    if not touched:
        raise StudyError(f"‘{graph.name or 'the project'}’ has no residual blocks or stages "
                         "to swap.")
    data["name"] = f"{graph.name or 'net'}_{type_id}"
    return from_dict(data, graph.lookup, f"{graph.name or 'the project'} with {type_id} blocks")


def _input_channels(graph: Graph) -> dict[str, int]:
    """Input channels of every node whose input is a feature map (from shape inference)."""
    from ..compiler import Analyzer

    nodes = Analyzer().analyze(graph).nodes
    return {k: i.in_shapes[0][0] for k, i in nodes.items()
            if i.in_shapes and len(i.in_shapes[0]) == 3}


def _shortcut(value: str, choices: tuple[str, ...]) -> str:
    if value == "none":
        return "none" if "none" in choices else choices[0]
    return shortcut_for(value, choices) or ("auto" if "auto" in choices else choices[0])


def _carried(params: dict[str, Any], spec: Any, shortcut_choices: tuple[str, ...]) -> dict:
    kept = {p.name: params[p.name] for p in spec.params if p.name in params}
    if "shortcut" in kept:
        kept["shortcut"] = _shortcut(kept["shortcut"], shortcut_choices)
    return kept


def with_width(graph: Graph, factor: float) -> Graph:
    """``graph`` with the output channels of every convolution, stage and residual block
    multiplied by ``factor`` (rounded, at least 1); the classifier keeps its classes."""
    if not factor > 0 or not math.isfinite(factor):
        raise StudyError(f"width factor {factor!r} must be a positive number.")
    out = graph.copy()
    for node in list(out):
        key = ("out_channels" if node.type_id == "conv2d" else
               "planes" if "planes" in node.params else None)
        value = node.params.get(key) if key else None
        if isinstance(value, int) and not isinstance(value, bool):
            out.set_params(node.id, {key: max(1, round(value * factor))})
    out.name = f"{graph.name or 'net'}_w{factor:g}"
    return out


def twin(graph: Graph) -> Graph:
    """The plain twin, or a StudyError when the network has no skip connection to remove."""
    plain = plain_twin(graph)
    if _body(plain) == _body(graph):
        raise StudyError(f"‘{graph.name or 'the project'}’ has no skip connections, so its "
                         "plain twin would be the same network.")
    return plain


def _body(graph: Graph) -> Any:
    data = to_dict(graph)
    return data["nodes"], data["edges"], data.get("blocks")
