"""Collapsing a selection into one node of a new custom block type, whose body holds the
selected nodes; the edges leaving the selection keep their operand places."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .custom import _BOUNDARY, CUSTOM_PREFIX, BlockDefinition, _centre
from .document import INPUT_TYPE, OUTPUT_TYPE, Graph
from .errors import ParameterError, SelectionError
from .expand import _connect_at, _operand_positions, _root
from .schema import ParamSpec, is_param_name, reference_name


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
        raise SelectionError("The selection has no input: a block needs at least one connection "
                             "entering it.")
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
                f"‘{node_id}.{param}’ = {value!r}; the parameters it binds must hold the same "
                "value.")
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
        raise SelectionError(
            f"‘{node_id}.{param}’ already refers to {value}; bind a literal value.")
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
