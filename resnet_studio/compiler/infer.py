"""Shape inference, costs and diagnostics for a whole graph, fast enough to rerun per edit.

Each node is built on the ``meta`` device (no memory, no initialisation cost) and run on a meta
tensor of its inferred input shape; the output shape, parameter count, FLOPs and produced
activation bytes come out of that one run. Results are cached by (type, parameters, input
shapes), so after an edit only the nodes whose inputs changed are recomputed, and the many
identical blocks of a deep ResNet are computed once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch

from ..blocks import BlockType, Call, Functional
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph, GraphError, resolve_params
from . import heads
from .counting import CostCounter
from .resolve import block_for, root_of

Shape = tuple[int, ...]


@dataclass
class NodeInfo:
    """What the compiler knows of one node. ``problem`` is a plain-language diagnostic."""

    node_id: str
    type_id: str
    in_shapes: tuple[Shape, ...] = ()
    out_shape: Shape | None = None
    params: int = 0
    flops: int = 0
    activation_bytes: int = 0  # per sample, float32, every tensor the node produces
    problem: str | None = None
    resolved: dict[str, Any] = field(default_factory=dict)
    op: Call | Functional | None = None
    body: Analysis | None = None  # a custom block node: the analysis of its body


    @property
    def macs(self) -> int:
        """Multiply-accumulates: what torchvision's model tables call "GFLOPS"."""
        return self.flops // 2


@dataclass(frozen=True)
class Diagnostic:
    node_id: str | None
    message: str
    severity: str = "error"


@dataclass
class Analysis:
    nodes: dict[str, NodeInfo]
    diagnostics: list[Diagnostic]
    order: list[str]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.nodes.values())

    @property
    def total_flops(self) -> int:
        return sum(i.flops for i in self.nodes.values())

    @property
    def total_macs(self) -> int:
        return self.total_flops // 2

    def activation_bytes(self, batch_size: int = 1) -> int:
        return batch_size * sum(i.activation_bytes for i in self.nodes.values())

    def output_shape(self) -> Shape | None:
        outputs = [i for i in self.nodes.values() if i.type_id == OUTPUT_TYPE]
        return outputs[0].in_shapes[0] if outputs and outputs[0].in_shapes else None


class Analyzer:
    """Keeps the per-node cache between runs; the editor holds one per open document.

    A custom block node is analysed by analysing its definition's body with the node's values
    and input shapes, through this same analyser and cache. Its cache key holds a digest of the
    definition's contents (nested definitions included), so one body configuration is analysed
    once however often and however deeply it is used, and an analyser reused after another
    project is opened never answers with the shapes of a same-named block of the old project.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple, tuple] = {}
        self.body_analyses = 0  # custom block bodies analysed so far (cache misses)

    def analyze(self, graph: Graph, env: dict[str, Any] | None = None,
                input_shapes: dict[str, Shape] | None = None) -> Analysis:
        """Analyse ``graph``. A custom block's body is analysed with ``env`` (the block's
        parameter values) and ``input_shapes`` (one per Input node) instead of the project's
        input specification."""
        return self._analyze(graph, env, input_shapes, {})

    def _analyze(self, graph: Graph, env: dict[str, Any] | None,
                 input_shapes: dict[str, Shape] | None, digests: dict[str, str]) -> Analysis:
        diagnostics = _structure(graph, input_shapes is None)
        try:
            order = graph.topological_order()
        except GraphError as exc:
            return Analysis({}, diagnostics + [Diagnostic(None, str(exc))], [])
        env = graph.input_spec.env() if env is None else env
        if input_shapes is None:
            spec = graph.input_spec
            input_shapes = {n.id: (spec.channels, spec.height, spec.width)
                            for n in graph.nodes_of_type(INPUT_TYPE)}
        infos: dict[str, NodeInfo] = {}
        for node_id in order:
            info = self._node(graph, node_id, infos, env, input_shapes, digests)
            infos[node_id] = info
            if info.problem:
                diagnostics.append(Diagnostic(node_id, info.problem))
        diagnostics += [Diagnostic(node_id, message)
                        for node_id, message in heads.wiring_problems(graph)]
        return Analysis(infos, diagnostics, order)

    def _node(self, graph: Graph, node_id: str, infos: dict[str, NodeInfo],
              env: dict[str, Any], input_shapes: dict[str, Shape],
              digests: dict[str, str]) -> NodeInfo:
        node = graph.node(node_id)
        info = NodeInfo(node_id, node.type_id)
        spec = graph.spec(node.type_id)
        title = f"{spec.title if spec else node.type_id} ‘{node_id}’"
        if spec is None:
            info.problem = f"{title}: unknown block type ‘{node.type_id}’."
            return info
        if node.type_id == INPUT_TYPE:
            info.out_shape = input_shapes.get(node_id)
            return info
        shapes = _input_shapes(graph, node_id, spec, infos)
        if isinstance(shapes, str):
            info.problem = f"{title}: {shapes}" if shapes else None
            return info
        info.in_shapes = shapes
        info.problem = heads.input_problem(graph, node_id, _sources(graph, node_id, spec, infos))
        if info.problem:
            return info
        try:
            info.resolved = resolve_params(node.params, env, spec, title)
        except GraphError as exc:
            info.problem = str(exc)
            return info
        definition = root_of(graph).definitions.get(node.type_id)
        if definition is not None:
            self._custom(graph, definition, info, title, digests)
        elif node.type_id == OUTPUT_TYPE:
            info.problem = _output_problem(graph, block_for(graph, node.type_id), info, env, title)
        else:
            self._evaluate(block_for(graph, node.type_id), info, title, env)
        return info

    def _evaluate(self, block: BlockType, info: NodeInfo, title: str,
                  env: dict[str, Any]) -> None:
        missing = [name for name in block.context if name not in env]
        if missing:
            info.problem = (f"{title}: needs the project's {', '.join(missing)}, which a custom "
                            "block does not have; put it in the network itself.")
            return
        info.resolved.update({name: env[name] for name in block.context})
        key = (info.type_id, _freeze(info.resolved), info.in_shapes)
        cached = self._cache.get(key)
        if cached is None:
            run = _measure_head if heads.is_head(block.type_id) else _run_on_meta
            cached = self._cache[key] = run(block, info.resolved, info.in_shapes)
        info.out_shape, info.params, info.flops, info.activation_bytes, problem, info.op = cached
        if problem:
            info.problem = f"{title}: {problem}"

    def _custom(self, graph: Graph, definition: Any, info: NodeInfo, title: str,
                digests: dict[str, str]) -> None:
        """Analyse a custom block node through its definition's body (cached by contents)."""
        digest = definition_digest(root_of(graph), info.type_id, digests)
        key = ("custom", digest, _freeze(info.resolved), info.in_shapes)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._body(definition, info, digests)
        body, problem = cached
        info.body = body if problem is None else None
        if problem is not None:
            info.problem = f"{title}: {problem}"
            return
        info.out_shape = body.output_shape()
        info.params, info.flops = body.total_params, body.total_flops
        info.activation_bytes = body.activation_bytes(1)

    def _body(self, definition: Any, info: NodeInfo,
              digests: dict[str, str]) -> tuple[Analysis | None, str | None]:
        self.body_analyses += 1
        ports = [n.id for n in definition.graph.nodes_of_type(INPUT_TYPE)]
        if len(ports) != len(info.in_shapes):
            return None, (f"block ‘{definition.name}’ has {len(ports)} inputs, "
                          f"{len(info.in_shapes)} given.")
        body = self._analyze(definition.graph, dict(info.resolved),
                             dict(zip(ports, info.in_shapes)), digests)
        errors = [d for d in body.diagnostics if d.severity == "error"]
        if errors:
            return None, f"inside block ‘{definition.name}’: {errors[0].message}"
        if body.output_shape() is None:
            return None, f"inside block ‘{definition.name}’: the output has no shape."
        return body, None


def definition_digest(root: Graph, type_id: str, digests: dict[str, str]) -> str:
    """A digest of everything that decides what a custom block computes: its name,
    parameters, body nodes and edges in order, and the digests of the blocks it uses.
    ``digests`` memoises them for one analysis, which keeps the work linear in the project."""
    if type_id in digests:
        return digests[type_id]
    definition = root.definitions[type_id]
    nested = sorted({n.type_id for n in definition.graph if n.type_id in root.definitions})
    parts = (definition.name, [(p.name, p.kind, repr(p.default)) for p in definition.params],
             [(n.id, n.type_id, repr(_freeze(n.params))) for n in definition.graph],
             [(e.src, e.src_port, e.dst, e.dst_port) for e in definition.graph.edges],
             [(t, definition_digest(root, t, digests)) for t in nested])
    digests[type_id] = hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()
    return digests[type_id]


def _output_problem(graph: Graph, block: BlockType, info: NodeInfo, env: dict[str, Any],
                    title: str) -> str | None:
    """The Output node checks the scores only at the top level (a block's output is free) and
    of a classifier (``heads.wiring_problems`` checks what a head's Output takes)."""
    if graph.is_block_body() or any(heads.is_task_head(n.type_id) for n in graph):
        return None
    problem = block.check(info.resolved, info.in_shapes) if block.check else None
    problem = problem or _class_count_problem(info.in_shapes[0], env["classes"])
    return f"{title}: {problem}" if problem else None


def _run_on_meta(block: BlockType, params: dict, shapes: tuple[Shape, ...]) -> tuple:
    problem = block.check(params, shapes) if block.check else None
    if problem:
        return None, 0, 0, 0, problem, None
    try:
        op = block.make(params, shapes)
        with torch.device("meta"):
            fn = op.build().eval() if isinstance(op, Call) else op.fn
            count = sum(p.numel() for p in fn.parameters()) if isinstance(op, Call) else 0
            xs = [torch.empty((1, *s), device="meta") for s in shapes]
            counter = CostCounter()
            with torch.no_grad(), counter:
                out = fn(*xs)
    except Exception as exc:  # a torch error message is still better than none
        return None, 0, 0, 0, _clean_error(exc), None
    if not isinstance(out, torch.Tensor):
        return None, 0, 0, 0, "does not produce a single tensor.", None
    return tuple(out.shape[1:]), count, counter.flops, counter.activation_bytes, None, op


def _measure_head(block: BlockType, params: dict, shapes: tuple[Shape, ...]) -> tuple:
    try:
        return heads.measure(block, params, shapes)
    except Exception as exc:  # a torch error message is still better than none
        return None, 0, 0, 0, _clean_error(exc), None


def _sources(graph: Graph, node_id: str, spec, infos) -> list[tuple[str, Any]]:
    """(source node id, its output shape) for each of the node's inputs, in port order."""
    return [(e.src, infos[e.src].out_shape) for port in spec.inputs
            for e in graph.incoming(node_id, port.name)]


def _input_shapes(graph: Graph, node_id: str, spec, infos) -> tuple[Shape, ...] | str:
    shapes: list[Shape] = []
    for port in spec.inputs:
        edges = graph.incoming(node_id, port.name)
        if not edges:
            return f"input ‘{port.name}’ is not connected."
        for edge in edges:
            upstream = infos.get(edge.src)
            if upstream is None or upstream.out_shape is None:
                return ""  # an upstream node already reports its own problem
            shapes.append(upstream.out_shape)
    return tuple(shapes)


def _structure(graph: Graph, top_level: bool) -> list[Diagnostic]:
    problems = []
    for kind, name in ((INPUT_TYPE, "Input"), (OUTPUT_TYPE, "Output")):
        found = graph.nodes_of_type(kind)
        if not found:
            problems.append(Diagnostic(
                None, f"The network has no {name} node; add one from the palette."))
        elif len(found) > 1 and (top_level or kind == OUTPUT_TYPE):
            ids = ", ".join(n.id for n in found)
            problems.append(Diagnostic(found[1].id, f"The network has {len(found)} {name} nodes "
                                                    f"({ids}); keep exactly one."))
    for node in graph:
        if node.type_id not in (INPUT_TYPE, OUTPUT_TYPE) and not graph.outgoing(node.id):
            spec = graph.spec(node.type_id)
            problems.append(Diagnostic(node.id, f"{spec.title if spec else node.type_id} "
                                       f"‘{node.id}’: its output is not used.", "warning"))
    return problems + _module_clashes(graph)


def _module_clashes(graph: Graph) -> list[Diagnostic]:
    """An error on each node whose module path (``features.0``) is taken by another node, or
    lies inside or around another node's module (``features`` vs ``features.0``): the built
    network could hold only one of them there."""
    names = {n.id: tuple(n.module_name.split(".")) for n in graph
             if n.type_id not in (INPUT_TYPE, OUTPUT_TYPE)}
    problems = []
    for node in graph:
        if not node.module:
            continue
        mine = names[node.id]
        for other, theirs in names.items():
            shorter = min(len(mine), len(theirs))
            if other != node.id and mine[:shorter] == theirs[:shorter]:
                spec = graph.spec(node.type_id)
                relation = "is also" if mine == theirs else "overlaps"
                problems.append(Diagnostic(node.id, (
                    f"{spec.title if spec else node.type_id} ‘{node.id}’: module path "
                    f"‘{node.module}’ {relation} the module ‘{'.'.join(theirs)}’ of node "
                    f"‘{other}’; give each node a path of its own.")))
                break
    return problems


def _class_count_problem(shape: Shape, classes: int) -> str | None:
    if len(shape) == 1 and shape[0] != classes:
        return (f"the network gives {shape[0]} scores but the project has {classes} classes; "
                "set the last Linear layer's out_features to $classes.")
    return None


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _clean_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300] + ("" if text.endswith(".") else ".")

