"""Optimisers with weight-decay groups, and learning-rate schedules evaluated per step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from .config import TrainConfig

# Parameters of these modules are scales and shifts, not filters: decaying them towards zero
# fights the normalisation instead of regularising (see e.g. Goyal et al. 2017, §5.1).
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


def no_decay_names(model: nn.Module) -> set[str]:
    """Names of the parameters left out of weight decay: normalisation weights, biases, and
    every other parameter with fewer than two dimensions (scalar and per-channel scales)."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, param in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if isinstance(module, _NORM_TYPES) or param_name == "bias" or param.ndim <= 1:
                names.add(full)
    return names


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict]:
    """One group with weight decay and, unless ``decay_norm_and_bias``, one without; with
    ``stage_lr_mult`` each of them split by learning-rate multiplier (key ``lr_mult``, full
    rate first). Groups keep ``named_parameters`` order, so a rebuilt optimiser matches a
    saved state."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("The network has no trainable parameters.")
    if config.decay_norm_and_bias or config.weight_decay == 0:
        groups = [{"params": trainable, "weight_decay": config.weight_decay}]
    else:
        skip = no_decay_names(model)
        groups = [{"params": [(n, p) for n, p in trainable if n not in skip],
                   "weight_decay": config.weight_decay},
                  {"params": [(n, p) for n, p in trainable if n in skip], "weight_decay": 0.0}]
    if config.stage_lr_mult:
        groups = _split_by_rate(model, groups, config)
    return [{**g, "params": [p for _, p in g["params"]]} for g in groups if g["params"]]


def _split_by_rate(model: nn.Module, groups: list[dict], config: TrainConfig) -> list[dict]:
    from .transfer import lr_multipliers

    mult = lr_multipliers(model, config.stage_lr_mult)
    rates = sorted({mult[n] for g in groups for n, _ in g["params"]}, key=lambda m: m != 1.0)
    return [{"params": [(n, p) for n, p in g["params"] if mult[n] == rate],
             "weight_decay": g["weight_decay"], "lr": config.lr * rate, "lr_mult": rate}
            for rate in rates for g in groups]


def build_optimizer(model: nn.Module, config: TrainConfig,
                    device: torch.device | None = None) -> torch.optim.Optimizer:
    """SGD or AdamW over ``parameter_groups``; on a CUDA device with the fused kernels (one
    kernel for all parameters' updates, and no host sync under fp16's gradient scaler)."""
    groups = parameter_groups(model, config)
    kernels = {"fused": True} if device is not None and device.type == "cuda" else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, **kernels)
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, **kernels)


def use_kernels(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Set each group's kernel choice for ``device`` again after ``load_state_dict``, which
    brings back the saved groups' own (a run trained on a GPU may resume on the CPU, where
    the fused kernels would not be what was asked for, and the other way round)."""
    fused = True if device.type == "cuda" else None
    for group in optimizer.param_groups:
        group["fused"], group["foreach"] = fused, None


@dataclass(frozen=True)
class SchedulePlan:
    """The learning-rate factor (multiplying ``lr``) as a pure function of the step index.

    ``steps_per_epoch`` and ``total_steps`` are those of this process (a DDP rank counts its
    own shard's batches, which is also the number of optimiser steps).
    """

    config: TrainConfig
    steps_per_epoch: int
    total_steps: int

    @property
    def warmup(self) -> int:
        if self.config.warmup_steps:
            return self.config.warmup_steps
        return round(self.config.warmup_epochs * self.steps_per_epoch)

    def factor(self, step: int) -> float:
        """The factor applied during optimiser step ``step`` (0-based)."""
        warmup = self.warmup
        main = self._main(step, warmup)
        if step < warmup:
            return main * (step + 1) / (warmup + 1)
        return main

    def _main(self, step: int, warmup: int) -> float:
        c = self.config
        if c.schedule == "constant":
            return 1.0
        if c.schedule == "step":
            return c.gamma ** ((step // self.steps_per_epoch) // c.step_size)
        if c.schedule == "multistep" and c.milestone_fractions:
            return c.gamma ** sum(step >= round(f * self.total_steps)
                                  for f in c.milestone_fractions)
        if c.schedule == "multistep":
            epoch = step // self.steps_per_epoch
            return c.gamma ** sum(epoch >= m for m in c.milestones)
        span = max(1, self.total_steps - warmup)
        t = min(max(step - warmup, 0), span)
        if c.schedule == "cosine":
            floor = c.min_lr / c.lr
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t / span))
        return self._onecycle(t, span)

    def _onecycle(self, t: int, span: int) -> float:
        c = self.config
        start, end = 1 / c.div_factor, 1 / (c.div_factor * c.final_div_factor)
        rise = max(1.0, c.pct_start * span)
        if t < rise:
            return _cosine_between(start, 1.0, t / rise)
        return _cosine_between(1.0, end, (t - rise) / max(1.0, span - rise))


def _cosine_between(a: float, b: float, fraction: float) -> float:
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


def build_scheduler(optimizer: torch.optim.Optimizer, plan: SchedulePlan) -> LambdaLR:
    """A ``LambdaLR`` stepped once per optimiser step. The lambda is a plain function so the
    scheduler's state dict holds only numbers (checkpoints load with ``weights_only``)."""
    return LambdaLR(optimizer, lambda step: plan.factor(step))
