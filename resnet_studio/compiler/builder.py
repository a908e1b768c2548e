"""From a graph to an ``nn.Module``, initialised as torchvision initialises its ResNets."""

from __future__ import annotations

import os

from torch import nn

from ..graph import Graph
from .dense import assemble_dense, backbone_body, dense_plan
from .infer import Analysis, Analyzer
from .module import assemble, operand_sources

__all__ = ["INITS", "BuildError", "build", "initialise_weights", "operand_sources",
           "parameter_limit"]

_FLOAT_BYTES = 4
_GIB = 1024 ** 3


class BuildError(ValueError):
    """The graph has errors (``diagnostics`` lists them), or it is too big to build."""

    def __init__(self, analysis: Analysis, message: str | None = None):
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        if message is None:
            lines = "\n".join(f"  - {d.message}" for d in errors[:20])
            message = f"The network cannot be built; fix these problems first:\n{lines}"
        super().__init__(message)
        self.diagnostics = errors


#: Weight initialisations ``build`` offers, with what each does (for settings panels and help).
INITS: dict[str, str] = {
    "he_fan_out": "Kaiming normal, fan-out, on convolutions (torchvision's ResNets)",
    "he_fan_in": "Kaiming normal, fan-in, on convolutions and linear layers; zero biases",
    "xavier": "Xavier (Glorot) uniform on convolutions and linear layers; zero biases",
    "pytorch": "PyTorch's defaults (Kaiming uniform, a=√5) left as the layers made them",
}


def parameter_limit() -> int:
    """The most parameter bytes a build may allocate: half of this machine's memory (the
    weights are made and initialised in host memory first), or 16 GiB when it is unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        return 16 * _GIB


def build(graph: Graph, analysis: Analysis | None = None, *, zero_init_residual: bool = False,
          initialise: bool = True, init: str = "he_fan_out",
          max_param_bytes: int | None = None) -> nn.Module:
    """Build the network and initialise it with ``init`` (one of ``INITS``): a GraphNet, or
    for a graph with a task head torchvision's detector or segmenter around it (see
    ``dense``), whose head keeps torchvision's own initialisation.
    ``zero_init_residual`` zeroes the last norm layer of every residual branch so each block
    starts as the identity (Goyal et al. 2017, https://arxiv.org/abs/1706.02677), as
    torchvision's option of the same name does.

    The analysis counts the parameters before anything is allocated; a network whose float32
    weights would exceed ``max_param_bytes`` (default: ``parameter_limit()``) is refused with a
    BuildError instead of failing in the allocator."""
    if init not in INITS:
        raise ValueError(f"init ‘{init}’ is not one of {', '.join(INITS)}.")
    analysis = analysis or Analyzer().analyze(graph)
    if not analysis.ok:
        raise BuildError(analysis)
    _check_size(analysis, parameter_limit() if max_param_bytes is None else max_param_bytes)
    plan = dense_plan(graph, analysis)
    net = assemble(graph, analysis) if plan is None else assemble_dense(graph, plan, analysis)
    if initialise:
        initialise_weights(net if plan is None else backbone_body(net), zero_init_residual, init)
    return net


def _check_size(analysis: Analysis, limit: int) -> None:
    needed = analysis.total_params * _FLOAT_BYTES
    if needed > limit:
        raise BuildError(analysis, (
            f"The network has {analysis.total_params:,} parameters ({needed / _GIB:,.1f} GiB as "
            f"float32), more than the {limit / _GIB:,.1f} GiB this machine allows for building "
            "it; make it smaller (fewer or narrower blocks)."))


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
