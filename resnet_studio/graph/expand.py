"""Expanding a composite node in place: the node is replaced by its ``Subgraph`` (a custom
block's body, or a catalogue block's layers), keeping the operand order of every multi-input
port it touches (Concat's channel order depends on it)."""

from __future__ import annotations

from .custom import Subgraph
from .document import Edge, Graph
from .errors import DefinitionError


def expand(graph: Graph, node_id: str, sub: Subgraph) -> list[str]:
    """Replace node ``node_id`` by ``sub`` in place; returns the new node ids.

    Inner ids become ``<node_id>_<inner id>`` so expanded nodes keep telling names. The
    replacement is tried on a copy first, so an error leaves the document unchanged.
    """
    graph.node(node_id)
    _check_subgraph(sub)
    _expand(graph.copy(), node_id, sub)
    return _expand(graph, node_id, sub)


def _check_subgraph(sub: Subgraph) -> None:
    inner = {n.id for n in sub.nodes}
    named = [e[0] for e in sub.edges] + [e[2] for e in sub.edges] + [sub.output[0]]
    named += [dst for targets in sub.inputs.values() for dst, _ in targets]
    unknown = next((n for n in named if n not in inner), None)
    if unknown is not None:
        raise DefinitionError(
            f"The expansion refers to an inner node ‘{unknown}’ it does not contain.")


def expand_custom(graph: Graph, node_id: str) -> list[str]:
    """Expand a node of a custom block type into its definition's body."""
    node = graph.node(node_id)
    definition = _root(graph).definitions.get(node.type_id)
    if definition is None:
        raise DefinitionError(f"Node ‘{node_id}’ is not a custom block.")
    return expand(graph, node_id, definition.subgraph(node.params))


def _expand(graph: Graph, node_id: str, sub: Subgraph) -> list[str]:
    node = graph.node(node_id)
    incoming = [(e.dst_port, e.src, e.src_port) for e in graph.incoming(node_id)]
    outgoing = _operand_positions(graph, graph.outgoing(node_id))
    x0, y0 = node.position
    graph.remove_node(node_id)
    ids: dict[str, str] = {}
    for inner in sub.nodes:
        ids[inner.id] = graph.new_id(f"{node_id}_{inner.id}")
        position = (x0 + inner.offset[0], y0 + inner.offset[1])
        graph.add_node(inner.type_id, inner.params, position, ids[inner.id], inner.label)
    for src, sp, dst, dp in sub.edges:
        graph.connect(ids[src], sp, ids[dst], dp)
    feeds = [(sub.input_positions.get((port, dst, dp)), src, sp, ids[dst], dp)
             for port, src, sp in incoming for dst, dp in sub.inputs.get(port, ())]
    for position, src, sp, dst, dp in sorted(feeds, key=lambda f: (f[0] is None, f[0] or 0)):
        _connect_at(graph, src, sp, dst, dp, position)
    out_node, out_port = sub.output
    for position, dst, dp in outgoing:
        _connect_at(graph, ids[out_node], out_port, dst, dp, position)
    return list(ids.values())


def _operand_positions(graph: Graph, edges: list[Edge]) -> list[tuple[int, str, str]]:
    """(operand position, node, port) of each edge's head, lowest position first."""
    return sorted((graph.incoming(e.dst, e.dst_port).index(e), e.dst, e.dst_port) for e in edges)


def _connect_at(graph: Graph, src: str, src_port: str, dst: str, dst_port: str,
                position: int | None) -> None:
    """Connect so that the edge becomes operand ``position`` of ``dst.dst_port``."""
    index = None
    if position is not None:
        existing = graph.incoming(dst, dst_port)
        if position < len(existing):
            index = graph.edges.index(existing[position])
    graph.connect(src, src_port, dst, dst_port, index=index)


def _root(graph: Graph) -> Graph:
    while isinstance(graph.lookup, Graph):
        graph = graph.lookup
    return graph
