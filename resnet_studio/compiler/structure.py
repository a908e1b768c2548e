"""Expanding a composite node into its parts, and making a block from a selection.

Both are whole-graph edits; the editor's document records each as one undoable step
(``Document.apply_structural``). Expanding a catalogue block needs the compiler's analysis
(its resolved parameters and input shapes), hence this module's place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..graph import Graph, GraphError, Subgraph, SubNode, collapse, expand
from .resolve import block_for

if TYPE_CHECKING:  # the editor reads this module before torch (which infer needs) has loaded
    from .infer import Analysis

Exposed = Mapping[str, list[tuple[str, str]]]


def can_expand(graph: Graph, node_id: str) -> bool:
    spec = graph.spec(graph.node(node_id).type_id)
    return spec is not None and spec.composite


def subgraph_for(graph: Graph, node_id: str, analysis: Analysis | None) -> Subgraph:
    """The parts of a composite node: a custom block's body with the node's values, or the
    catalogue block's expansion for the resolved parameters and input shapes the latest
    analysis found."""
    node = graph.node(node_id)
    spec = graph.node_spec(node_id)
    if not spec.composite:
        raise GraphError(f"‘{node_id}’ is a single {spec.title} layer; only blocks made of "
                         "several layers (residual blocks, stages, custom blocks) expand.")
    definition = graph.definitions.get(node.type_id)
    if definition is not None:
        return definition.subgraph(node.params)
    info = analysis.nodes.get(node_id) if analysis is not None else None
    if info is None or info.problem or not info.in_shapes or not info.resolved:
        raise GraphError(f"‘{node_id}’ cannot be expanded until its input shapes are known: "
                         "connect its inputs and fix the problems reported for it.")
    block = block_for(graph, node.type_id)
    if block.expand is None:
        raise GraphError(f"{spec.title} blocks cannot be expanded.")
    return block.expand(info.resolved, info.in_shapes)


def expand_node(graph: Graph, node_id: str, sub: Subgraph) -> list[str]:
    """Replace the node by ``sub``, its parts hanging down from where the node was, and push
    the nodes below it down to make room."""
    anchor = graph.node(node_id).position
    placed = _placed(sub)
    below = [n.id for n in graph if n.id != node_id and n.position[1] > anchor[1]]
    new_ids = expand(graph, node_id, placed)
    extra = _height(placed)
    for other in below:
        x, y = graph.node(other).position
        graph.move_node(other, (x, y + extra))
    return new_ids


def _placed(sub: Subgraph) -> Subgraph:
    """``sub`` with offsets shifted so that its first row starts at the node's position and
    its main column lies under it."""
    if not sub.nodes:
        return sub
    top = min(n.offset[1] for n in sub.nodes)
    first_row = [n.offset[0] for n in sub.nodes if n.offset[1] == top]
    left = min(first_row)
    nodes = [SubNode(n.id, n.type_id, n.params, (n.offset[0] - left, n.offset[1] - top), n.label)
             for n in sub.nodes]
    return Subgraph(nodes, sub.edges, sub.inputs, sub.output)


def _height(sub: Subgraph) -> float:
    if not sub.nodes:
        return 0.0
    rows = [n.offset[1] for n in sub.nodes]
    return max(rows) - min(rows)


def collapse_nodes(graph: Graph, node_ids: list[str], name: str, exposed: Exposed) -> str:
    """Make a new custom block type from the selection; returns the id of its node."""
    if not name.strip():
        raise GraphError("Give the new block a name.")
    _, new_id = collapse(graph, node_ids, name.strip(), dict(exposed))
    return new_id


def exposable(graph: Graph, node_ids: list[str]) -> list[tuple[str, str, object]]:
    """(node id, parameter, value) of every literal parameter the selection could expose."""
    rows = []
    for node_id in node_ids:
        node = graph.node(node_id)
        for name, value in node.params.items():
            if not (isinstance(value, str) and value.startswith("$")):
                rows.append((node_id, name, value))
    return rows
