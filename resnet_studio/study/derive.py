"""Networks derived from a project: another depth, another residual block, another width,
the plain twin. Each returns a new graph; the project itself is never changed.

Depth is counted as He et al. count it, from the analysed graph's own layers (see
``compiler.depth``): the weighted layers on the main path, a residual block counting its
branch, so the CIFAR ResNet with n blocks per stage has depth 6n + 2 and ResNet-50 has 50. A
depth is reached by setting the blocks of every ``stage`` node: to one of the family's named
layouts where one gives that depth (torchvision's 3-4-6-3 … for the ResNets and their
relatives, ConvNeXt's 3-3-9-3 …), else to the same number in every stage. Networks without
stages cannot change depth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..blocks import CATALOGUE
from ..blocks.stages import shortcut_for
from ..graph import Graph, GraphError
from ..graph.project import from_dict, to_dict
from ..presets.catalogue import named_layouts
from ..presets.twin import plain_twin
from .plan import StudyError

RESIDUAL_CATEGORY = "Residual blocks"
STAGE = "stage"


def residual_types(graph: Graph) -> list[str]:
    """The residual block type ids the catalogue offers (every one a stage can hold)."""
    stage = graph.spec(STAGE)
    if stage is not None:
        return list(stage.param("block").choices)
    return [b.type_id for b in CATALOGUE if b.spec.category == RESIDUAL_CATEGORY]


def is_residual_block(graph: Graph, type_id: str) -> bool:
    spec = graph.spec(type_id)
    return spec is not None and spec.category == RESIDUAL_CATEGORY


_COUNTER: list[Any] = []  # one DepthCounter: its caches hold each block configuration once


def _counter() -> Any:
    if not _COUNTER:
        from ..compiler.depth import DepthCounter

        _COUNTER.append(DepthCounter())
    return _COUNTER[0]


def depth(graph: Graph) -> int:
    """Weighted layers on the main path (see the module docstring); StudyError when the
    network cannot be analysed."""
    try:
        return _counter().depth(graph)
    except GraphError as exc:
        raise StudyError(f"‘{graph.name or 'the project'}’: {exc}") from None


@dataclass(frozen=True)
class StageDepths:
    """depth = fixed + Σ over stages of first + (n − 1)·each, for n blocks in a stage."""

    fixed: int
    first: tuple[int, ...]
    each: tuple[int, ...]

    def of(self, layout: Sequence[int]) -> int:
        return self.fixed + sum(f + (n - 1) * e for f, e, n in zip(self.first, self.each, layout))

    def equal(self, target: int) -> int | None:
        """Blocks per stage that give ``target`` with the same number in every stage."""
        step = sum(self.each)
        n, rest = divmod(target - self.of([1] * len(self.first)), step) if step else (-1, 1)
        return n + 1 if not rest and n >= 0 else None


def stage_depths(graph: Graph) -> StageDepths:
    """How the depth of ``graph`` follows the blocks of its stages."""
    counter = _counter()
    try:
        analysis = counter.analyzer.analyze(graph)
        total = counter.count(graph, analysis).layers
        stages = graph.nodes_of_type(STAGE)
        terms = [counter.repeat_depths(graph, s.id, analysis) for s in stages]
    except GraphError as exc:
        raise StudyError(f"‘{graph.name or 'the project'}’: {exc}") from None
    present = sum(f + (s.params["blocks"] - 1) * e for s, (f, e) in zip(stages, terms))
    return StageDepths(total - present, tuple(f for f, _ in terms), tuple(e for _, e in terms))


def _named(graph: Graph, terms: StageDepths) -> dict[int, tuple[int, ...]]:
    """depth → layout, for the family's named layouts that fit this network: as many stages,
    and the depth the layout is named by (ResNet-101's 3-4-23-3 is no ResNet-101 of basic
    blocks)."""
    stages = graph.nodes_of_type(STAGE)
    found: dict[int, tuple[int, ...]] = {}
    for named, layout in named_layouts(stages[0].params["block"]) if stages else []:
        reached = terms.of(layout)
        if len(layout) == len(stages) and named in (None, reached):
            found.setdefault(reached, tuple(layout))
    return found


def reachable_depths(graph: Graph, limit: int = 6) -> tuple[int, int, list[int]]:
    """(fixed, step, depths): ``with_depth`` reaches fixed + step·n with n blocks in every
    stage (the first ``limit`` of those are listed) and the depths of the family's named
    layouts (listed too, in order). A network whose depth cannot be counted gives (0, 0, [])."""
    try:
        terms = stage_depths(graph)
    except StudyError:
        return 0, 0, []
    step = sum(terms.each)
    fixed = terms.of([1] * len(terms.first)) - step
    equal = [fixed + step * n for n in range(1, limit + 1)] if step else [fixed]
    return fixed, step, sorted(set(equal) | set(_named(graph, terms)))


def with_depth(graph: Graph, target: int) -> Graph:
    """``graph`` with its stages' blocks set so that its depth is ``target``: the family's
    named layout of that depth where there is one, else n blocks in every stage. The result
    is counted again, and a depth other than ``target`` raises StudyError."""
    stages = graph.nodes_of_type(STAGE)
    if not stages:
        raise StudyError(f"‘{graph.name or 'the project'}’ has no stage nodes, so its depth "
                         "cannot be varied; build it from stages (as the ResNet presets are).")
    terms = stage_depths(graph)
    named = _named(graph, terms)
    n = terms.equal(target)
    layout = named.get(target) or ((n,) * len(stages) if n else None)
    if layout is None:
        raise StudyError(_unreachable(graph, target, len(stages), named))
    out = graph.copy()
    for stage, blocks in zip(stages, layout):
        out.set_params(stage.id, {"blocks": blocks})
    out.name = f"{graph.name or 'net'}_d{target}"
    built = depth(out)
    if built != target:
        raise StudyError(f"depth {target} was planned as {'-'.join(map(str, layout))} blocks "
                         f"per stage, but that network has depth {built}; its stages do not "
                         "add depth block by block.")
    return out


def _unreachable(graph: Graph, target: int, stages: int, named: dict) -> str:
    fixed, step, _ = reachable_depths(graph, limit=0)
    first = [fixed + step * n for n in range(1, 4)]
    text = (f"depth {target} cannot be reached: with {stages} stage(s) this network has depth "
            f"{fixed} + {step}·n ({', '.join(map(str, first))}, …)")
    if named:
        listed = ", ".join(f"{d} ({'-'.join(map(str, lay))})" for d, lay in sorted(named.items()))
        text += f", or with its family's stage layouts {listed}"
    return text + "."


def own_block_type(graph: Graph) -> str | None:
    """The residual block type the project uses most (stages count each of their blocks);
    None for a network without residual blocks."""
    counts: dict[str, int] = {}
    for node in graph:
        if node.type_id == STAGE:
            counts[node.params["block"]] = counts.get(node.params["block"], 0) \
                + node.params["blocks"]
        elif is_residual_block(graph, node.type_id):
            counts[node.type_id] = counts.get(node.type_id, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


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
