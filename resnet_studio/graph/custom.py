"""Custom blocks: a sub-graph with named parameters, used as a block type.

Also the two document operations that move between a block and its insides: ``expand``
(a composite node replaced in place by its sub-graph) and ``collapse`` (a selection replaced
by one node of a new custom block type). Both keep the operand order of every multi-input
port they touch (Concat's channel order depends on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .document import INPUT_TYPE, OUTPUT_TYPE, Edge, Graph
from .errors import DefinitionError, ParameterError, SelectionError
from .schema import BlockSpec, ParamSpec, PortSpec, is_param_name, reference_name

CUSTOM_PREFIX = "custom."
CUSTOM_CATEGORY = "Custom blocks"
_BOUNDARY = (INPUT_TYPE, OUTPUT_TYPE)


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
    ``output`` is the inner (node, port) whose tensor is the block's output. Node ``offset``\\ s
    are relative to the expanded node's position.

    A block input feeding an inner multi-input port comes after that port's inner edges,
    unless ``input_positions`` gives its operand position: (block port, inner node, inner port)
    → index among the edges into that inner port.
    """

    nodes: list[SubNode]
    edges: list[tuple[str, str, str, str]]
    inputs: dict[str, list[tuple[str, str]]]
    output: tuple[str, str]
    input_positions: dict[tuple[str, str, str], int] = field(default_factory=dict)


@dataclass
class BlockDefinition:
    """A user-defined block type: ``graph`` holds Input nodes (one per block input port,
    named by node id), the body, and one Output node."""

    type_id: str
    name: str
    graph: Graph
    params: tuple[ParamSpec, ...] = ()
    description: str = ""
    _spec: BlockSpec | None = field(default=None, repr=False)  # unused; kept for compatibility

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
        if not self.graph.incoming(outputs[0].id):
            raise DefinitionError(f"{where}: its Output node is not connected.")
        self._check_params(where)
        self._check_references(where)
        self.graph.topological_order()

    def _check_params(self, where: str) -> None:
        seen: set[str] = set()
        for p in self.params:
            if not is_param_name(p.name):
                raise DefinitionError(f"{where}: parameter name ‘{p.name}’ must be letters, "
                                      "digits and underscores, not starting with a digit.")
            if p.name in seen:
                raise DefinitionError(f"{where} declares parameter ‘{p.name}’ twice.")
            seen.add(p.name)
            try:
                p.validate(p.default, f"{where}, default")
            except ParameterError as exc:
                raise DefinitionError(str(exc)) from None

    def _check_references(self, where: str) -> None:
        names = {p.name for p in self.params}
        for node in self.graph:
            for key, value in node.params.items():
                ref = reference_name(value)
                if ref is not None and ref not in names:
                    raise DefinitionError(
                        f"{where}: node ‘{node.id}’ parameter ‘{key}’ refers to ${ref}, "
                        f"which is not one of the block's parameters.")

    def subgraph(self, values: Mapping[str, Any]) -> Subgraph:
        """The body with the block's parameter ``values`` (defaults for those missing)
        substituted for ``$references``."""
        graph = self.graph
        values = {**{p.name: p.default for p in self.params}, **values}
        boundary = {n.id for n in graph if n.type_id in _BOUNDARY}
        inner = [n for n in graph if n.id not in boundary]
        cx, cy = _centre([n.position for n in inner])
        nodes = [SubNode(n.id, n.type_id, _substitute(n.params, values),
                         (n.position[0] - cx, n.position[1] - cy), n.label) for n in inner]
        edges = [(e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges
                 if e.src not in boundary and e.dst not in boundary]
        inputs = {n.id: [(e.dst, e.dst_port) for e in graph.outgoing(n.id) if e.dst not in boundary]
                  for n in graph.nodes_of_type(INPUT_TYPE)}
        return Subgraph(nodes, edges, inputs, self._output_source(inputs),
                        _input_positions(graph, set(inputs)))

    def _output_source(self, inputs: Mapping[str, Any]) -> tuple[str, str]:
        outputs = self.graph.nodes_of_type(OUTPUT_TYPE)
        feeding = self.graph.incoming(outputs[0].id) if outputs else []
        if not feeding:
            raise DefinitionError(f"Block ‘{self.name}’: its Output node is not connected.")
        src = feeding[0]
        if src.src in inputs:  # an identity block: input wired straight to output
            raise DefinitionError(f"Block ‘{self.name}’ passes its input straight through.")
        return (src.src, src.src_port)


def _substitute(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    result = {}
    for key, value in params.items():
        ref = reference_name(value)
        result[key] = values.get(ref, value) if ref is not None else value
    return result


def _centre(points: list[tuple[float, float]]) -> tuple[float, float]:
    if not points:
        return (0.0, 0.0)
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def _input_positions(graph: Graph, input_ids: set[str]) -> dict[tuple[str, str, str], int]:
    """Where each block-input edge sits among the edges into its inner port."""
    positions = {}
    for e in graph.edges:
        if e.src in input_ids:
            positions[(e.src, e.dst, e.dst_port)] = graph.incoming(e.dst, e.dst_port).index(e)
    return positions


# ----- expand ----------------------------------------------------------------------------------
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
        raise DefinitionError(f"The expansion refers to an inner node ‘{unknown}’ it does not contain.")


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


# ----- collapse --------------------------------------------------------------------------------
def collapse(graph: Graph, selection: list[str], name: str,
             exposed: Mapping[str, list[tuple[str, str]]] | None = None,
             type_id: str | None = None) -> tuple[BlockDefinition, str]:
    """Turn the selected nodes into a new custom block type and replace them by one node.

    ``exposed`` names block parameters, each bound to one or more (node id, parameter) pairs
    of the selection holding the same value; that value becomes the parameter's default and
    the new node's value. References the selection makes to its surroundings (``$classes``)
    become block parameters of the same name that the new node passes on. Block inputs are
    named ``in``, ``in2``, … in the order the connections entering the selection were made.
    Returns the definition and the id of the node that replaced the selection.
    """
    selection = list(dict.fromkeys(selection))
    chosen = set(selection)
    for node_id in selection:
        if graph.node(node_id).type_id in _BOUNDARY:
            raise SelectionError("The network's Input and Output nodes cannot go into a block.")
    entering = [e for e in graph.edges if e.dst in chosen and e.src not in chosen]
    leaving = [e for e in graph.edges if e.src in chosen and e.dst not in chosen]
    sources = list(dict.fromkeys((e.src, e.src_port) for e in entering))
    outputs = list(dict.fromkeys((e.src, e.src_port) for e in leaving))
    _check_collapsible(graph, chosen, sources, outputs)
    root = _root(graph)
    type_id = type_id or _free_type_id(root, name)
    params, values, bound = _bind_parameters(graph, selection, exposed or {})
    body = _make_body(graph, selection, sources, outputs[0], bound)
    definition = BlockDefinition(type_id, name, body, params)
    definition.check()
    leaving_at = _operand_positions(graph, leaving)
    x, y = _centre([graph.node(n).position for n in selection])
    root.add_definition(definition)
    for node_id in selection:
        graph.remove_node(node_id)
    new = graph.add_node(type_id, values, (x, y), graph.new_id(_snake(name)))
    for (src, sp), port in zip(sources, _input_names(len(sources))):
        graph.connect(src, sp, new.id, port)
    for position, dst, dp in leaving_at:
        _connect_at(graph, new.id, "out", dst, dp, position)
    return definition, new.id


def _check_collapsible(graph: Graph, chosen: set[str], sources: list, outputs: list) -> None:
    if not chosen:
        raise SelectionError("Select the nodes that should become the block.")
    if not sources:
        raise SelectionError("The selection has no input: a block needs at least one connection entering it.")
    # Convexity: a path that leaves the selection and comes back would become a cycle.
    for e in graph.edges:
        if e.src in chosen and e.dst not in chosen:
            for src, _ in sources:
                if src == e.dst or graph.reaches(e.dst, src):
                    raise SelectionError(
                        f"The selection is not one piece: the path through ‘{e.dst}’ leaves it and "
                        f"comes back through ‘{src}’. Add those nodes to the selection.")
    if not outputs:
        raise SelectionError("Nothing leaves the selection: a block's output must feed the rest "
                             "of the network.")
    if len(outputs) > 1:
        raise SelectionError(
            f"A block has one output, but {len(outputs)} different outputs leave the selection: "
            + ", ".join(f"{n}.{p}" for n, p in outputs) + ".")


def _input_names(count: int) -> list[str]:
    return ["in"] + [f"in{i}" for i in range(2, count + 1)]


def _bind_parameters(graph: Graph, selection: list[str],
                     exposed: Mapping[str, list[tuple[str, str]]]
                     ) -> tuple[tuple[ParamSpec, ...], dict[str, Any], dict[tuple[str, str], str]]:
    """The block's parameters, the new node's values for them, and which inner
    (node, parameter) each exposed name replaces."""
    params: list[ParamSpec] = []
    values: dict[str, Any] = {}
    bound: dict[tuple[str, str], str] = {}
    for pname, pairs in exposed.items():
        spec, value = _exposed_spec(graph, set(selection), pname, pairs, bound)
        params.append(spec)
        values[pname] = value
    scope = _scope_values(graph)
    for node_id in selection:
        for param, value in graph.node(node_id).params.items():
            ref = reference_name(value)
            if ref in exposed:
                raise SelectionError(f"‘{node_id}.{param}’ refers to ${ref}, and a block parameter "
                                     f"has that name too; give the block parameter another name.")
            if ref is not None and ref not in values:  # first reference to ``ref``
                params.append(_passed_on_spec(graph, node_id, param, ref, scope))
                values[ref] = value
    return tuple(params), values, bound


def _exposed_spec(graph: Graph, chosen: set[str], pname: str, pairs: list[tuple[str, str]],
                  bound: dict[tuple[str, str], str]) -> tuple[ParamSpec, Any]:
    if not is_param_name(pname):
        raise SelectionError(f"Block parameter name ‘{pname}’ must be letters, digits and "
                             "underscores, not starting with a digit.")
    if not pairs:
        raise SelectionError(f"Block parameter ‘{pname}’ is bound to nothing.")
    first: tuple[str, str, ParamSpec, Any] | None = None
    for node_id, param in pairs:
        spec, value = _bindable(graph, chosen, pname, node_id, param, bound)
        if first is None:
            first = (node_id, param, spec, value)
        elif spec.kind != first[2].kind or value != first[3]:
            raise SelectionError(
                f"Block parameter ‘{pname}’ binds ‘{first[0]}.{first[1]}’ = {first[3]!r} and "
                f"‘{node_id}.{param}’ = {value!r}; the parameters it binds must hold the same value.")
        bound[(node_id, param)] = pname
    assert first is not None
    spec, value = first[2], first[3]
    return ParamSpec(pname, spec.kind, value, spec.help, spec.minimum, spec.maximum,
                     spec.choices), value


def _bindable(graph: Graph, chosen: set[str], pname: str, node_id: str, param: str,
              bound: dict[tuple[str, str], str]) -> tuple[ParamSpec, Any]:
    if node_id not in chosen:
        raise SelectionError(f"Block parameter ‘{pname}’ is bound to ‘{node_id}.{param}’, but "
                             f"‘{node_id}’ is not in the selection.")
    spec = graph.node_spec(node_id).param(param)
    if spec is None:
        raise SelectionError(f"Node ‘{node_id}’ has no parameter ‘{param}’.")
    if (node_id, param) in bound:
        raise SelectionError(f"‘{node_id}.{param}’ is bound to both ‘{bound[(node_id, param)]}’ "
                             f"and ‘{pname}’.")
    value = graph.node(node_id).params[param]
    if reference_name(value) is not None:
        raise SelectionError(f"‘{node_id}.{param}’ already refers to {value}; bind a literal value.")
    return spec, value


def _scope_values(graph: Graph) -> dict[str, Any]:
    """What ``$name`` means where the selection lies: the input specification at the top
    level, the enclosing block's parameter defaults inside a block."""
    if not graph.is_block_body():
        return graph.input_spec.env()
    owner = next((d for d in _root(graph).definitions.values() if d.graph is graph), None)
    return {p.name: p.default for p in owner.params} if owner is not None else {}


def _passed_on_spec(graph: Graph, node_id: str, param: str, ref: str,
                    scope: Mapping[str, Any]) -> ParamSpec:
    if ref not in scope:
        raise SelectionError(f"‘{node_id}.{param}’ refers to ${ref}, which is not defined here.")
    inner = graph.node_spec(node_id).param(param)
    assert inner is not None  # the node's params were validated against its spec
    spec = ParamSpec(ref, inner.kind, scope[ref], inner.help, inner.minimum, inner.maximum,
                     inner.choices)
    try:
        spec.validate(scope[ref], f"Node ‘{node_id}’")
    except ParameterError as exc:
        raise SelectionError(str(exc)) from None
    return spec


def _make_body(graph: Graph, selection: list[str], sources: list[tuple[str, str]],
               output: tuple[str, str], bound: Mapping[tuple[str, str], str]) -> Graph:
    """The block's body: Input nodes ``in``, ``in2``…, the selected nodes, one Output."""
    body = Graph(graph)
    ports = _input_names(len(sources))
    ids = _body_ids(selection, set(ports) | {"output"})
    x0 = min(graph.node(n).position[0] for n in selection)
    y0 = min(graph.node(n).position[1] for n in selection)
    for i, port in enumerate(ports):
        body.add_node(INPUT_TYPE, {}, (x0 + 160.0 * i, y0 - 120.0), port)
    for node_id in selection:
        node = graph.node(node_id)
        values = {k: (f"${bound[(node_id, k)]}" if (node_id, k) in bound else v)
                  for k, v in node.params.items()}
        body.add_node(node.type_id, values, node.position, ids[node_id], node.label)
    y_max = max(graph.node(n).position[1] for n in selection)
    body.add_node(OUTPUT_TYPE, {}, (x0, y_max + 120.0), "output")
    port_of = dict(zip(sources, ports))
    for e in graph.edges:  # one pass in edge order keeps each multi-input port's operand order
        if e.dst not in ids:
            continue
        if e.src in ids:
            body.connect(ids[e.src], e.src_port, ids[e.dst], e.dst_port)
        else:
            body.connect(port_of[(e.src, e.src_port)], "out", ids[e.dst], e.dst_port)
    body.connect(ids[output[0]], output[1], "output", "in")
    return body


def _body_ids(selection: list[str], boundary: set[str]) -> dict[str, str]:
    """Selected ids, except those clashing with the boundary node ids (``in``, ``output``)."""
    taken = set(selection) | boundary
    ids = {}
    for node_id in selection:
        new, number = node_id, 1
        while new in boundary or (new != node_id and new in taken):
            new, number = f"{node_id}_{number}", number + 1
        taken.add(new)
        ids[node_id] = new
    return ids


def _snake(name: str) -> str:
    out = "".join(c.lower() if c.isascii() and c.isalnum() else "_" for c in name).strip("_")
    return out or "block"


def _free_type_id(graph: Graph, name: str) -> str:
    base = CUSTOM_PREFIX + _snake(name)
    candidate, number = base, 2
    while graph.spec(candidate) is not None:
        candidate, number = f"{base}_{number}", number + 1
    return candidate
