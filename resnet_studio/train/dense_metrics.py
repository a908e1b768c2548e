"""Validation metrics of the dense tasks.

Detection: COCO mean average precision through torchmetrics' ``MeanAveragePrecision`` with
the pycocotools backend (the COCO evaluation itself): "map" averages AP over IoU thresholds
0.50:0.05:0.95, "map_50" is AP at IoU 0.5 (Lin et al. 2014, https://cocodataset.org/#detection-eval).
Segmentation: from the K×K pixel confusion matrix (rows true class, columns predicted),
IoU_c = TP_c / (TP_c + FP_c + FN_c); "miou" averages it over the classes present (in the
ground truth or the predictions — a class absent from both has no IoU), "pixel_acc" is the
share of counted pixels predicted right (ignored pixels are not counted). All in [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .setup import EngineError

EXTRA = "pip install 'resnet-studio[dense]'"


class MissingExtra(EngineError):
    """A dense task's metric needs a package that is not installed."""


def mean_average_precision() -> Any:
    """A fresh torchmetrics ``MeanAveragePrecision`` (boxes, pycocotools backend), or
    ``MissingExtra`` naming the extra to install."""
    try:
        from torchmetrics.detection import MeanAveragePrecision

        return MeanAveragePrecision(iou_type="bbox", backend="pycocotools")
    except ModuleNotFoundError as exc:
        raise MissingExtra(f"detection metrics need torchmetrics and pycocotools ({exc}); "
                           f"install them with {EXTRA}") from None


def detection_scores(metric: Any) -> dict[str, float]:
    """"map" and "map_50" of an updated metric; COCO reports -1 where there is nothing to
    score (no ground-truth box at all), which counts as 0 here so that the values stay in
    [0, 1]."""
    result = metric.compute()
    return {key: max(0.0, float(result[key])) for key in ("map", "map_50")}


def update_confusion(confusion: Tensor, predicted: Tensor, target: Tensor, classes: int,
                     ignore: int = 255) -> None:
    """Add a batch's pixels to the flat K·K ``confusion`` (on the device, no sync); pixels
    whose target is ``ignore`` are left out."""
    keep = target != ignore
    index = target[keep] * classes + predicted[keep]
    confusion += torch.bincount(index, minlength=classes * classes)


def segmentation_scores(matrix: np.ndarray) -> dict[str, float]:
    """"miou" and "pixel_acc" of a K×K confusion matrix (see the module docstring)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - true_positive
    present = union > 0
    total = matrix.sum()
    miou = float((true_positive[present] / union[present]).mean()) if present.any() else 0.0
    return {"miou": miou, "pixel_acc": float(true_positive.sum() / total) if total else 0.0}
