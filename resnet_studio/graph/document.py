"""The architecture document: nodes, ports, edges, the input specification.

The document is the single source of truth. Every mutation validates first, changes state,
then emits one event, so listeners always see a consistent document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping

from . import events as ev
from .errors import (
    CycleError,
    DefinitionError,
    DuplicateEdgeError,
    DuplicateNodeError,
    IncompatiblePortsError,
    InvalidNodeIdError,
    ParameterError,
    PortAlreadyConnectedError,
    UnknownBlockTypeError,
    UnknownNodeError,
    UnknownPortError,
)
from .schema import BlockSpec, SpecLookup

INPUT_TYPE = "input"
OUTPUT_TYPE = "output"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"forward", "training", "to", "cuda", "cpu", "type", "float", "half", "eval", "train"}


@dataclass(frozen=True)
class InputSpec:
    """The images the network takes and the number of classes it predicts."""

    channels: int = 3
    height: int = 32
    width: int = 32
    classes: int = 10

    def env(self) -> dict[str, int]:
        """Values that ``$channels``, ``$height``, ``$width`` and ``$classes`` refer to."""
        return {"channels": self.channels, "height": self.height,
                "width": self.width, "classes": self.classes}

    def validate(self) -> None:
        for name, value in self.env().items():
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                raise ParameterError("Input specification", name,
                                     f"{value!r} is not allowed; expected an integer from 1 to 100000.")


@dataclass
class Node:
    id: str
    type_id: str
    params: dict[str, Any]
    position: tuple[float, float] = (0.0, 0.0)
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.id


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} → {self.dst}.{self.dst_port}"


@dataclass(eq=False)
class Graph:
    """A network: a DAG of nodes joined port to port.

    ``lookup`` resolves block type ids to schemas (normally the block catalogue). The root
    graph of a project also holds the custom block definitions; a definition's own graph
    looks types up through the root so custom blocks can nest.
    """

    lookup: SpecLookup
    input_spec: InputSpec = field(default_factory=InputSpec)
    name: str = ""
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    definitions: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    events: ev.Emitter = field(default_factory=ev.Emitter, repr=False, compare=False)

    # ----- lookups --------------------------------------------------------------------------
    def spec(self, type_id: str) -> BlockSpec | None:
        definition = self.definitions.get(type_id)
        if definition is not None:
            return definition.spec()
        return self.lookup.spec(type_id)

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise UnknownNodeError(node_id) from None

    def node_spec(self, node_id: str) -> BlockSpec:
        node = self.node(node_id)
        spec = self.spec(node.type_id)
        if spec is None:
            raise UnknownBlockTypeError(node.type_id, f"Node ‘{node_id}’")
        return spec

    def incoming(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id and (port is None or e.dst_port == port)]

    def outgoing(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id and (port is None or e.src_port == port)]

    def nodes_of_type(self, type_id: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type_id == type_id]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    # ----- nodes ----------------------------------------------------------------------------
    def new_id(self, base: str) -> str:
        """A fresh node id: ``base`` itself when free, else ``base`` with the lowest free number."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "node"
        if not _IDENT.match(base):
            base = "n_" + base
        if base not in self.nodes and base not in _RESERVED:
            return base
        stem = base.rstrip("0123456789") or base
        number = 1
        while f"{stem}{number}" in self.nodes:
            number += 1
        return f"{stem}{number}"

    def add_node(self, type_id: str, params: Mapping[str, Any] | None = None,
                 position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None,
                 label: str = "") -> Node:
        spec = self.spec(type_id)
        if spec is None:
            raise UnknownBlockTypeError(type_id)
        node_id = node_id or self.new_id(_default_base(spec))
        self._check_new_id(node_id)
        values = spec.validate_params(params or {}, f"{spec.title} ‘{node_id}’")
        node = Node(node_id, type_id, values, (float(position[0]), float(position[1])), label)
        self.nodes[node_id] = node
        self.events.emit(ev.NodeAdded(node_id))
        return node

    def _check_new_id(self, node_id: str) -> None:
        if not _IDENT.match(node_id) or node_id in _RESERVED:
            raise InvalidNodeIdError(node_id)
        if node_id in self.nodes:
            raise DuplicateNodeError(node_id)

    def remove_node(self, node_id: str) -> Node:
        """Remove a node, first removing (and announcing) every edge that touches it."""
        node = self.node(node_id)
        for edge in [e for e in self.edges if node_id in (e.src, e.dst)]:
            self.disconnect(edge)
        del self.nodes[node_id]
        self.events.emit(ev.NodeRemoved(node_id))
        return node

    def rename_node(self, node_id: str, new_id: str) -> None:
        node = self.node(node_id)
        if new_id == node_id:
            return
        self._check_new_id(new_id)
        self.nodes = {(new_id if k == node_id else k): v for k, v in self.nodes.items()}
        node.id = new_id
        self.edges = [_rename_edge(e, node_id, new_id) for e in self.edges]
        self.events.emit(ev.NodeRenamed(node_id, new_id))

    def move_node(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.node(node_id)
        new = (float(position[0]), float(position[1]))
        if new == node.position:
            return
        old, node.position = node.position, new
        self.events.emit(ev.NodeMoved(node_id, old, new))

    def set_label(self, node_id: str, label: str) -> None:
        node = self.node(node_id)
        if label != node.label:
            old, node.label = node.label, label
            self.events.emit(ev.LabelChanged(node_id, old, label))

    def set_params(self, node_id: str, updates: Mapping[str, Any]) -> None:
        """Change some parameters of a node; all are validated before any is applied."""
        node = self.node(node_id)
        spec = self.node_spec(node_id)
        merged = spec.validate_params({**node.params, **updates}, f"{spec.title} ‘{node_id}’")
        if merged == node.params:
            return
        old, node.params = node.params, merged
        self.events.emit(ev.ParamsChanged(node_id, dict(old), dict(merged)))

    def set_input_spec(self, spec: InputSpec) -> None:
        spec.validate()
        if spec != self.input_spec:
            old, self.input_spec = self.input_spec, spec
            self.events.emit(ev.InputSpecChanged(old, spec))

    # ----- edges ----------------------------------------------------------------------------
    def check_connect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        """Raise the typed error that ``connect`` would raise, without changing anything."""
        src_spec, dst_spec = self.node_spec(src), self.node_spec(dst)
        out_port = src_spec.output(src_port)
        if out_port is None:
            raise UnknownPortError(src, src_port, "output", tuple(p.name for p in src_spec.outputs))
        in_port = dst_spec.input(dst_port)
        if in_port is None:
            raise UnknownPortError(dst, dst_port, "input", tuple(p.name for p in dst_spec.inputs))
        existing = self.incoming(dst, dst_port)
        if any(e.src == src and e.src_port == src_port for e in existing):
            raise DuplicateEdgeError(f"{src}.{src_port}", f"{dst}.{dst_port}")
        if existing and not in_port.multi:
            raise PortAlreadyConnectedError(dst, dst_port, existing[0].src)
        _check_kinds(src, out_port.kind, dst, in_port.kind)
        if src == dst or self.reaches(dst, src):
            raise CycleError(src, dst)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str,
                index: int | None = None) -> Edge:
        """Join an output port to an input port; ``index`` places the edge in the edge list
        (the order of a multi-input port's edges is the order of its operands)."""
        self.check_connect(src, src_port, dst, dst_port)
        edge = Edge(src, src_port, dst, dst_port)
        if index is None:
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self.events.emit(ev.EdgeAdded(edge))
        return edge

    def disconnect(self, edge: Edge) -> int:
        """Remove an edge; returns its former index (for undo)."""
        try:
            index = self.edges.index(edge)
        except ValueError:
            raise UnknownNodeError(str(edge)) from None
        del self.edges[index]
        self.events.emit(ev.EdgeRemoved(edge))
        return index

    def reaches(self, start: str, goal: str) -> bool:
        """True when a directed path leads from ``start`` to ``goal``."""
        successors = self._successors()
        stack, seen = [start], {start}
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for nxt in successors.get(current, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def _successors(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for e in self.edges:
            result.setdefault(e.src, []).append(e.dst)
        return result

    def topological_order(self) -> list[str]:
        """Node ids, every node after all of its inputs; ties keep insertion order."""
        indegree = {node_id: 0 for node_id in self.nodes}
        for e in self.edges:
            indegree[e.dst] += 1
        successors = self._successors()
        ready = [n for n, d in indegree.items() if d == 0]
        order: list[str] = []
        while ready:
            current = ready.pop(0)
            order.append(current)
            for nxt in successors.get(current, ()):
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    ready.append(nxt)
        if len(order) != len(self.nodes):
            raise CycleError(*_cycle_witness(indegree))
        return order

    # ----- custom block definitions ----------------------------------------------------------
    def add_definition(self, definition: Any) -> None:
        if definition.type_id in self.definitions or self.lookup.spec(definition.type_id):
            raise DefinitionError(f"A block type ‘{definition.type_id}’ already exists.")
        definition.graph.lookup = self
        self.definitions[definition.type_id] = definition
        self.events.emit(ev.DefinitionsChanged(definition.type_id))

    def remove_definition(self, type_id: str) -> Any:
        users = [n.id for n in self.nodes.values() if n.type_id == type_id]
        users += [f"{d.name}/{n.id}" for d in self.definitions.values()
                  for n in d.graph.nodes.values() if n.type_id == type_id]
        if users:
            raise DefinitionError(
                f"Block type ‘{type_id}’ is still used by {', '.join(users[:5])}; "
                "delete or expand those nodes first.")
        definition = self.definitions.pop(type_id)
        self.events.emit(ev.DefinitionsChanged(type_id))
        return definition

    # ----- bulk helpers ------------------------------------------------------------------------
    def add_nodes_and_edges(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        for node in nodes:
            self.add_node(node.type_id, node.params, node.position, node.id, node.label)
        for e in edges:
            self.connect(e.src, e.src_port, e.dst, e.dst_port)

    def copy_node(self, node: Node, **changes: Any) -> Node:
        return replace(node, params=dict(node.params), **changes)


def _default_base(spec: BlockSpec) -> str:
    return spec.type_id.split(".")[-1].split(":")[-1].lower()


def _rename_edge(e: Edge, old: str, new: str) -> Edge:
    return Edge(new if e.src == old else e.src, e.src_port, new if e.dst == old else e.dst, e.dst_port)


def _check_kinds(src: str, src_kind: str, dst: str, dst_kind: str) -> None:
    if "any" in (src_kind, dst_kind) or src_kind == dst_kind:
        return
    names = {"feature_map": "a feature map (C×H×W)", "features": "a feature vector"}
    hint = " — insert Flatten or global average pooling between them" if dst_kind == "features" else ""
    raise IncompatiblePortsError(
        f"‘{dst}’ expects {names[dst_kind]} but ‘{src}’ gives {names[src_kind]}{hint}.")


def _cycle_witness(indegree: dict[str, int]) -> tuple[str, str]:
    stuck = sorted(n for n, d in indegree.items() if d > 0)
    return (stuck[0], stuck[-1]) if stuck else ("?", "?")
