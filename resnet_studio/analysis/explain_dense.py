"""Explain a segmenter's prediction for an image: Grad-CAM on a backbone stage.

A segmenter gives a score per class and pixel, so the one number to explain is built the way
segmentation Grad-CAM builds it (Vinogradova et al. 2020, https://arxiv.org/abs/2002.11434):
the sum of the chosen class's logits over the pixels the network assigns to that class — or
over all pixels when it assigns none. That set of pixels is taken from the image's own
prediction and held fixed, so the pixel attribution (Integrated Gradients along its path from
the mean image, or Saliency) explains the same number. Grad-CAM weights a backbone stage's
feature maps by the spatial mean of that number's gradient and keeps the positive part
(Selvaraju et al. 2017), as Captum's ``LayerGradCam`` does for a classifier in ``explain.py``.

Classes are listed by the share of pixels predicted as each. Detectors are not explained: see
``common.CLASS_SCORE_ANALYSES``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .common import AnalysisError, CancelFlag, Progress, no_progress
from .explain import (
    METHODS,
    Explanation,
    _captum,
    _normalise,
    attributions,
    forward_with_maps,
    pick_stage,
    stages_of,
)


class ClassRegionScore(nn.Module):
    """Per image, the sum of class ``target``'s logits over ``region`` (H×W, fixed): the
    scalar that segmentation Grad-CAM explains."""

    def __init__(self, segmenter: nn.Module, target: int, region: Tensor):
        super().__init__()
        self.segmenter, self.target = segmenter, target
        self.register_buffer("region", region.float())

    def forward(self, x: Tensor) -> Tensor:
        logits = self.segmenter(x)["out"][:, self.target]
        return (logits * self.region).flatten(1).sum(1)


def class_region(predicted: Tensor, target: int) -> Tensor:
    """The pixels predicted as ``target``, or every pixel when there are none."""
    region = predicted == target
    return region if bool(region.any()) else torch.ones_like(region)


def backbone_stage(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    """The backbone stage named ``layer`` (default: the last, the one feeding the head)."""
    stages = stages_of(model.backbone)
    if not stages:
        raise AnalysisError("the segmenter's backbone has no convolutional stage to explain.")
    return pick_stage(stages, layer, "backbone")


def explain_segmentation(model: nn.Module, image: Tensor, mean: tuple[float, ...],
                         std: tuple[float, ...], class_names: list[str] | None = None, *,
                         top_k: int = 5, target: int | None = None,
                         method: str = "integrated_gradients", channels: int = 8,
                         layer: str | None = None, progress: Progress = no_progress,
                         cancel: CancelFlag | None = None) -> Explanation:
    """Explain a segmenter's prediction for ``image`` (C×H×W in [0, 1]): ``target`` (a class
    index) defaults to the class covering most pixels other than class 0 (the background),
    or class 0 when nothing else is predicted; ``layer`` names a backbone stage."""
    attr = _captum()
    if method not in METHODS:
        raise AnalysisError(f"unknown attribution method ‘{method}’; choose {' or '.join(METHODS)}")
    model.eval()
    name, stage = backbone_stage(model, layer)
    x = _normalise(image, mean, std)
    progress(0, 3, "prediction and feature maps")
    predicted, count, maps = _segment(model, x, stages_of(model.backbone), channels)
    names = class_names or [str(i) for i in range(count)]
    target = _target(predicted, count, target)
    shares = np.bincount(predicted.flatten().numpy(), minlength=count) / predicted.numel()
    top = shares.argsort(kind="stable")[::-1][:top_k]
    score = ClassRegionScore(model, target, class_region(predicted, target)).eval()
    cam, pixels = attributions(attr, score, (name, stage), x, None, method, progress, cancel)
    return Explanation(image.permute(1, 2, 0).numpy(), [names[i] for i in top],
                       [float(shares[i]) for i in top], names[target], name, cam, method,
                       pixels, maps, scores="pixel share")


def _target(predicted: Tensor, count: int, target: int | None) -> int:
    if target is not None:
        if not 0 <= target < count:
            raise AnalysisError(f"class {target} does not exist; the network has {count}.")
        return target
    counts = torch.bincount(predicted.flatten(), minlength=count)
    if counts[1:].sum() > 0:  # the most covered class besides the background
        return int(counts[1:].argmax()) + 1
    return 0


def _segment(model: nn.Module, x: Tensor, stages: list[tuple[str, nn.Module]],
             channels: int) -> tuple[Tensor, int, dict[str, np.ndarray]]:
    """(predicted class per pixel H×W, the number of classes, the stages' first channels)."""
    out, maps = forward_with_maps(model, x, stages, channels)
    logits = out["out"][0]
    return logits.argmax(0), int(logits.shape[0]), maps
