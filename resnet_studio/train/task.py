"""What a run trains for: the task object that gives the engine its loss, its validation
metrics and its records, so that one loop trains classifiers, detectors and segmenters.

    task = make_task("detection")             # or task_for(network, data_info)
    loss, correct, count = task.step(model, x, y, config)     # inside the training step
    result = task.validate(model, data, device, context)      # after each epoch

``step`` returns device tensors only (no host synchronisation): the loss to back-propagate,
the batch's "correct" count (classification: right predictions; segmentation: the batch's
pixel accuracy × its images; detection: NaN, as a detector has no training accuracy) and its
number of images. ``validate`` returns a ``Validation``: the loss, the task's main metric
(``EpochRecord.val_acc``: top-1 accuracy, mAP@0.5 or mean IoU), the confusion matrix, the
named metrics and, for a dense task, a ``PreviewRecord``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..compiler.task import CLASSIFICATION, DETECTION, SEGMENTATION, TASKS, task_mismatch
from . import distributed
from .records import PreviewRecord
from .setup import EngineError

PREVIEW_IMAGES = 8


@dataclass(frozen=True)
class Validation:
    """One validation pass: ``main`` is what ``EpochRecord.val_acc`` holds."""

    loss: float
    main: float
    confusion: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)
    preview: PreviewRecord | None = None


@dataclass(frozen=True)
class Context:
    """What validation needs from the engine besides the model and the data."""

    env: Any                      # distributed.DistEnv
    channels_last: bool = False
    autocast: Any = contextlib.nullcontext
    epoch: int = 0                # the epoch just finished (1-based), for the preview
    step: int = 0


class Task:
    """The classification task: cross-entropy, top-1 accuracy and the class confusion."""

    name = CLASSIFICATION
    main_metric = "accuracy"      # what val_acc holds, in words
    main_label = "validation accuracy"

    def step(self, model: nn.Module, x: Tensor, y: Any, config: Any
             ) -> tuple[Tensor, Tensor, int]:
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
        with torch.no_grad():
            correct = (logits.argmax(1) == y).sum()
        return loss, correct, y.shape[0]

    @torch.no_grad()
    def validate(self, model: nn.Module, data: Any, device: torch.device, ctx: Context
                 ) -> Validation:
        """Loss (plain cross-entropy), top-1 accuracy and confusion matrix on the validation
        split, summed on the device and copied to the host once."""
        classes = data.info.classes
        loss_sum = torch.zeros((), device=device)  # float32: MPS has no float64
        confusion = torch.zeros(classes * classes, device=device, dtype=torch.long)

        def add(x: Tensor, y: Tensor, logits: Tensor) -> int:
            loss_sum.add_(F.cross_entropy(logits.float(), y, reduction="sum"))
            confusion.add_(torch.bincount(y * classes + logits.argmax(1),
                                          minlength=classes * classes))
            return y.shape[0]

        evaluate(model, data, ctx, add, sums=(loss_sum, confusion))
        matrix = confusion.cpu().numpy().reshape(classes, classes)
        count = max(int(matrix.sum()), 1)
        return Validation(float(loss_sum.item() / count), float(np.trace(matrix) / count),
                          matrix)


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, ctx: Context,
             per_batch: Callable[[Tensor, Any, Any], int],
             forward: Callable[[nn.Module, Tensor], Any] | None = None,
             sums: tuple[Tensor, ...] = ()) -> int:
    """The validation loop every task shares: the model in eval mode over ``data.val``
    (train mode restored afterwards, also on an error), each batch channels-last when
    ``ctx`` asks, its forward pass (``forward(model, x)``, else ``model(x)``) under
    ``ctx.autocast``, then ``per_batch(x, y, output)`` outside it, which adds the batch to
    the task's sums and returns its images. Under DDP, when each rank saw only its share of
    the split, the device tensors ``sums`` are summed over the ranks. Returns the images
    this rank saw."""
    seen = 0
    model.eval()
    try:
        for x, y in data.val.epoch(0):
            if ctx.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with ctx.autocast():
                output = model(x) if forward is None else forward(model, x)
            seen += per_batch(x, y, output)
    finally:
        model.train()
    if ctx.env.enabled and seen < data.info.val_size:
        for total in sums:
            distributed.all_reduce_sum(total, ctx.env)
    return seen


def make_task(name: str) -> Task:
    """The task object of ``name``; a dense task checks its extras are installed."""
    if name == CLASSIFICATION:
        return Task()
    if name == DETECTION:
        from .task_detection import DetectionTask

        return DetectionTask()
    if name == SEGMENTATION:
        from .task_segmentation import SegmentationTask

        return SegmentationTask()
    raise EngineError(f"unknown task ‘{name}’; tasks are {', '.join(TASKS)}")


def task_for(graph_task: str | None, data_task: str, dataset: str) -> Task:
    """The run's task: the network's (from its head blocks; None for a plain module, which
    takes the data's), which the dataset must serve."""
    check_task(graph_task, data_task, dataset)
    return make_task(data_task)


def check_task(graph_task: str | None, data_task: str, dataset: str) -> None:
    """EngineError when the network's task is not the dataset's, naming both."""
    problem = task_mismatch(graph_task, data_task, dataset)
    if problem:
        raise EngineError(problem)


def display_images(x: Tensor, mean: Any, std: Any) -> np.ndarray:
    """Normalised N×C×H×W images as display-ready uint8 N×H×W×3 (grey repeated)."""
    m = torch.tensor(tuple(mean), dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(tuple(std), dtype=torch.float32).view(1, -1, 1, 1)
    pixels = ((x.detach().float().cpu() * s + m) * 255.0).round().clamp(0, 255).to(torch.uint8)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return np.ascontiguousarray(pixels.permute(0, 2, 3, 1).numpy())
