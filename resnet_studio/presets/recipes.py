"""Training recipes: how each preset is trained, named and cited.

A recipe is data: a name, where it comes from, and the training settings it changes from the
engine's defaults (the keys and values of ``train.TrainConfig.to_dict()``, ``data`` nested).
This module knows nothing of the engine (presets sit below ``train`` in the layers), so the
settings are plain dicts; ``train.recipe`` turns them into a validated ``TrainConfig``.

Recipes are attached to presets by family, so a new preset of a known family gets its
family's recipe without an entry here; a network drawn from scratch gets ``SCRATCH``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..graph import Graph


@dataclass(frozen=True)
class Recipe:
    """A named, cited set of training settings (a partial ``TrainConfig.to_dict()``)."""

    name: str
    title: str
    citation: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "citation": self.citation}


# Measured on 8,000/2,000 real MNIST digits (see the project's notes): within three epochs the
# residual network passes 97 % best validation accuracy and its plain twin 95 %. SGD at 0.05
# (the classic loop) left the plain twin at chance for its first epoch on some seeds: without
# batch norm its signal shrinks layer by layer, which Adam's per-weight step sizes absorb.
DIGITS = Recipe(
    "digits_adamw", "Digits: AdamW 2e-3, cosine, PyTorch init",
    "AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101) at lr 2e-3, weight decay 0.01, batch "
    "64, cosine decay to zero (Loshchilov & Hutter 2017, arXiv:1608.03983), PyTorch's default "
    "init, no augmentation: these networks have no batch norm, and Kaiming init with SGD at "
    "lr 0.1 kills their ReLUs in the first epoch.",
    {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.01, "schedule": "cosine",
     "epochs": 3, "batch_size": 64, "init": "pytorch",
     "data": {"dataset": "mnist", "augment": False}})

# The recipes sized for a GPU compute as fast as it allows: amp "auto" is bf16 autocast with
# channels-last on a GPU that has bf16 (as airbench's fast CIFAR-10 training does), and full
# precision on a CPU or an older GPU. The starter inherits it from He et al.'s settings.
GPU_PRECISION = {"amp": "auto"}

HE_2016_CIFAR = Recipe(
    "he2016_cifar", "He et al. 2016, CIFAR-10",
    "He, Zhang, Ren & Sun, “Deep Residual Learning for Image Recognition”, CVPR 2016 "
    "(arXiv:1512.03385) §4.2: SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, ×0.1 at "
    "50 % and 75 % of training (32k and 48k of 64k iterations ≈ 164 epochs), 4-pixel crop and "
    "horizontal flip; He init.",
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
     "decay_norm_and_bias": True, "schedule": "multistep", "milestones": [],
     "milestone_fractions": [0.5, 0.75], "epochs": 164, "batch_size": 128,
     "init": "he_fan_out", **GPU_PRECISION,
     "data": {"dataset": "cifar10", "augment": True, "crop_padding": 4, "flip": True}})

# The default project trains out of the box, on any machine and offline: He et al.'s
# optimisation on the built-in synthetic set, for a few epochs.
STARTER = Recipe(
    "starter_synthetic", "Starter: He et al. 2016 on the built-in images",
    "He et al. 2016's CIFAR optimisation (SGD 0.1, momentum 0.9, weight decay 1e-4, batch "
    "128, ×0.1 at 50 % and 75 %, crop and flip; arXiv:1512.03385 §4.2) on the built-in "
    "synthetic set, which needs no download, for 10 epochs: a first run in minutes on a CPU.",
    {**HE_2016_CIFAR.settings, "epochs": 10,
     "data": {"dataset": "synthetic", "augment": True, "crop_padding": 4, "flip": True}})

WRN_2016 = Recipe(
    "zagoruyko2016_cifar", "Zagoruyko & Komodakis 2016, CIFAR",
    "Zagoruyko & Komodakis, “Wide Residual Networks”, BMVC 2016 (arXiv:1605.07146): SGD 0.1 "
    "with Nesterov momentum 0.9, weight decay 5e-4, batch 128, 200 epochs, ×0.2 at epochs 60, "
    "120 and 160, crop and flip.",
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
     "decay_norm_and_bias": True, "schedule": "multistep", "milestones": [60, 120, 160],
     "gamma": 0.2, "epochs": 200, "batch_size": 128, "init": "he_fan_out", **GPU_PRECISION,
     "data": {"dataset": "cifar10", "augment": True, "crop_padding": 4, "flip": True}})

TORCHVISION_IMAGENET = Recipe(
    "torchvision_resnet", "torchvision reference, ImageNet",
    "torchvision's classification reference recipe for ResNets (github.com/pytorch/vision, "
    "references/classification; He et al. 2016): SGD 0.1, momentum 0.9, weight decay 1e-4, "
    "batch 256 (32 × 8 GPUs), 90 epochs, ×0.1 every 30 epochs, crop and flip (torchvision "
    "uses random-resized crops).",
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
     "decay_norm_and_bias": True, "schedule": "step", "step_size": 30, "gamma": 0.1,
     "epochs": 90, "batch_size": 256, "init": "he_fan_out", **GPU_PRECISION,
     "data": {"dataset": "folder:imagenet", "augment": True, "flip": True}})

CONVNEXT = Recipe(
    "convnext_adamw", "ConvNeXt-style AdamW",
    "Liu et al., “A ConvNet for the 2020s”, CVPR 2022 (arXiv:2201.03545): AdamW, lr 4e-3 per "
    "4,096 images (here 1.25e-4 for batch 128, the linear scaling rule), weight decay 0.05, "
    "cosine decay after a 20-epoch warm-up, label smoothing 0.1, 300 epochs.",
    {"optimizer": "adamw", "lr": 1.25e-4, "betas": [0.9, 0.999], "weight_decay": 0.05,
     "schedule": "cosine", "warmup_epochs": 20.0, "label_smoothing": 0.1, "epochs": 300,
     "batch_size": 128, "init": "he_fan_out", **GPU_PRECISION})

SCRATCH = Recipe(
    "robust_default", "Robust default",
    "A forgiving start for a network drawn from scratch, with or without batch norm: AdamW "
    "(Loshchilov & Hutter 2019, arXiv:1711.05101) at lr 1e-3, weight decay 0.05, cosine decay "
    "after half an epoch of warm-up, gradient clipping at norm 5, PyTorch's default init.",
    {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05, "schedule": "cosine",
     "warmup_epochs": 0.5, "grad_clip": 5.0, "epochs": 10, "batch_size": 64,
     "init": "pytorch"})

# Dense tasks: torchvision's references, scaled for small data and a CPU. Trained from scratch
# on the built-in shapes, SGD at the references' (linearly scaled) rates left the networks
# predicting background for epochs; AdamW (as for a network drawn from scratch) gets going at
# once. benchmarks/bench_dense_shapes.py measures them (the figures are in its docstring).
SHAPES_DETECTION = Recipe(
    "torchvision_detection_shapes", "torchvision detection reference, scaled to the shapes",
    "torchvision's detection reference (github.com/pytorch/vision, references/detection; Ren "
    "et al. 2015, arXiv:1506.01497, with an FPN, Lin et al. 2017, arXiv:1612.03144): linear "
    "warm-up, ×0.1 at 16/26 and 22/26 of training, horizontal flip, weight decay on every "
    "parameter; its SGD 0.02 for 16 images becomes AdamW 1e-3 (weight decay 0.01) "
    "for batch 8 from scratch, and 26 epochs of COCO's 118k images 8 of 500 built-in shapes.",
    {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01, "decay_norm_and_bias": True,
     "schedule": "multistep", "milestones": [], "milestone_fractions": [0.62, 0.85],
     "warmup_epochs": 1.0, "epochs": 8, "batch_size": 8, "init": "he_fan_out",
     "data": {"dataset": "shapes-detection", "train_size": 500, "val_size": 100,
              "augment": True, "crop_padding": 0, "flip": True}})

SHAPES_SEGMENTATION = Recipe(
    "torchvision_segmentation_shapes", "torchvision segmentation reference, scaled to the shapes",
    "torchvision's segmentation reference (github.com/pytorch/vision, references/segmentation; "
    "Long et al. 2015, arXiv:1411.4038): cross-entropy ignoring 255 plus 0.5 × the auxiliary "
    "loss, a decaying rate (polynomial there, cosine here), random crop and flip; its SGD 0.02 "
    "for 32 images becomes AdamW 2e-3 (weight decay 0.01) for batch 8 from scratch, after half "
    "an epoch of warm-up, and 30 epochs of COCO 8 of 500 built-in shapes.",
    {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.01, "decay_norm_and_bias": True,
     "schedule": "cosine", "warmup_epochs": 0.5, "epochs": 8, "batch_size": 8,
     "init": "he_fan_out",
     "data": {"dataset": "shapes-segmentation", "train_size": 500, "val_size": 100,
              "augment": True, "crop_padding": 4, "flip": True}})

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    DIGITS, STARTER, HE_2016_CIFAR, WRN_2016, TORCHVISION_IMAGENET, CONVNEXT, SCRATCH,
    SHAPES_DETECTION, SHAPES_SEGMENTATION)}

# Preset family → recipe; families not listed (and graphs drawn from scratch) get SCRATCH.
FAMILY_RECIPES: dict[str, Recipe] = {
    "Starter": STARTER,
    "MNIST": DIGITS,
    "CIFAR ResNet": HE_2016_CIFAR,
    "CIFAR plain": HE_2016_CIFAR,
    "Pre-activation": HE_2016_CIFAR,
    "Wide ResNet": WRN_2016,
    "ImageNet ResNet": TORCHVISION_IMAGENET,
    "ConvNeXt": CONVNEXT,
}


def preset_recipe(name: str) -> Recipe:
    """The recipe of preset ``name`` (its family's); unknown names raise UnknownPresetError."""
    from .base import UnknownPresetError
    from .catalogue import PRESETS

    if name not in PRESETS:
        raise UnknownPresetError(name, PRESETS)
    return FAMILY_RECIPES.get(PRESETS[name].family, SCRATCH)


def _is_convnext(type_id: object) -> bool:
    """A ConvNeXt block type: ours, or torchvision's layout of it (also as a stage's block)."""
    return type_id in ("convnextblock", "cnblock")


def graph_recipe(graph: Graph) -> Recipe:
    """The recipe for a graph without saved settings: its preset's when it is named after one,
    the ConvNeXt recipe when it is built of ConvNeXt blocks, else ``SCRATCH``."""
    from .catalogue import PRESETS

    if graph.name in PRESETS:
        return preset_recipe(graph.name)
    if any(_is_convnext(node.type_id) or _is_convnext(node.params.get("block"))
           for node in graph):
        return CONVNEXT
    return SCRATCH
