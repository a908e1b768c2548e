"""From a graph to an ``nn.Module``, initialised as torchvision initialises its ResNets."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..blocks import Call
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph
from .infer import Analysis, Analyzer
from .module import GraphNet, Step


class BuildError(ValueError):
    """The graph has errors; ``diagnostics`` lists them."""

    def __init__(self, analysis: Analysis):
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        lines = "\n".join(f"  - {d.message}" for d in errors[:20])
        super().__init__(f"The network cannot be built; fix these problems first:\n{lines}")
        self.diagnostics = errors


#: Weight initialisations ``build`` offers, with what each does (for settings panels and help).
INITS: dict[str, str] = {
    "he_fan_out": "Kaiming normal, fan-out, on convolutions (torchvision's ResNets)",
    "he_fan_in": "Kaiming normal, fan-in, on convolutions and linear layers; zero biases",
    "xavier": "Xavier (Glorot) uniform on convolutions and linear layers; zero biases",
    "pytorch": "PyTorch's defaults (Kaiming uniform, a=√5) left as the layers made them",
}


def build(graph: Graph, analysis: Analysis | None = None, *, zero_init_residual: bool = False,
          initialise: bool = True, init: str = "he_fan_out") -> GraphNet:
    """Build the network and initialise it with ``init`` (one of ``INITS``).
    ``zero_init_residual`` zeroes the last norm layer of every residual branch so each block
    starts as the identity (Goyal et al. 2017, https://arxiv.org/abs/1706.02677), as
    torchvision's option of the same name does."""
    if init not in INITS:
        raise ValueError(f"init ‘{init}’ is not one of {', '.join(INITS)}.")
    analysis = analysis or Analyzer().analyze(graph)
    if not analysis.ok:
        raise BuildError(analysis)
    net = _assemble(graph, analysis)
    if initialise:
        initialise_weights(net, zero_init_residual, init)
    return net


def build_body(graph: Graph, env: dict[str, Any], input_shapes: dict[str, tuple[int, ...]]) -> GraphNet:
    """Build a custom block's body (its weights are initialised with the enclosing network)."""
    analysis = Analyzer().analyze(graph, env, input_shapes)
    if not analysis.ok:
        raise BuildError(analysis)
    return _assemble(graph, analysis)


def _assemble(graph: Graph, analysis: Analysis) -> GraphNet:
    steps, modules = [], {}
    inputs = tuple(n.id for n in graph.nodes_of_type(INPUT_TYPE))
    output = None
    for node_id in analysis.order:
        node = graph.node(node_id)
        if node.type_id == INPUT_TYPE:
            continue
        sources = operand_sources(graph, node_id)
        if node.type_id == OUTPUT_TYPE:
            output = sources[0]
            continue
        op = analysis.nodes[node_id].op
        if isinstance(op, Call):
            modules[node_id] = op.build()
            steps.append(Step(node_id, sources))
        else:
            steps.append(Step(node_id, sources, op.fn))
    return GraphNet(steps, modules, inputs, output)


def operand_sources(graph: Graph, node_id: str) -> tuple[str, ...]:
    """The node ids feeding ``node_id``, in port order; a multi port's edges in edge order."""
    spec = graph.node_spec(node_id)
    return tuple(e.src for port in spec.inputs for e in graph.incoming(node_id, port.name))


def initialise_weights(net: nn.Module, zero_init_residual: bool = False,
                       init: str = "he_fan_out") -> None:
    """Initialise ``net`` in place. Norm layers always start as the identity (weight 1,
    bias 0); ``init`` decides the filters (see ``INITS``). He et al. 2015
    (https://arxiv.org/abs/1502.01852) for the Kaiming inits, Glorot & Bengio 2010 for Xavier."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            _init_filter(m, init)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in net.modules():
            hook = getattr(m, "zero_init_residual", None)
            if callable(hook):
                hook()


def _init_filter(m: nn.Module, init: str) -> None:
    if init == "pytorch" or (init == "he_fan_out" and isinstance(m, nn.Linear)):
        return  # torchvision leaves its linear layers at PyTorch's default
    if init == "xavier":
        nn.init.xavier_uniform_(m.weight)
    else:
        mode = "fan_out" if init == "he_fan_out" else "fan_in"
        nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
    if init != "he_fan_out" and m.bias is not None:
        nn.init.zeros_(m.bias)
