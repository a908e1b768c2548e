"""The in-memory network: a module that runs a compiled plan of graph nodes.

Nodes with parameters (and parameter-free layers such as ReLU) are registered under their node
ids, so a torchvision-shaped graph gives torchvision's module tree and ``state_dict`` keys;
parameter-free operations (Flatten, Add, Concat) are applied in ``forward`` like torchvision's
``torch.flatten`` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn


@dataclass(frozen=True)
class Step:
    node_id: str
    sources: tuple[str, ...]
    fn: Callable[..., Any] | None = None  # set for functional steps; modules are looked up


class GraphNet(nn.Module):
    """Runs ``steps`` in order; ``inputs`` are the node ids fed by ``forward``'s arguments."""

    def __init__(self, steps: list[Step], modules: dict[str, nn.Module],
                 inputs: tuple[str, ...], output: str):
        super().__init__()
        for step in steps:
            if step.node_id in modules:
                self.add_module(step.node_id, modules[step.node_id])
        self._steps = tuple(steps)
        self._inputs = inputs
        self._output = output

    def forward(self, *xs):
        values = dict(zip(self._inputs, xs))
        for step in self._steps:
            fn = step.fn if step.fn is not None else self._modules[step.node_id]
            values[step.node_id] = fn(*[values[s] for s in step.sources])
        return values[self._output]
