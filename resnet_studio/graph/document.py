"""The architecture document: nodes, ports, edges, the input specification.

The document is the single source of truth. Every mutation validates first, changes state,
then emits one event, so listeners always see a consistent document.
"""

from __future__ import annotations

import copy
import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import events as ev
from .block_table import BlockTable
from .edge_index import EdgeIndex
from .errors import (
    CycleError,
    DuplicateEdgeError,
    DuplicateNodeError,
    IncompatiblePortsError,
    InvalidModulePathError,
    InvalidNodeIdError,
    ParameterError,
    PortAlreadyConnectedError,
    UnknownBlockTypeError,
    UnknownEdgeError,
    UnknownNodeError,
    UnknownPortError,
)
from .naming import IDENT, INPUT_TYPE, checked_position, id_problem, module_problem
from .schema import BlockSpec, SpecLookup
from .text import shown

OUTPUT_TYPE = "output"


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
                                     f"{shown(value)} is not allowed; expected an integer "
                                     "from 1 to 100000.")


@dataclass
class Node:
    id: str
    type_id: str
    params: dict[str, Any]
    position: tuple[float, float] = (0.0, 0.0)
    label: str = ""
    module: str = ""  # dotted module path in the built network; "" means the node id

    @property
    def module_name(self) -> str:
        """Where the node's module sits in the built network (``features.0`` or the id)."""
        return self.module or self.id

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
class Graph(BlockTable):
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
    _index: EdgeIndex = field(default_factory=EdgeIndex, init=False, repr=False, compare=False)

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
        edges = self._edge_index()[1].get(node_id, ())
        return [e for e in edges if port is None or e.dst_port == port]

    def outgoing(self, node_id: str, port: str | None = None) -> list[Edge]:
        edges = self._edge_index()[0].get(node_id, ())
        return [e for e in edges if port is None or e.src_port == port]

    def _edge_index(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        return self._index.lookup(self.edges)

    @property
    def index_builds(self) -> int:
        """How often the edge index was built from scratch (once per load, tests check)."""
        return self._index.builds

    def nodes_of_type(self, type_id: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type_id == type_id]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def is_block_body(self) -> bool:
        """True for the graph inside a custom block definition (it looks types up through the
        project's root graph)."""
        return isinstance(self.lookup, Graph)

    def copy(self) -> Graph:
        """An independent snapshot without listeners, for trial edits and for building on a
        worker thread while the user goes on editing.

        Nodes, edges and every custom block definition are copied, and each copied
        definition's body looks its types up through the copy, so no later edit of this
        graph (or of its definitions) reaches the snapshot. A block body's copy still looks
        types up through the root it belongs to."""
        nodes = {k: self.copy_node(n) for k, n in self.nodes.items()}
        twin = Graph(self.lookup, self.input_spec, self.name, nodes, list(self.edges),
                     {}, copy.deepcopy(self.training))
        for type_id, definition in self.definitions.items():
            body = definition.graph.copy()
            body.lookup = twin
            twin.definitions[type_id] = replace(definition, graph=body)
        return twin

    # ----- nodes ----------------------------------------------------------------------------
    def new_id(self, base: str) -> str:
        """A fresh, valid node id: ``base`` itself when free, else ``base`` with the lowest
        free number (``conv`` → ``conv1``); characters a Python name cannot hold become ``_``."""
        base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "node"
        if not IDENT.fullmatch(base):
            base = "n_" + base
        if self._id_free(base):
            return base
        stem = base.rstrip("0123456789") or base
        number = 1
        while not self._id_free(f"{stem}{number}"):
            number += 1
        return f"{stem}{number}"

    def _id_free(self, node_id: str) -> bool:
        return node_id not in self.nodes and id_problem(node_id, "") is None

    def add_node(self, type_id: str, params: Mapping[str, Any] | None = None,
                 position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None,
                 label: str = "", index: int | None = None, module: str = "") -> Node:
        """Add a node of ``type_id``; missing parameters take their defaults. Without
        ``node_id`` a fresh id is made from the type. ``index`` places the node in the node
        order (which decides the topological order among ready nodes, the saved file and the
        built network's module order): undoing a delete puts the node back where it was.
        ``module`` is an optional module path (see ``naming.module_problem``); clashes between
        paths are reported by the compiler's analysis, which sees the whole graph."""
        spec = self.spec(type_id)
        if spec is None:
            raise UnknownBlockTypeError(type_id)
        node_id = self.new_id(_default_base(spec)) if node_id is None else node_id
        self.check_new_id(node_id, type_id)
        self._check_not_recursive(type_id)
        values = spec.validate_params(params or {}, f"{spec.title} ‘{node_id}’")
        if module:
            problem = module_problem(module)
            if problem is not None:
                raise InvalidModulePathError(node_id, module, problem)
        node = Node(node_id, type_id, values, checked_position(node_id, position), label,
                    module)
        if index is None or index >= len(self.nodes):
            self.nodes[node_id] = node
        else:
            items = list(self.nodes.items())
            items.insert(max(index, 0), (node_id, node))
            self.nodes = dict(items)
        self.events.emit(ev.NodeAdded(node_id))
        return node

    def check_new_id(self, node_id: str, type_id: str = "") -> None:
        """Raise InvalidNodeIdError or DuplicateNodeError unless ``node_id`` could name a new
        node of ``type_id`` (the type matters only for Input nodes, which may be named ``in``)."""
        problem = id_problem(node_id, type_id)
        if problem is not None:
            raise InvalidNodeIdError(node_id, problem)
        if node_id in self.nodes:
            raise DuplicateNodeError(node_id)

    def node_index(self, node_id: str) -> int:
        """The node's place in the node order (see ``add_node``'s ``index``)."""
        self.node(node_id)
        return list(self.nodes).index(node_id)

    def remove_node(self, node_id: str) -> Node:
        """Remove a node, first removing (and announcing) every edge that touches it."""
        node = self.node(node_id)
        touching = set(self.incoming(node_id)) | set(self.outgoing(node_id))
        for edge in [e for e in self.edges if e in touching]:
            self.disconnect(edge)
        del self.nodes[node_id]
        self.events.emit(ev.NodeRemoved(node_id))
        return node

    def rename_node(self, node_id: str, new_id: str) -> None:
        """Give a node a new id, keeping its place in the node order and its edges (which are
        replaced by renamed copies; NodeRenamed is the only event)."""
        node = self.node(node_id)
        if new_id == node_id:
            return
        self.check_new_id(new_id, node.type_id)
        self.nodes = {(new_id if k == node_id else k): v for k, v in self.nodes.items()}
        node.id = new_id
        self.edges = [_rename_edge(e, node_id, new_id) for e in self.edges]
        self._index.reset()
        self.events.emit(ev.NodeRenamed(node_id, new_id))
        if node.type_id == INPUT_TYPE and self.is_block_body():
            self._rename_block_port(node_id, new_id)

    def move_node(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.node(node_id)
        new = checked_position(node_id, position)
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
        """Change the image size, channels or classes that ``$name`` references resolve to."""
        spec.validate()
        if spec != self.input_spec:
            old, self.input_spec = self.input_spec, spec
            self.events.emit(ev.InputSpecChanged(old, spec))

    def set_name(self, name: str) -> None:
        if name != self.name:
            old, self.name = self.name, name
            self.events.emit(ev.NameChanged(old, name))

    def set_training(self, training: dict[str, Any] | None) -> None:
        """Replace the project's training settings (a copy is kept)."""
        if training != self.training:
            old, self.training = self.training, copy.deepcopy(training)
            self.events.emit(ev.TrainingChanged(old, copy.deepcopy(training)))

    # ----- edges ----------------------------------------------------------------------------
    def check_connect(self, src: str, src_port: str, dst: str, dst_port: str,
                      check_cycle: bool = True) -> None:
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
        _check_kinds(src, self._out_kind(src, out_port.kind), dst, in_port.kind)
        if src == dst or (check_cycle and self.reaches(dst, src)):
            raise CycleError(src, dst)

    def _out_kind(self, node_id: str, kind: str) -> str:
        # Inside a block an Input node stands for whatever the block receives, so it may feed
        # a feature map or a flat vector alike; the compiler checks the actual shapes.
        if self.is_block_body() and self.nodes[node_id].type_id == INPUT_TYPE:
            return "any"
        return kind

    def connect(self, src: str, src_port: str, dst: str, dst_port: str,
                index: int | None = None, check_cycle: bool = True) -> Edge:
        """Join an output port to an input port; ``index`` places the edge in the edge list
        (the order of a multi-input port's edges is the order of its operands). A bulk reader
        may pass ``check_cycle=False`` (the search is O(nodes) per edge) and then check the
        whole graph once with ``topological_order``."""
        self.check_connect(src, src_port, dst, dst_port, check_cycle)
        edge = Edge(src, src_port, dst, dst_port)
        appended = index is None or index >= len(self.edges)
        if appended:
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self._index.added(self.edges, edge, appended)
        self.events.emit(ev.EdgeAdded(edge))
        return edge

    def disconnect(self, edge: Edge) -> int:
        """Remove an edge; returns its former index (for undo)."""
        if self.edges and self.edges[-1] == edge:  # clearing a graph removes the last first
            index = len(self.edges) - 1
        else:
            try:
                index = self.edges.index(edge)
            except ValueError:
                raise UnknownEdgeError(edge) from None
        del self.edges[index]
        self._index.removed(self.edges, edge)
        self.events.emit(ev.EdgeRemoved(edge))
        return index

    def reaches(self, start: str, goal: str) -> bool:
        """True when a directed path leads from ``start`` to ``goal`` (visits only what
        ``start`` reaches, through the edge index)."""
        by_src = self._edge_index()[0]
        stack, seen = [start], {start}
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for nxt in (e.dst for e in by_src.get(current, ())):
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
        """Node ids, every node after all of its inputs.

        Among the nodes that are ready, the one added first comes first, so the order (and the
        module order of the built network) follows the order in which the network was written.
        """
        ids = list(self.nodes)
        rank = {node_id: i for i, node_id in enumerate(ids)}
        indegree = dict.fromkeys(ids, 0)
        for e in self.edges:
            indegree[e.dst] += 1
        successors = self._successors()
        ready = [rank[n] for n, d in indegree.items() if d == 0]
        order: list[str] = []
        while ready:
            current = ids[heapq.heappop(ready)]
            order.append(current)
            for nxt in successors.get(current, ()):
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, rank[nxt])
        if len(order) != len(self.nodes):
            cycle = self._find_cycle({n for n, d in indegree.items() if d > 0})
            path = " → ".join(cycle + cycle[:1])
            raise CycleError(cycle[-1], cycle[0], f"The network contains a cycle: {path}.")
        return order

    def _find_cycle(self, stuck: set[str]) -> list[str]:
        """One cycle among ``stuck`` nodes (each has a predecessor that is stuck too)."""
        predecessor: dict[str, str] = {}
        for e in self.edges:
            if e.src in stuck and e.dst in stuck:
                predecessor.setdefault(e.dst, e.src)
        node = next(n for n in self.nodes if n in stuck)
        path: list[str] = []
        seen: dict[str, int] = {}
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = predecessor[node]
        cycle = list(reversed(path[seen[node]:]))  # forward order, ending at ``node``
        return cycle[-1:] + cycle[:-1]

    # ----- bulk helpers ------------------------------------------------------------------------
    def add_nodes_and_edges(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        for node in nodes:
            self.add_node(node.type_id, node.params, node.position, node.id, node.label,
                          module=node.module)
        for e in edges:
            self.connect(e.src, e.src_port, e.dst, e.dst_port)

    def copy_node(self, node: Node, **changes: Any) -> Node:
        return replace(node, params=dict(node.params), **changes)


def _default_base(spec: BlockSpec) -> str:
    return spec.type_id.split(".")[-1].split(":")[-1].lower()


def _rename_edge(e: Edge, old: str, new: str) -> Edge:
    return Edge(new if e.src == old else e.src, e.src_port,
                new if e.dst == old else e.dst, e.dst_port)


def _check_kinds(src: str, src_kind: str, dst: str, dst_kind: str) -> None:
    if "any" in (src_kind, dst_kind) or src_kind == dst_kind:
        return
    names = {"feature_map": "a feature map (C×H×W)", "features": "a feature vector",
             "pyramid": "a feature pyramid (an FPN block's output)",
             "detections": "a detector's boxes", "class_maps": "per-pixel class scores"}
    hints = {"features": " — insert Flatten or global average pooling between them",
             "pyramid": " — wire two or more stages into an FPN and the FPN into it"}
    hint = hints.get(dst_kind, "")
    raise IncompatiblePortsError(f"‘{dst}’ expects {names.get(dst_kind, dst_kind)} but ‘{src}’ "
                                 f"gives {names.get(src_kind, src_kind)}{hint}.")

