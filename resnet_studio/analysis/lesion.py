"""Lesion study: the validation accuracy after removing one residual block's branch at a time.

Veit et al. 2016 ("Residual networks behave like ensembles of relatively shallow networks",
https://arxiv.org/abs/1605.06431) found that deleting a single block of a trained ResNet
barely hurts it, while deleting a layer of a plain network of the same depth ruins it.

* In a residual block the branch F is set to zero, so the block computes what it would with
  F(x) = 0: ``relu(shortcut(x))`` for a post-activation block, ``shortcut(x)`` for a
  pre-activation one. A projection or zero-padding shortcut is kept, so shapes still fit.
  This is done with a forward hook that zeroes the output of the branch's last layer (the
  layer zero-init-residual starts at zero), so every block type is lesioned the same way.
* In a block without a skip (a plain twin's), the whole block is replaced by the identity,
  which is possible only where the block keeps its input's shape; the others are listed with
  the reason.

The network stays in evaluation mode with its trained BatchNorm statistics, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .common import (
    AnalysisError,
    CancelFlag,
    Progress,
    Run,
    check_cancel,
    class_counts,
    classifier_only,
    evaluate,
    no_progress,
    validation_batches,
)
from .limits import check_evaluation

#: The last layer of each block type's residual branch (what zero-init-residual zeroes).
BRANCH_END = {"BasicBlock": "bn2", "Bottleneck": "bn3", "PreActBlock": "conv2",
              "SEBasicBlock": "se", "ScaledResidualBlock": "bn2", "ResNormBlock": "bn2",
              "FusionBlock": "bn2", "ConvNeXtBlock": "layer_scale",
              "SimpleResidualBlock": "conv2", "SEBottleneck": "se", "Bottle2neck": "bn3",
              "CNBlock": "stochastic_depth"}


@dataclass
class LesionResult:
    """One network's lesion study; arrays follow ``blocks`` (NaN where a block was skipped)."""

    label: str
    baseline_loss: float
    baseline_accuracy: float
    blocks: list[str]
    kinds: list[str]  # "branch" (residual branch removed) or "block" (plain block removed)
    loss: np.ndarray
    accuracy: np.ndarray
    skipped: dict[str, str] = field(default_factory=dict)
    samples: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)  # of the evaluated images

    def to_json(self) -> dict[str, Any]:
        rows = [{"block": b, "removed": k, "loss": _num(loss), "accuracy": _num(a),
                 "skipped": self.skipped.get(b)}
                for b, k, loss, a in zip(self.blocks, self.kinds, self.loss, self.accuracy)]
        return {"label": self.label, "samples": self.samples, "class_counts": self.class_counts,
                "baseline": {"loss": self.baseline_loss, "accuracy": self.baseline_accuracy},
                "lesions": rows}


def _num(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def blocks_of(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The residual-family blocks of ``model``, in module order."""
    return [(n, m) for n, m in model.named_modules() if type(m).__name__ in BRANCH_END]


def has_skip(block: nn.Module) -> bool:
    """Whether ``block`` adds a shortcut (a plain twin's blocks do not)."""
    if hasattr(block, "residual"):
        return bool(block.residual)
    return any(getattr(block, a, None) is not None for a in ("scale", "res_norm", "fuse"))


def lesion_model(model: nn.Module, batches: list[tuple[Tensor, Tensor]], label: str = "network",
                 progress: Progress = no_progress, cancel: CancelFlag | None = None
                 ) -> LesionResult:
    """Evaluate ``model`` (put in eval mode) whole and with each block lesioned in turn."""
    model.eval()
    blocks = blocks_of(model)
    if not blocks:
        raise AnalysisError(f"the {label} has no residual blocks to lesion (blocks and stages "
                            "are lesioned; skips built from Add nodes are not).")
    base_loss, base_acc = evaluate(model, batches)
    loss, acc = np.full(len(blocks), np.nan), np.full(len(blocks), np.nan)
    kinds, skipped = [], {}
    for i, (name, block) in enumerate(blocks):
        check_cancel(cancel)
        progress(i, len(blocks), f"{label}: without {name}")
        kinds.append("branch" if has_skip(block) else "block")
        try:
            with _lesioned(block):
                loss[i], acc[i] = evaluate(model, batches)
        except _ShapeChange as exc:
            skipped[name] = str(exc)
    progress(len(blocks), len(blocks), f"{label}: done")
    samples = sum(len(y) for _, y in batches)
    return LesionResult(label, base_loss, base_acc, [n for n, _ in blocks], kinds, loss, acc,
                        skipped, samples)


class _ShapeChange(Exception):
    """A plain block that changes the shape cannot be replaced by the identity."""


class _lesioned:
    """While active, the block's branch outputs zeros (or, without a skip, the block passes
    its input through)."""

    def __init__(self, block: nn.Module):
        self.block = block

    def __enter__(self) -> None:
        if has_skip(self.block):
            end = getattr(self.block, BRANCH_END[type(self.block).__name__])
            self.handle = end.register_forward_hook(lambda m, i, out: torch.zeros_like(out))
        else:
            self.handle = self.block.register_forward_hook(_pass_input)

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


def _pass_input(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
    x = inputs[0]
    if x.shape != output.shape:
        have = "×".join(map(str, x.shape[1:]))
        give = "×".join(map(str, output.shape[1:]))
        raise _ShapeChange(f"cannot be removed: it maps {have} to {give} and has no shortcut "
                           "to stand in for it")
    return x


def lesion_run(run: Run, *, samples: int | None = None, batch_size: int = 256,
               device: str = "cpu", progress: Progress = no_progress,
               cancel: CancelFlag | None = None) -> LesionResult:
    """The lesion study of a trained run on its validation data (``samples`` of it, spread
    evenly over the classes)."""
    classifier_only(run.graph, str(run.path), "lesion")
    check_evaluation(run.graph, batch_size, samples, device, what="the lesion study, evaluating")
    batches = validation_batches(run, samples, batch_size, device)
    label = run.graph.name or run.path.name
    result = lesion_model(run.model(device), batches, label, progress, cancel)
    result.class_counts = class_counts(batches, run.class_names)
    return result
