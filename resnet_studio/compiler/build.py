"""From a graph to an ``nn.Module``, initialised as torchvision initialises its ResNets."""

from __future__ import annotations

import os

from torch import nn

from ..graph import Graph
from .infer import Analysis, Analyzer
from .module import GraphNet, assemble, operand_sources

__all__ = ["BuildError", "build", "initialise_weights", "operand_sources", "parameter_limit"]

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


def parameter_limit() -> int:
    """The most parameter bytes a build may allocate: half of this machine's memory (the
    weights are made and initialised in host memory first), or 16 GiB when it is unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        return 16 * _GIB


def build(graph: Graph, analysis: Analysis | None = None, *, zero_init_residual: bool = False,
          initialise: bool = True, max_param_bytes: int | None = None) -> GraphNet:
    """Build the network. ``zero_init_residual`` zeroes the last norm layer of every residual
    branch so each block starts as the identity (Goyal et al. 2017,
    https://arxiv.org/abs/1706.02677), as torchvision's option of the same name does.

    The analysis counts the parameters before anything is allocated; a network whose float32
    weights would exceed ``max_param_bytes`` (default: ``parameter_limit()``) is refused with a
    BuildError instead of failing in the allocator."""
    analysis = analysis or Analyzer().analyze(graph)
    if not analysis.ok:
        raise BuildError(analysis)
    _check_size(analysis, parameter_limit() if max_param_bytes is None else max_param_bytes)
    net = assemble(graph, analysis)
    if initialise:
        initialise_weights(net, zero_init_residual)
    return net


def _check_size(analysis: Analysis, limit: int) -> None:
    needed = analysis.total_params * _FLOAT_BYTES
    if needed > limit:
        raise BuildError(analysis, (
            f"The network has {analysis.total_params:,} parameters ({needed / _GIB:,.1f} GiB as "
            f"float32), more than the {limit / _GIB:,.1f} GiB this machine allows for building "
            "it; make it smaller (fewer or narrower blocks)."))


def initialise_weights(net: nn.Module, zero_init_residual: bool = False) -> None:
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in net.modules():
            hook = getattr(m, "zero_init_residual", None)
            if callable(hook):
                hook()
