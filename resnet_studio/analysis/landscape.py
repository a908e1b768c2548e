"""Loss landscape: 1-D and 2-D slices of the loss around a trained network's weights.

Li et al. 2018 ("Visualizing the loss landscape of neural nets",
https://arxiv.org/abs/1712.09913) plot ``L(w + α·d₁ + β·d₂)`` along random directions that are
*filter-normalised*: each filter of a direction (a convolution's output channel, a linear
layer's output row) is rescaled to the norm of the same filter of the weights, so that the
scale invariance that BatchNorm gives each filter does not distort the picture. As in the
paper's default, BatchNorm weights and biases and every other 1-D parameter get a zero
direction (they stay as trained), and BatchNorm's running statistics are kept as trained: the
network is evaluated in evaluation mode. With these, a residual network's landscape is
smooth and convex-looking where its deep plain twin's is chaotic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .common import (
    CancelFlag,
    Eta,
    Progress,
    Run,
    check_cancel,
    class_counts,
    classifier_only,
    evaluate,
    no_progress,
    validation_batches,
)
from .limits import check_evaluation, check_landscape_points

Batches = list[tuple[Tensor, Tensor]]


@dataclass
class LandscapeResult:
    """The loss (and accuracy) along one direction and over a plane of two, for one network.
    ``loss_2d[i, j]`` is at ``(alphas_2d[i], betas_2d[j])``; the origin is the trained net."""

    label: str
    alphas: np.ndarray
    loss_1d: np.ndarray
    accuracy_1d: np.ndarray
    alphas_2d: np.ndarray
    betas_2d: np.ndarray
    loss_2d: np.ndarray
    accuracy_2d: np.ndarray
    origin_loss: float
    samples: int
    seed: int
    class_counts: dict[str, int] = field(default_factory=dict)  # of the evaluated images
    batchnorm_layers: int = 0  # whose running statistics stay as trained

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "samples": self.samples, "class_counts": self.class_counts,
                "seed": self.seed, "batchnorm_layers": self.batchnorm_layers,
                "origin_loss": self.origin_loss, "alphas": self.alphas.tolist(),
                "loss_1d": self.loss_1d.tolist(), "accuracy_1d": self.accuracy_1d.tolist(),
                "alphas_2d": self.alphas_2d.tolist(), "betas_2d": self.betas_2d.tolist(),
                "loss_2d": self.loss_2d.tolist(), "accuracy_2d": self.accuracy_2d.tolist()}


def filter_normalised_direction(model: nn.Module, generator: torch.Generator) -> list[Tensor]:
    """A random direction with one tensor per parameter of ``model``: Gaussian, each filter
    (index along dimension 0) scaled to the norm of the weight's filter; zero for 1-D
    parameters (BatchNorm weights and biases, biases)."""
    direction = []
    for param in model.parameters():
        w = param.detach()
        if w.dim() <= 1:
            direction.append(torch.zeros_like(w))
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        scale = _filter_norms(w) / _filter_norms(d).clamp_min(1e-12)
        direction.append(d * scale.view(-1, *([1] * (w.dim() - 1))))
    return direction


def _filter_norms(t: Tensor) -> Tensor:
    return t.reshape(len(t), -1).norm(dim=1)


def landscape(model: nn.Module, batches: Batches, *, label: str = "network", steps_1d: int = 21,
              steps_2d: int = 11, span: float = 1.0, seed: int = 0,
              progress: Progress = no_progress, cancel: CancelFlag | None = None
              ) -> LandscapeResult:
    """Evaluate ``model`` on ``batches`` at ``steps_1d`` points of ``[-span, span]`` along one
    filter-normalised direction and on a ``steps_2d``² grid over two. The weights are restored
    afterwards, also when cancelled. Cost: ``steps_1d + steps_2d²`` evaluations."""
    check_landscape_points(steps_1d, steps_2d)
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    d1, d2 = filter_normalised_direction(model, gen), filter_normalised_direction(model, gen)
    alphas = np.linspace(-span, span, steps_1d)
    grid = np.linspace(-span, span, steps_2d)
    points = [(a, 0.0) for a in alphas] + [(a, b) for a in grid for b in grid]
    values = _evaluate_points(model, batches, d1, d2, points, label, progress, cancel)
    line, plane = values[:steps_1d], values[steps_1d:].reshape(steps_2d, steps_2d, 2)
    with _moved(model, d1, d2, 0.0, 0.0):
        origin = evaluate(model, batches)[0]
    return LandscapeResult(label, alphas, line[:, 0], line[:, 1], grid, grid.copy(),
                           plane[..., 0], plane[..., 1], origin,
                           sum(len(y) for _, y in batches), seed,
                           batchnorm_layers=_batchnorm_layers(model))


def _batchnorm_layers(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _evaluate_points(model: nn.Module, batches: Batches, d1: list[Tensor], d2: list[Tensor],
                     points: list[tuple[float, float]], label: str, progress: Progress,
                     cancel: CancelFlag | None) -> np.ndarray:
    eta = Eta(len(points))
    values = np.zeros((len(points), 2))
    for i, (a, b) in enumerate(points):
        check_cancel(cancel)
        progress(i, len(points), f"{label}: α={a:+.2f} β={b:+.2f}, {eta.text(i)}")
        with _moved(model, d1, d2, a, b):
            values[i] = evaluate(model, batches)
    progress(len(points), len(points), f"{label}: done")
    return values


@contextmanager
def _moved(model: nn.Module, d1: list[Tensor], d2: list[Tensor], a: float, b: float
           ) -> Iterator[None]:
    """The weights moved to ``w + a·d1 + b·d2`` inside the block, restored after it."""
    params = list(model.parameters())
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for p, w, x, y in zip(params, saved, d1, d2):
                p.copy_(w + a * x + b * y)
        yield
    finally:
        with torch.no_grad():
            for p, w in zip(params, saved):
                p.copy_(w)


def landscape_run(run: Run, *, samples: int | None = 256, batch_size: int = 256,
                  device: str = "cpu", **options: Any) -> LandscapeResult:
    """The landscape of a trained run on ``samples`` of its validation images, spread evenly
    over the classes."""
    classifier_only(run.graph, str(run.path), "landscape")
    check_landscape_points(options.get("steps_1d", 21), options.get("steps_2d", 11))
    check_evaluation(run.graph, batch_size, samples, device, copies=3,
                     what="the landscape, evaluating")
    batches = validation_batches(run, samples, batch_size, device)
    label = run.graph.name or run.path.name
    result = landscape(run.model(device), batches, label=label, **options)
    result.class_counts = class_counts(batches, run.class_names)
    return result
