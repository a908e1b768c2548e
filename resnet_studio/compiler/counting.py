"""Counts multiply-accumulates and produced activation bytes while a module runs on meta tensors."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry


class CostCounter(TorchDispatchMode):
    """FLOPs use torch's own formulas (matmul and convolution: 2 per multiply-accumulate);
    activation bytes add up every freshly allocated floating-point output (views excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.activation_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
        if not getattr(func, "is_view", False):
            for value in tree_flatten(out)[0]:
                if isinstance(value, torch.Tensor) and value.is_floating_point():
                    self.activation_bytes += value.numel() * value.element_size()
        return out
