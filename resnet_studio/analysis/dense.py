"""What the analyses need for detectors and segmenters: a batch with its targets and the
task's training loss, so that signal at init measures a dense network as it trains.

The loss is the training engine's (``train.task_detection`` / ``train.task_segmentation``,
torchvision's references): a detector's loss dictionary summed in train mode, a segmenter's
cross-entropy ignoring 255 plus 0.5 × its auxiliary head's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import AnalysisError

DETECTION, SEGMENTATION = "detection", "segmentation"
SHAPES = {DETECTION: "shapes-detection", SEGMENTATION: "shapes-segmentation"}


def shapes_batch(spec: Any, task: str, batch_size: int, seed: int = 0) -> tuple[Tensor, Any]:
    """``batch_size`` validation images of the built-in shapes drawn at the project's input
    size, normalised as training normalises them, with their targets (boxes or masks)."""
    from ..data import DataConfig, DataError
    from ..data.dense.loading import load_dense

    cfg = DataConfig(dataset=SHAPES[task], train_size=batch_size, val_size=batch_size,
                     augment=False, seed=seed)
    try:
        data = load_dense(cfg, batch_size, target=(spec.channels, spec.height, spec.width))
    except DataError as exc:
        raise AnalysisError(f"the built-in shapes that measure a {task} network cannot be "
                            f"drawn at its input ({exc}).") from None
    return data.val.batch(list(range(batch_size)))


def run_dense_batch(data: Any, batch_size: int) -> tuple[Tensor, Any]:
    """The first ``batch_size`` validation images of a dense run's data, with targets."""
    size = data.val.size
    if batch_size > size:
        raise AnalysisError(f"the run's validation split holds {size} images, fewer than the "
                            f"batch of {batch_size}; lower --batch-size.")
    return data.val.batch(list(range(batch_size)))


def prepare(model: nn.Module, task: str, batch_stats: bool) -> nn.Module:
    """``model`` in the mode the measurement runs in: batch norm with the batch's statistics
    (training) or its running ones. A detector gives its losses only in train mode, so there
    only the batch-norm layers change."""
    if task != DETECTION:
        return model.train(batch_stats)
    model.train()
    if not batch_stats:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    return model


def task_loss(model: nn.Module, x: Tensor, y: Any, task: str) -> Tensor:
    """The training loss of one batch for ``task`` (classification: cross-entropy)."""
    if task == DETECTION:
        losses = model(list(x), y)
        return torch.stack([v.float() for v in losses.values()]).sum()
    if task == SEGMENTATION:
        from ..train.task_segmentation import AUX_WEIGHT, IGNORE, outputs

        out, aux = outputs(model(x))
        loss = F.cross_entropy(out, y, ignore_index=IGNORE)
        if aux is not None:
            loss = loss + AUX_WEIGHT * F.cross_entropy(aux, y, ignore_index=IGNORE)
        return loss
    return F.cross_entropy(model(x), y)
