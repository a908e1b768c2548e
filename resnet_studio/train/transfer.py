"""Transfer learning: freezing the first stages and the batch norms, and a learning-rate
multiplier per stage, as torchvision's detection and segmentation references fine-tune a
pretrained backbone.

Stages follow torchvision's ResNet names, which the compiler keeps: every parameter under a
module named ``layerN`` belongs to stage N; the parameters before the first stage (``conv1``,
``bn1``, or a ConvNeXt-style stem) are stage 0, the stem; everything after the backbone (the
FPN, the detection or segmentation head, a classifier's ``fc``) is the head, which is never
frozen and always trains at the full learning rate.

``freeze_stages = N`` freezes stages 0 … N−1 (requires_grad False), so N = 2 is torchvision's
``trainable_backbone_layers=3`` (conv1 and layer1 frozen; torchvision.models.detection.
backbone_utils). ``frozen_bn`` swaps the backbone's ``BatchNorm2d`` layers for
``torchvision.ops.FrozenBatchNorm2d`` holding their statistics, as torchvision's detection
models do with pretrained weights (small detection batches make batch statistics noisy).
``stage_lr_mult`` multiplies the learning rate of stage 0, 1, … in turn (stages not listed:
1).
"""

from __future__ import annotations

import re
from typing import Any

from torch import nn

_STAGE = re.compile(r"^layer(\d+)$")


def stage_map(model: nn.Module) -> dict[str, int | None]:
    """Parameter name → its stage (0 the stem, N for ``layerN``) or None for the head."""
    numbers: dict[str, int | None] = {}
    seen_stage = False
    for name, _ in model.named_parameters():
        stage = _stage_of(name)
        if stage is not None:
            seen_stage = True
        elif not seen_stage:
            stage = 0
        numbers[name] = stage
    if not seen_stage:  # no ``layerN``: no stages to speak of, everything is the head
        return dict.fromkeys(numbers)
    return numbers


def _stage_of(name: str) -> int | None:
    for part in name.split("."):
        match = _STAGE.match(part)
        if match:
            return int(match.group(1))
    return None


def stage_count(model: nn.Module) -> int:
    """How many stages (stem included) the model's backbone has."""
    stages = {s for s in stage_map(model).values() if s is not None}
    return max(stages) + 1 if stages else 0


def apply_transfer(model: nn.Module, config: Any) -> None:
    """Freeze stages and batch norms as ``config`` (a TrainConfig) says; ``EngineError``-
    worthy mistakes (more stages than the network has) raise ValueError naming the field."""
    count = stage_count(model)
    for name, wanted in (("freeze_stages", config.freeze_stages),
                         ("stage_lr_mult", len(config.stage_lr_mult))):
        if wanted > count:
            raise ValueError(f"training setting ‘{name}’ names {wanted} stage(s) but the "
                             f"network has {count} (stem and {max(count - 1, 0)} layerN "
                             "stages)")
    if config.frozen_bn:
        freeze_batchnorm(model)
    if config.freeze_stages:
        freeze(model, config.freeze_stages)


def freeze(model: nn.Module, stages: int) -> None:
    """requires_grad False for every parameter of stages 0 … ``stages`` − 1."""
    stage = stage_map(model)
    for name, param in model.named_parameters():
        if stage[name] is not None and stage[name] < stages:
            param.requires_grad_(False)


def freeze_batchnorm(model: nn.Module) -> int:
    """Replace every ``BatchNorm2d`` of the backbone's stages with a ``FrozenBatchNorm2d``
    holding its weights and running statistics; return how many were replaced."""
    from torchvision.ops import FrozenBatchNorm2d

    stage = stage_map(model)
    targets = [(path, m) for path, m in model.named_modules()
               if isinstance(m, nn.BatchNorm2d) and stage.get(f"{path}.weight") is not None]
    for path, bn in targets:
        frozen = FrozenBatchNorm2d(bn.num_features, eps=bn.eps)
        for key in ("weight", "bias", "running_mean", "running_var"):
            value = getattr(bn, key)
            if value is not None:
                getattr(frozen, key).copy_(value.detach())
        parent, _, child = path.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, frozen)
    return len(targets)


def lr_multipliers(model: nn.Module, multipliers: tuple[float, ...]) -> dict[str, float]:
    """Parameter name → its learning-rate multiplier (1 for the head and unlisted stages)."""
    stage = stage_map(model)
    return {name: multipliers[s] if s is not None and s < len(multipliers) else 1.0
            for name in stage for s in (stage[name],)}
