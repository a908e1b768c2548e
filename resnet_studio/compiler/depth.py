"""Depth of a network as He et al. count it, taken from the analysed graph's own layers.

He et al. 2015 (https://arxiv.org/abs/1512.03385) count the weighted layers — convolutions
and the linear classifier — on the path through the network: ResNet-20 is its stem
convolution, 18 block convolutions and the classifier. Here every node is counted from what
it actually holds, never from a table of block types:

* a primitive counts 1 if it is a convolution or a linear layer holding weights, and 0 if it
  normalises, activates, pools, merges, regularises or helps a residual (SE gates, scales,
  channel slices, zero-pad shortcuts); a primitive of any other category raises DepthError,
  so a new kind of layer is classified before it is counted;
* a composite block is expanded into its layers (the catalogue's own expansion for its
  resolved parameters and input shapes, or a custom block's analysed body) and counted the
  same way, recursively;
* a block that offers ``shortcut = "none"`` (residual blocks, stages) is expanded as its plain
  twin, i.e. its residual branch: the skip path and its projection, scale or fusion layers
  are gone. Inside a branch an Add or a Multiply is a skip-like link between the branch's own
  parts (Res2Net's hierarchical sums of its channel groups, a gate's product), so a path
  through it counts its shallower operand: Res2Net's split 3×3 convolutions count as one
  level and its block as 3, as Gao et al. (arXiv:1904.01169) count Res2Net-50;
* the stem blocks (a deep stem, ResNet-RS's convolution in place of the max pool) stand for
  the one stem convolution they replace, so the first on a path counts 1 and any later one 0:
  ResNet-50-D (He et al. 2019, arXiv:1812.01187) and ResNet-RS-50 (Bello et al. 2021,
  arXiv:2103.07579) keep their 50.

The depth is the largest count over the paths from the Input to the Output; a shortcut path
holds fewer weighted layers than the branch beside it, so the branch is what is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..blocks.primitives import ACT, CONV, DENSE, HELP, IO, MERGE, NORM, POOL, REG
from ..blocks.stems import STEMS
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph, GraphError, InputSpec, Subgraph
from .infer import Analysis, Analyzer, NodeInfo
from .resolve import block_for, root_of

WEIGHTED = (CONV, DENSE)  # a layer of these categories counts when it holds weights
NOT_COUNTED = (IO, NORM, ACT, POOL, REG, MERGE, HELP)
SHALLOW_IN_BRANCH = ("add", "multiply")
NO_SHORTCUT = "none"


class DepthError(GraphError):
    """The depth cannot be counted: a node is not analysed, or its kind is not known."""


@dataclass(frozen=True)
class Count:
    """Weighted layers on the deepest path to a node, and whether a stem lies on it."""

    layers: int
    stem: bool = False


class DepthCounter:
    """Counts depth (see the module docstring). One counter caches every block it expanded,
    so the many identical blocks of a deep network are counted once."""

    def __init__(self, analyzer: Analyzer | None = None) -> None:
        self.analyzer = analyzer or Analyzer()
        self._blocks: dict[tuple, Count] = {}

    def depth(self, graph: Graph) -> int:
        return self.count(graph, self.analyzer.analyze(graph)).layers

    def count(self, graph: Graph, analysis: Analysis, branch: bool = False) -> Count:
        """The count at the Output of ``graph``; ``branch``: the graph is a residual branch."""
        counts: dict[str, Count] = {}
        for node_id in analysis.order:
            node = graph.node(node_id)
            upstream = [counts[e.src] for e in graph.incoming(node_id) if e.src in counts]
            counts[node_id] = self._node(graph, node, analysis.nodes.get(node_id),
                                         _merge(upstream, branch and node.type_id
                                                in SHALLOW_IN_BRANCH))
            if node.type_id == OUTPUT_TYPE:
                return counts[node_id]
        raise DepthError(f"‘{graph.name or 'the network'}’ has no Output node to count to.")

    # ----- one node -----------------------------------------------------------------------
    def _node(self, graph: Graph, node: Any, info: NodeInfo | None, before: Count) -> Count:
        if node.type_id in (INPUT_TYPE, OUTPUT_TYPE):
            return before
        spec = graph.spec(node.type_id)
        where = f"{spec.title if spec else node.type_id} ‘{node.id}’"
        if info is None or info.problem or spec is None:
            problem = info.problem if info is not None and info.problem else "it is not analysed"
            raise DepthError(f"the depth of {where} cannot be counted: {problem}")
        if not spec.composite:
            return Count(before.layers + _layer_count(spec.category, info, where), before.stem)
        inner = self._composite(graph, node, info, where)
        if spec.category == STEMS:
            added = 0 if before.stem else min(1, inner.layers)
            return Count(before.layers + added, True)
        return Count(before.layers + inner.layers, before.stem or inner.stem)

    def repeat_depths(self, graph: Graph, node_id: str, analysis: Analysis) -> tuple[int, int]:
        """(first, each) of a node repeating ``blocks`` blocks (a stage): with n blocks it
        adds first + (n − 1)·each weighted layers."""
        node, info = graph.node(node_id), analysis.nodes.get(node_id)
        where = f"‘{node_id}’"
        if info is None or info.problem:
            raise DepthError(f"the depth of {where} cannot be counted: "
                             f"{info.problem if info else 'it is not analysed'}")
        one, two = ({**info.resolved, "blocks": n} for n in (1, 2))
        first = self._expanded(graph, node.type_id, one, info.in_shapes, where).layers
        return first, self._expanded(graph, node.type_id, two, info.in_shapes, where).layers - first

    def _composite(self, graph: Graph, node: Any, info: NodeInfo, where: str) -> Count:
        if info.body is not None:  # a custom block: its analysed body
            definition = root_of(graph).definitions[node.type_id]
            return self.count(definition.graph, info.body)
        return self._expanded(graph, node.type_id, dict(info.resolved), info.in_shapes, where)

    def _expanded(self, graph: Graph, type_id: str, params: dict[str, Any],
                  shapes: tuple[tuple[int, ...], ...], where: str) -> Count:
        """The count through a catalogue block's expansion (its branch where it has one)."""
        block = block_for(graph, type_id)
        shortcut = block.spec.param("shortcut")
        branch = shortcut is not None and NO_SHORTCUT in shortcut.choices
        if branch:
            params["shortcut"] = NO_SHORTCUT
        key = (type_id, repr(sorted(params.items())), shapes)
        if key not in self._blocks:
            if block.expand is None:
                raise DepthError(f"the depth of {where} cannot be counted: its block type "
                                 "does not say which layers it holds (no expansion).")
            sub = block.expand(params, shapes)
            body = body_graph(graph, sub)
            inputs = {f"input_{port}": shape for port, shape in zip(sub.inputs, shapes)}
            self._blocks[key] = self.count(body, self.analyzer.analyze(body, {}, inputs), branch)
        return self._blocks[key]


def body_graph(graph: Graph, sub: Subgraph) -> Graph:
    """``sub`` as a block body: one Input per block port (``input_<port>``), one Output."""
    body = Graph(root_of(graph), InputSpec(), "block body")
    for port in sub.inputs:
        body.add_node(INPUT_TYPE, {}, node_id=f"input_{port}")
    ids = {inner.id: f"part_{inner.id}" for inner in sub.nodes}  # "0" is no valid node id
    for inner in sub.nodes:
        body.add_node(inner.type_id, inner.params, node_id=ids[inner.id])
    for src, src_port, dst, dst_port in sub.edges:
        body.connect(ids[src], src_port, ids[dst], dst_port)
    for port, targets in sub.inputs.items():
        for dst, dst_port in targets:
            body.connect(f"input_{port}", "out", ids[dst], dst_port)
    body.add_node(OUTPUT_TYPE, {}, node_id="output_")
    body.connect(ids[sub.output[0]], sub.output[1], "output_", "in")
    return body


def _merge(upstream: list[Count], shallow: bool) -> Count:
    if not upstream:
        return Count(0)
    pick = min if shallow else max
    return Count(pick(c.layers for c in upstream), any(c.stem for c in upstream))


def _layer_count(category: str, info: NodeInfo, where: str) -> int:
    if category in WEIGHTED:
        return 1 if info.params > 0 else 0
    if category in NOT_COUNTED:
        return 0
    raise DepthError(f"the depth of {where} cannot be counted: layers of the category "
                     f"‘{category}’ are not known to count or not.")
