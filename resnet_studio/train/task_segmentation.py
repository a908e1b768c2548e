"""Semantic segmentation: per-pixel cross-entropy, mean IoU and pixel accuracy, mask previews.

The model returns ``{"out": B×K×H×W logits}`` (optionally ``"aux"``), as torchvision's
segmentation models do; the loss is torchvision's segmentation reference's
(references/segmentation/train.py, ``criterion``): cross-entropy ignoring 255, plus 0.5 × the
auxiliary head's when there is one. A module returning a plain tensor is read as "out".
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .dense_metrics import segmentation_scores, update_confusion
from .records import PreviewRecord
from .task import (
    PREVIEW_IMAGES,
    SEGMENTATION,
    Context,
    Task,
    Validation,
    display_images,
    evaluate,
)

IGNORE = 255
AUX_WEIGHT = 0.5


def outputs(result: Any) -> tuple[Tensor, Tensor | None]:
    """(main logits, auxiliary logits or None) of a segmentation model's output."""
    if isinstance(result, dict):
        return result["out"], result.get("aux")
    return result, None


class SegmentationTask(Task):
    """Pixel cross-entropy; mean IoU and pixel accuracy (val_acc: mean IoU)."""

    name = SEGMENTATION
    main_metric = "miou"
    main_label = "mean IoU"

    def step(self, model: nn.Module, x: Tensor, y: Tensor, config: Any
             ) -> tuple[Tensor, Tensor, int]:
        out, aux = outputs(model(x))
        loss = F.cross_entropy(out, y, ignore_index=IGNORE)
        if aux is not None:
            loss = loss + AUX_WEIGHT * F.cross_entropy(aux, y, ignore_index=IGNORE)
        with torch.no_grad():
            counted = y != IGNORE
            right = ((out.argmax(1) == y) & counted).sum()
            accuracy = right / counted.sum().clamp_min(1)
        return loss, accuracy * y.shape[0], y.shape[0]

    @torch.no_grad()
    def validate(self, model: nn.Module, data: Any, device: torch.device, ctx: Context
                 ) -> Validation:
        classes = data.info.classes
        confusion = torch.zeros(classes * classes, device=device, dtype=torch.long)
        loss_sum = torch.zeros((), device=device)
        preview: list[PreviewRecord] = []

        def add(x: Tensor, y: Tensor, result: Any) -> int:
            out = outputs(result)[0].float()
            loss_sum.add_(F.cross_entropy(out, y, ignore_index=IGNORE, reduction="sum"))
            predicted = out.argmax(1)
            update_confusion(confusion, predicted, y, classes, IGNORE)
            if not preview:
                preview.append(self._preview(x, predicted, y, data.info, ctx))
            return y.shape[0]

        evaluate(model, data, ctx, add, sums=(loss_sum, confusion))
        matrix = confusion.cpu().numpy().reshape(classes, classes)
        scores = segmentation_scores(matrix)
        pixels = max(int(matrix.sum()), 1)
        return Validation(float(loss_sum.item()) / pixels, scores["miou"], matrix, scores,
                          preview[0] if preview else None)

    @staticmethod
    def _preview(x: Tensor, predicted: Tensor, y: Tensor, info: Any, ctx: Context
                 ) -> PreviewRecord:
        n = min(PREVIEW_IMAGES, y.shape[0])
        return PreviewRecord(
            ctx.epoch, ctx.step, SEGMENTATION, display_images(x[:n], info.mean, info.std),
            tuple(info.class_names), masks=predicted[:n].to(torch.uint8).cpu().numpy(),
            true_masks=y[:n].to(torch.uint8).cpu().numpy())
