"""Custom blocks: a sub-graph with named parameters, used as a block type, and the
``Subgraph`` form in which a block's insides are spliced into a graph.

The two document operations that move between a block and its insides live beside this:
``expand`` (in ``expand.py``) and ``collapse`` (in ``collapse.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .document import INPUT_TYPE, OUTPUT_TYPE, Graph
from .errors import DefinitionError, ParameterError
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
