"""The in-memory network: a module that runs a compiled plan of graph nodes.

Nodes with parameters (and parameter-free layers such as ReLU) are registered under their node
ids (or under their module paths, ``features.0.1``, inside ``nn.ModuleDict`` containers), so a
torchvision-shaped graph gives torchvision's module tree and ``state_dict`` keys;
parameter-free operations (Flatten, Add, Concat) are applied in ``forward`` like torchvision's
``torch.flatten`` call. A custom block node becomes a nested GraphNet built from its body.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import nn

from ..blocks import Call
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph, Node
from .resolve import root_of

if TYPE_CHECKING:
    from .infer import Analysis


@dataclass(frozen=True)
class Step:
    node_id: str
    sources: tuple[str, ...]
    fn: Callable[..., Any] | None = None  # set for functional steps; modules are looked up
    path: tuple[str, ...] = ()  # where the module sits: the node id, or its module path


class GraphNet(nn.Module):
    """Runs ``steps`` in order; ``inputs`` are the node ids fed by ``forward``'s arguments.
    It returns the ``output`` node's value or, given ``returns`` ((key, node id) pairs), an
    ``OrderedDict`` of those nodes' values under those keys: a backbone's features, as
    torchvision's detection and segmentation models take them."""

    def __init__(self, steps: list[Step], modules: dict[str, nn.Module],
                 inputs: tuple[str, ...], output: str | None,
                 returns: tuple[tuple[str, str], ...] = ()):
        super().__init__()
        for step in steps:
            if step.node_id in modules:
                _place(self, step.path, modules[step.node_id])
        self._steps = tuple(steps)
        self._inputs = inputs
        self._output = output
        self._returns = returns

    def forward(self, *xs):
        values = dict(zip(self._inputs, xs))
        for step in self._steps:
            fn = step.fn if step.fn is not None else self._module_at(step.path)
            values[step.node_id] = fn(*[values[s] for s in step.sources])
        if self._returns:
            return OrderedDict((key, values[node]) for key, node in self._returns)
        return values[self._output]

    def node_values(self, *xs, nodes: tuple[str, ...]) -> dict[str, Any]:
        """The values of ``nodes`` (node ids) for inputs ``xs``, in that order; the steps after
        the last of them do not run (a backbone's features without the classifier)."""
        wanted = set(nodes) - set(self._inputs)
        values = dict(zip(self._inputs, xs))
        for step in self._steps:
            if not wanted:
                break
            fn = step.fn if step.fn is not None else self._module_at(step.path)
            values[step.node_id] = fn(*[values[s] for s in step.sources])
            wanted.discard(step.node_id)
        return {node: values[node] for node in nodes}

    def node_paths(self) -> dict[str, str]:
        """Each node that holds a module and where it sits: its id, or its module path
        (``features.0.1``), so that parameters can be told apart by node."""
        return {s.node_id: ".".join(s.path) for s in self._steps if s.fn is None and s.path}

    def _module_at(self, path: tuple[str, ...]) -> nn.Module:
        module: nn.Module = self
        for name in path:
            module = module._modules[name]
        return module


def _place(net: nn.Module, path: tuple[str, ...], module: nn.Module) -> None:
    """Register ``module`` at ``path``, making the ``nn.ModuleDict`` containers on the way
    (in order of first use, which generated source follows). The analysis has refused clashing
    paths, so every container on the way is one made here."""
    parent = net
    for name in path[:-1]:
        if name not in parent._modules:
            parent.add_module(name, nn.ModuleDict())
        parent = parent._modules[name]
    parent.add_module(path[-1], module)


def assemble(graph: Graph, analysis: Analysis,
             returns: tuple[tuple[str, str], ...] = ()) -> GraphNet:
    """The module computing ``graph`` from an error-free ``analysis`` of it (or of a graph with
    identical contents). A custom block node is assembled from its body's analysis and the
    body ``graph`` holds, so a build only ever reads the graph it is given. With ``returns``
    ((key, node id) pairs) it holds only the nodes those depend on and returns their values
    (see GraphNet)."""
    steps, modules = [], {}
    inputs = tuple(n.id for n in graph.nodes_of_type(INPUT_TYPE))
    needed = upstream(graph, [node for _, node in returns]) if returns else None
    output = None
    for node_id in analysis.order:
        node = graph.node(node_id)
        if node.type_id == INPUT_TYPE or (needed is not None and node_id not in needed):
            continue
        sources = operand_sources(graph, node_id)
        if node.type_id == OUTPUT_TYPE:
            output = sources[0]
            continue
        info = analysis.nodes[node_id]
        if info.body is not None:
            body = root_of(graph).definitions[node.type_id].graph
            modules[node_id] = assemble(body, info.body)
            steps.append(Step(node_id, sources, path=module_path(node)))
        elif isinstance(info.op, Call):
            modules[node_id] = info.op.build()
            steps.append(Step(node_id, sources, path=module_path(node)))
        else:
            steps.append(Step(node_id, sources, info.op.fn))
    return GraphNet(steps, modules, inputs, output, returns)


def module_path(node: Node) -> tuple[str, ...]:
    """The names leading from the network to the node's module: ``("features", "0")``."""
    return tuple(node.module_name.split("."))


def operand_sources(graph: Graph, node_id: str) -> tuple[str, ...]:
    """The node ids feeding ``node_id``, in port order; a multi port's edges in edge order."""
    spec = graph.node_spec(node_id)
    return tuple(e.src for port in spec.inputs for e in graph.incoming(node_id, port.name))


def upstream(graph: Graph, nodes: Sequence[str]) -> set[str]:
    """``nodes`` and every node they depend on."""
    seen, todo = set(nodes), list(nodes)
    while todo:
        for edge in graph.incoming(todo.pop()):
            if edge.src not in seen:
                seen.add(edge.src)
                todo.append(edge.src)
    return seen
