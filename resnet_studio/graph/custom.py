"""Custom blocks: a sub-graph with named parameters, used as a block type.

Also the two document operations that move between a block and its insides: ``expand``
(a composite node replaced in place by its sub-graph) and ``collapse`` (a selection replaced
by one node of a new custom block type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .document import INPUT_TYPE, OUTPUT_TYPE, Edge, Graph
from .errors import DefinitionError, SelectionError
from .schema import BlockSpec, ParamSpec, PortSpec, reference_name

CUSTOM_PREFIX = "custom."
CUSTOM_CATEGORY = "Custom blocks"


@dataclass
class SubNode:
    id: str
    type_id: str
    params: dict[str, Any]
    offset: tuple[float, float] = (0.0, 0.0)
    label: str = ""


@dataclass
class Subgraph:
    """A block's insides in a form ready to be spliced into a graph.

    ``inputs`` maps each block input port to the inner (node, port) pairs it feeds;
    ``output`` is the inner (node, port) whose tensor is the block's output.
    """

    nodes: list[SubNode]
    edges: list[tuple[str, str, str, str]]
    inputs: dict[str, list[tuple[str, str]]]
    output: tuple[str, str]


@dataclass
class BlockDefinition:
    """A user-defined block type: ``graph`` holds Input nodes (one per block input port,
    named by node id), the body, and one Output node."""

    type_id: str
    name: str
    graph: Graph
    params: tuple[ParamSpec, ...] = ()
    description: str = ""
    _spec: BlockSpec | None = field(default=None, repr=False)

    def spec(self) -> BlockSpec:
        inputs = tuple(PortSpec(n.id) for n in self.graph.nodes_of_type(INPUT_TYPE))
        return BlockSpec(self.type_id, self.name, CUSTOM_CATEGORY,
                         self.description or f"Custom block ‘{self.name}’.",
                         inputs=inputs, outputs=(PortSpec("out"),), params=self.params,
                         composite=True, key_params=tuple(p.name for p in self.params[:3]))

    def check(self) -> None:
        """Raise DefinitionError if the body cannot act as a block."""
        where = f"Block ‘{self.name}’"
        if not self.graph.nodes_of_type(INPUT_TYPE):
            raise DefinitionError(f"{where} has no Input node.")
        outputs = self.graph.nodes_of_type(OUTPUT_TYPE)
        if len(outputs) != 1:
            raise DefinitionError(f"{where} needs exactly one Output node, it has {len(outputs)}.")
        names = {p.name for p in self.params}
        for node in self.graph:
            for key, value in node.params.items():
                ref = reference_name(value)
                if ref is not None and ref not in names:
                    raise DefinitionError(
                        f"{where}: node ‘{node.id}’ parameter ‘{key}’ refers to ${ref}, "
                        f"which is not one of the block's parameters.")
        self.graph.topological_order()

    def subgraph(self, values: Mapping[str, Any]) -> Subgraph:
        """The body with the block's parameter ``values`` substituted for ``$references``."""
        graph = self.graph
        boundary = {n.id for n in graph if n.type_id in (INPUT_TYPE, OUTPUT_TYPE)}
        nodes = [SubNode(n.id, n.type_id, _substitute(n.params, values), n.position, n.label)
                 for n in graph if n.id not in boundary]
        edges = [(e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges
                 if e.src not in boundary and e.dst not in boundary]
        inputs = {n.id: [(e.dst, e.dst_port) for e in graph.outgoing(n.id)]
                  for n in graph.nodes_of_type(INPUT_TYPE)}
        out_node = graph.nodes_of_type(OUTPUT_TYPE)[0]
        feeding = graph.incoming(out_node.id)
        if not feeding:
            raise DefinitionError(f"Block ‘{self.name}’: its Output node is not connected.")
        src = feeding[0]
        if src.src in inputs:  # an identity block: input wired straight to output
            raise DefinitionError(f"Block ‘{self.name}’ passes its input straight through.")
        return Subgraph(nodes, edges, inputs, (src.src, src.src_port))


def _substitute(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    result = {}
    for key, value in params.items():
        ref = reference_name(value)
        result[key] = values.get(ref, value) if ref is not None else value
    return result


def expand(graph: Graph, node_id: str, sub: Subgraph) -> list[str]:
    """Replace node ``node_id`` by ``sub`` in place; returns the new node ids.

    Inner ids become ``<node_id>_<inner id>`` so expanded nodes keep telling names.
    """
    node = graph.node(node_id)
    incoming = [(e.dst_port, e.src, e.src_port) for e in graph.incoming(node_id)]
    outgoing = [(e.dst, e.dst_port, graph.edges.index(e)) for e in graph.outgoing(node_id)]
    x0, y0 = node.position
    graph.remove_node(node_id)
    ids: dict[str, str] = {}
    for inner in sub.nodes:
        ids[inner.id] = graph.new_id(f"{node_id}_{inner.id}")
        position = (x0 + inner.offset[0], y0 + inner.offset[1])
        graph.add_node(inner.type_id, inner.params, position, ids[inner.id], inner.label)
    for src, sp, dst, dp in sub.edges:
        graph.connect(ids[src], sp, ids[dst], dp)
    for port, src, src_port in incoming:
        for dst, dst_port in sub.inputs.get(port, ()):
            graph.connect(src, src_port, ids[dst], dst_port)
    out_node, out_port = sub.output
    for dst, dst_port, index in outgoing:
        graph.connect(ids[out_node], out_port, dst, dst_port, index=index)
    return list(ids.values())


def collapse(graph: Graph, selection: list[str], name: str,
             exposed: Mapping[str, list[tuple[str, str]]] | None = None,
             type_id: str | None = None) -> tuple[BlockDefinition, str]:
    """Turn the selected nodes into a new custom block type and replace them by one node.

    ``exposed`` names block parameters, each bound to one or more (node id, parameter) pairs
    of the selection; their current values become the new node's values and the defaults.
    Returns the definition and the id of the node that replaced the selection.
    """
    chosen = set(selection)
    for node_id in selection:
        graph.node(node_id)
        if graph.node(node_id).type_id in (INPUT_TYPE, OUTPUT_TYPE):
            raise SelectionError("The network's Input and Output nodes cannot go into a block.")
    entering = [e for e in graph.edges if e.dst in chosen and e.src not in chosen]
    leaving = [e for e in graph.edges if e.src in chosen and e.dst not in chosen]
    sources = list(dict.fromkeys((e.src, e.src_port) for e in entering))
    outputs = list(dict.fromkeys((e.src, e.src_port) for e in leaving))
    _check_collapsible(graph, chosen, sources, outputs)
    type_id = type_id or _free_type_id(graph, name)
    definition = _make_definition(graph, selection, name, type_id, sources, outputs[0], exposed or {})
    definition.check()
    x = sum(graph.node(n).position[0] for n in selection) / len(selection)
    y = sum(graph.node(n).position[1] for n in selection) / len(selection)
    values = {p.name: p.default for p in definition.params}
    graph.add_definition(definition)
    for node_id in selection:
        graph.remove_node(node_id)
    new = graph.add_node(type_id, values, (x, y), graph.new_id(_snake(name)))
    for (src, sp), port in zip(sources, _input_names(len(sources))):
        graph.connect(src, sp, new.id, port)
    for e in leaving:
        graph.connect(new.id, "out", e.dst, e.dst_port)
    return definition, new.id


def _check_collapsible(graph: Graph, chosen: set[str], sources: list, outputs: list) -> None:
    if not chosen:
        raise SelectionError("Select the nodes that should become the block.")
    if not sources:
        raise SelectionError("The selection has no input: a block needs at least one connection entering it.")
    if len(outputs) != 1:
        raise SelectionError(
            f"A block has one output, but {len(outputs)} different outputs leave the selection"
            + (": " + ", ".join(f"{n}.{p}" for n, p in outputs) if outputs else "") + ".")
    # Convexity: a path that leaves the selection and comes back would become a cycle.
    for e in graph.edges:
        if e.src in chosen and e.dst not in chosen:
            for src, _ in sources:
                if src == e.dst or graph.reaches(e.dst, src):
                    raise SelectionError(
                        f"The selection is not one piece: the path through ‘{e.dst}’ leaves it and "
                        f"comes back through ‘{src}’. Add those nodes to the selection.")


def _input_names(count: int) -> list[str]:
    return ["in"] + [f"in{i}" for i in range(2, count + 1)]


def _make_definition(graph: Graph, selection: list[str], name: str, type_id: str,
                     sources: list, output: tuple[str, str],
                     exposed: Mapping[str, list[tuple[str, str]]]) -> BlockDefinition:
    body = Graph(graph)
    params = []
    bound = {(n, p): pname for pname, pairs in exposed.items() for n, p in pairs}
    for pname, pairs in exposed.items():
        params.append(_exposed_spec(graph, pname, pairs))
    x0 = min(graph.node(n).position[0] for n in selection)
    y0 = min(graph.node(n).position[1] for n in selection)
    for port, _ in zip(_input_names(len(sources)), sources):
        body.add_node(INPUT_TYPE, {}, (x0, y0 - 120.0), port)
    for node_id in selection:
        node = graph.node(node_id)
        values = {k: (f"${bound[(node_id, k)]}" if (node_id, k) in bound else v)
                  for k, v in node.params.items()}
        body.add_node(node.type_id, values, node.position, node_id, node.label)
    y_max = max(graph.node(n).position[1] for n in selection)
    body.add_node(OUTPUT_TYPE, {}, (x0, y_max + 120.0), "output")
    for e in graph.edges:
        if e.src in body.nodes and e.dst in body.nodes:
            body.connect(e.src, e.src_port, e.dst, e.dst_port)
    for port, (src, sp) in zip(_input_names(len(sources)), sources):
        for e in graph.outgoing(src, sp):
            if e.dst in body.nodes and e.dst not in {p for p in _input_names(len(sources))}:
                body.connect(port, "out", e.dst, e.dst_port)
    body.connect(output[0], output[1], "output", "in")
    return BlockDefinition(type_id, name, body, tuple(params))


def _exposed_spec(graph: Graph, pname: str, pairs: list[tuple[str, str]]) -> ParamSpec:
    if not pairs:
        raise SelectionError(f"Block parameter ‘{pname}’ is bound to nothing.")
    node_id, param = pairs[0]
    spec = graph.node_spec(node_id).param(param)
    if spec is None:
        raise SelectionError(f"Node ‘{node_id}’ has no parameter ‘{param}’.")
    value = graph.node(node_id).params[param]
    if reference_name(value) is not None:
        raise SelectionError(f"‘{node_id}.{param}’ already refers to {value}; bind a literal value.")
    return ParamSpec(pname, spec.kind, value, spec.help, spec.minimum, spec.maximum, spec.choices)


def _snake(name: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "_" for c in name).strip("_")
    return out or "block"


def _free_type_id(graph: Graph, name: str) -> str:
    base = CUSTOM_PREFIX + _snake(name)
    candidate, number = base, 2
    while graph.spec(candidate) is not None:
        candidate, number = f"{base}_{number}", number + 1
    return candidate
