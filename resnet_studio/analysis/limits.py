"""Each analysis's cost, estimated from its settings and the compiler's counts before any
tensor is made, and refused (``AnalysisError`` with the estimate and the limit) when it cannot
fit. The arithmetic is ``resnet_studio.budget``'s, shared with training and studies; the app's
dialogs call the ``*_problem`` functions before Start, the analyses the ``check_*`` ones."""

from __future__ import annotations

from typing import Any

from ..budget import (
    BudgetError,
    backward_bytes,
    check_landscape,
    check_memory,
    forward_bytes,
    images_bytes,
    network_numbers,
)
from .common import AnalysisError

IG_STEPS = 32  # Integrated Gradients' points, evaluated as one batch (explain.py)


def _numbers(graph: Any) -> tuple[int, int, list[int]] | None:
    """The network's counts, or None when it does not compile (building it will say why)."""
    from ..compiler import Analyzer

    analysis = Analyzer().analyze(graph)
    return network_numbers(analysis) if analysis.ok else None


def _input(graph: Any) -> tuple[int, int, int]:
    spec = graph.input_spec
    return spec.channels, spec.height, spec.width


def _refused(check: Any, *args: Any, **options: Any) -> None:
    try:
        check(*args, **options)
    except BudgetError as exc:
        raise AnalysisError(str(exc)) from None


def check_signal(graph: Any, batch_size: int, device: Any = "cpu") -> None:
    """One forward and backward pass of ``batch_size`` images at the project's input."""
    _check_backward(graph, batch_size, f"a forward and backward pass of {batch_size:,} images "
                    f"at {'×'.join(map(str, _input(graph)))}", device, "lower --batch-size")


def _check_backward(graph: Any, images: int, what: str, device: Any, todo: str) -> None:
    """A forward and backward pass of ``images`` images at the project's input fits."""
    numbers = _numbers(graph)
    if numbers is None:
        return
    params, activations, _ = numbers
    needed = images_bytes(images, _input(graph)) + backward_bytes(params, activations, images)
    _refused(check_memory, needed, what, device, todo)


def check_evaluation(graph: Any, batch_size: int, samples: int | None, device: Any = "cpu",
                     copies: int = 1, what: str = "evaluating") -> None:
    """Evaluating ``min(batch_size, samples)`` images at a time with ``copies`` float32
    copies of the weights (the landscape keeps the trained ones and two directions)."""
    numbers = _numbers(graph)
    if numbers is None:
        return
    params, _, nodes = numbers
    batch = min(batch_size, samples or batch_size)
    needed = images_bytes(batch, _input(graph)) + forward_bytes(params, nodes, batch) \
        + params * 4 * (copies - 1)
    _refused(check_memory, needed, f"{what} {batch:,} images at a time", device,
             "lower --batch-size")


def check_landscape_points(steps: int, grid: int) -> None:
    _refused(check_landscape, steps, grid)


def check_explain(graph: Any, device: Any = "cpu") -> None:
    """Integrated Gradients: a forward and backward pass of IG_STEPS copies of the image."""
    _check_backward(graph, IG_STEPS, f"explaining one image at "
                    f"{'×'.join(map(str, _input(graph)))} ({IG_STEPS} attribution steps)",
                    device, "the network's input is too large")


def problem(check: Any, *args: Any, **options: Any) -> str:
    """What ``check`` refuses ("" when it passes): for a dialog's problem line."""
    try:
        check(*args, **options)
    except AnalysisError as exc:
        return str(exc)
    return ""
