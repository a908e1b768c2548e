"""A small block catalogue and helpers for the document tests (no torch: the graph package
must work without it, and these tests run it that way)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from resnet_studio.graph import BlockSpec, Graph, InputSpec, ParamSpec, PortSpec

FMAP, VEC = "feature_map", "features"


IN, OUT = (PortSpec("in"),), (PortSpec("out"),)


def _spec(type_id: str, title: str, *params: ParamSpec, inputs: tuple = IN,
          outputs: tuple = OUT) -> BlockSpec:
    return BlockSpec(type_id, title, "Test", inputs=inputs, outputs=outputs, params=params)


SPECS = (
    _spec("input", "Input", inputs=(), outputs=(PortSpec("out", FMAP),)),
    _spec("output", "Output", outputs=()),
    _spec("conv", "Conv", ParamSpec("out_channels", "int", 8, minimum=1, maximum=4096),
          ParamSpec("kernel_size", "int", 3, minimum=1, maximum=31),
          ParamSpec("padding", "int", 1, minimum=0, maximum=31, choices=("same",)),
          ParamSpec("bias", "bool", True),
          inputs=(PortSpec("in", FMAP),), outputs=(PortSpec("out", FMAP),)),
    _spec("relu", "ReLU"),
    _spec("dropout", "Dropout", ParamSpec("p", "float", 0.5, minimum=0.0, maximum=1.0)),
    _spec("pool", "Pool", ParamSpec("mode", "choice", "max", choices=("max", "avg")),
          ParamSpec("size", "int", 2, minimum=1)),
    _spec("gate", "Gate", ParamSpec("k", "choice", 1, choices=(1, 2, "auto"))),
    _spec("flatten", "Flatten", inputs=(PortSpec("in", FMAP),), outputs=(PortSpec("out", VEC),)),
    _spec("linear", "Linear", ParamSpec("out_features", "int", 10, minimum=1, maximum=100000),
          inputs=(PortSpec("in", VEC),), outputs=(PortSpec("out", VEC),)),
    _spec("add", "Add", inputs=(PortSpec("in", multi=True),)),
    _spec("concat", "Concat", inputs=(PortSpec("in", multi=True),)),
    _spec("sub", "Subtract", inputs=(PortSpec("a"), PortSpec("b"))),
)


class FakeCatalogue:
    """Maps type ids to the specs above, as ``blocks.CATALOGUE`` does for the real blocks."""

    def __init__(self) -> None:
        self._specs = {s.type_id: s for s in SPECS}

    def spec(self, type_id: str) -> BlockSpec | None:
        return self._specs.get(type_id)


CATALOGUE = FakeCatalogue()


def new_graph(**input_spec: int) -> Graph:
    return Graph(CATALOGUE, InputSpec(**input_spec) if input_spec else InputSpec())


def add(graph: Graph, node_id: str, type_id: str, params: dict[str, Any] | None = None,
        position: tuple[float, float] = (0.0, 0.0)) -> str:
    return graph.add_node(type_id, params or {}, position, node_id).id


def link(graph: Graph, *ids: str) -> None:
    """Connect ``ids`` in a chain, ``out`` to ``in``."""
    for src, dst in itertools.pairwise(ids):
        graph.connect(src, "out", dst, "in")


def chain_graph(*types: str) -> Graph:
    """input → n0 → n1 → … → output, node ``n<i>`` of ``types[i]``, placed down a column."""
    graph = new_graph()
    ids = ["input"] + [f"n{i}" for i in range(len(types))] + ["output"]
    for row, (node_id, type_id) in enumerate(zip(ids, ("input", *types, "output"))):
        add(graph, node_id, type_id, position=(0.0, 100.0 * row))
    link(graph, *ids)
    return graph


class Recorder:
    """Listener keeping each event together with a snapshot of the document taken when the
    event arrived, so tests can check that the change happened before the event."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.events: list[object] = []
        self.snapshots: list[dict[str, Any]] = []
        graph.events.subscribe(self)

    def __call__(self, event: object) -> None:
        self.events.append(event)
        self.snapshots.append(snapshot(self.graph))

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def snapshot(graph: Graph) -> dict[str, Any]:
    return {
        "nodes": {n.id: (n.type_id, copy.deepcopy(n.params), n.position, n.label) for n in graph},
        "order": list(graph.nodes),
        "edges": list(graph.edges),
        "input": graph.input_spec,
        "definitions": list(graph.definitions),
    }


def structure(graph: Graph) -> tuple[list, list]:
    """Node types/params and edges with ids replaced by the node's type and rank among nodes
    of that type: equal for graphs that differ only in node ids."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for node_id in graph.topological_order():
        type_id = graph.node(node_id).type_id
        counts[type_id] = counts.get(type_id, 0) + 1
        names[node_id] = f"{type_id}#{counts[type_id]}"
    nodes = sorted((names[n.id], sorted(n.params.items())) for n in graph)
    edges = [(names[e.src], e.src_port, names[e.dst], e.dst_port) for e in graph.edges]
    return nodes, _edges_by_port(edges)


def _edges_by_port(edges: list[tuple[str, str, str, str]]) -> list:
    """Edges grouped by destination port, each group in operand order."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for src, sp, dst, dp in edges:
        groups.setdefault((dst, dp), []).append((src, sp))
    return sorted(groups.items())
