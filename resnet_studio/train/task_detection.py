"""Object detection: torchvision's detection contract, COCO mAP, and box previews.

The model is a torchvision detector (Faster R-CNN, RetinaNet, FCOS) around the backbone:
in train mode ``model(images, targets)`` returns its losses (their sum is the loss, as in
torchvision's detection reference, references/detection/engine.py), in eval mode
``model(images)`` its detections. Batches come from ``data.dense.loading``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .dense_metrics import detection_scores, mean_average_precision
from .records import PreviewRecord
from .task import (
    DETECTION,
    PREVIEW_IMAGES,
    Context,
    Task,
    Validation,
    display_images,
    evaluate,
)

_EMPTY = np.zeros((0, 0))


class DetectionTask(Task):
    """Summed detector losses; mAP and mAP@0.5 on the validation split (val_acc: mAP@0.5)."""

    name = DETECTION
    main_metric = "map_50"
    main_label = "mAP@0.5"

    def __init__(self):
        mean_average_precision()  # fail at the start, not after an epoch, without the extra

    def step(self, model: nn.Module, x: Tensor, y: Any, config: Any
             ) -> tuple[Tensor, Tensor, int]:
        losses = model(list(x), y)
        loss = torch.stack([v.float() for v in losses.values()]).sum()
        return loss, torch.full((), float("nan"), device=x.device), len(y)

    @torch.no_grad()
    def validate(self, model: nn.Module, data: Any, device: torch.device, ctx: Context
                 ) -> Validation:
        """mAP of the eval-mode detections; the loss is the summed train-mode losses under
        no_grad with batch-norm layers kept in eval mode (torchvision's references define no
        validation loss, and train-mode batch norm would move its running statistics)."""
        metric = mean_average_precision()
        loss_sum, preview = 0.0, []

        def add(x: Tensor, targets: list[dict], found: list[dict]) -> int:
            nonlocal loss_sum
            metric.update(_host(found), _host(targets))
            if not preview:
                preview.append(self._preview(x, found, targets, data.info, ctx))
            loss_sum += _losses(model, x, targets, ctx) * len(targets)
            return len(targets)

        # A detector takes a list of images and batches them itself into a new tensor (its
        # GeneralizedRCNNTransform), so a channels-last batch would not reach its backbone.
        seen = evaluate(model, data, replace(ctx, channels_last=False), add,
                        forward=lambda detector, x: detector(list(x)))
        scores = detection_scores(metric)
        return Validation(loss_sum / max(seen, 1), scores["map_50"], _EMPTY, scores,
                          preview[0] if preview else None)

    @staticmethod
    def _preview(x: Tensor, found: list[dict], targets: list[dict], info: Any, ctx: Context
                 ) -> PreviewRecord:
        n = min(PREVIEW_IMAGES, len(targets))
        found, targets = _host(found[:n]), _host(targets[:n])
        return PreviewRecord(
            ctx.epoch, ctx.step, DETECTION, display_images(x[:n], info.mean, info.std),
            tuple(info.class_names),
            boxes=tuple(f["boxes"].float().numpy() for f in found),
            labels=tuple(f["labels"].numpy() for f in found),
            scores=tuple(f["scores"].float().numpy() for f in found),
            true_boxes=tuple(t["boxes"].numpy() for t in targets),
            true_labels=tuple(t["labels"].numpy() for t in targets))


def _losses(model: nn.Module, x: Tensor, targets: list[dict], ctx: Context) -> float:
    """The batch's summed train-mode losses, batch norm frozen in eval mode."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    try:
        with ctx.autocast():
            losses = model(list(x), targets)
        return float(sum(float(v) for v in losses.values()))
    finally:
        model.eval()


def _host(items: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
    """Detections or targets on the CPU (torchmetrics' COCO backend reads them there)."""
    return [{k: v.detach().cpu() for k, v in item.items() if k in ("boxes", "labels", "scores")}
            for item in items]
