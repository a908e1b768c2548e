"""Epochs to a target on the built-in shapes: a ResNet-18-style FPN + Faster R-CNN to
mAP@0.5 ≥ 0.5, and a ResNet-18-style FCN to mean IoU ≥ 0.7, trained by the engine with the
recipes of ``presets.recipes`` (SHAPES_DETECTION, SHAPES_SEGMENTATION) on the CPU.

The networks are built with torchvision as the head blocks build them (the dense contract):
torchvision's ResNet-18 body (BasicBlock, [2, 2, 2, 2]; ``--width`` scales its channels from
64), an FPN over layer1…layer4 with a max-pool level, anchors max(4, S // 8) · 2^i with
ratios 0.5, 1, 2, no renormalising or resizing inside the detector; an FCN head on layer4
(``--tap``, default layer3: output stride 16; torchvision's FCN dilates its Bottleneck
stages instead, which BasicBlocks cannot). It prints each
epoch's metrics and the epoch that first reached the target.

    .venv/bin/python benchmarks/bench_dense_shapes.py detection --width 16
    .venv/bin/python benchmarks/bench_dense_shapes.py segmentation --width 32 --tap 2

Measured 2026-12-06 on this project's 2-core CPU while other jobs kept its load at 5–10 (so the
times are those of a shared machine, several times a quiet one's), 500 training / 100
validation shapes at 64×64, the recipes' defaults (AdamW, batch 8):

* detection, width 16, FPN on layer1…layer4: mAP@0.5 0.051, 0.402, 0.686, 0.683 after
  epochs 1–4 (mAP 0.011, 0.158, 0.374, 0.395): the target at epoch 3; 43 minutes in all, the
  last two epochs 3.5 and 4 minutes once the machine was less loaded.
* segmentation, width 32, FCN on layer2: mean IoU 0.285, 0.331, 0.333, 0.341, 0.401, 0.453,
  0.509, 0.511 after epochs 1–8 (pixel accuracy 0.894 → 0.937): 0.7 not reached in the 8
  epochs (35 minutes); still rising at the end of the cosine schedule. On layer3 (4×4 at
  64×64) with the references' SGD it predicted only background for 3 epochs.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from resnet_studio.presets.recipes import SHAPES_DETECTION, SHAPES_SEGMENTATION
from resnet_studio.train import Engine
from resnet_studio.train.progress import ProgressSink
from resnet_studio.train.recipe import merge, recipe_config

TARGETS = {"detection": ("map_50", 0.5), "segmentation": ("miou", 0.7)}


def resnet18_body(width: int) -> nn.Module:
    """torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2]) with ``width`` stem channels
    (64: ResNet-18 itself), without its classifier."""
    from torchvision.models.resnet import BasicBlock, ResNet

    class Body(ResNet):
        def __init__(self):
            nn.Module.__init__(self)
            self._norm_layer, self.dilation, self.groups, self.base_width = (
                nn.BatchNorm2d, 1, 1, 64)
            self.inplanes = width
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
            self.bn1, self.relu = nn.BatchNorm2d(width), nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._make_layer(BasicBlock, width, 2)
            self.layer2 = self._make_layer(BasicBlock, 2 * width, 2, stride=2)
            self.layer3 = self._make_layer(BasicBlock, 4 * width, 2, stride=2)
            self.layer4 = self._make_layer(BasicBlock, 8 * width, 2, stride=2)

    return Body()


def detector(size: int, width: int) -> nn.Module:
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    channels = [width, 2 * width, 4 * width, 8 * width]
    backbone = BackboneWithFPN(resnet18_body(width), {f"layer{i}": str(i - 1) for i in
                                                      range(1, 5)},
                               channels, 64, extra_blocks=LastLevelMaxPool())
    base = max(4, size // 8)
    anchors = AnchorGenerator(tuple((base * 2**i,) for i in range(5)), ((0.5, 1.0, 2.0),) * 5)
    # Sampling and proposal counts scaled down to images holding one to three objects:
    # torchvision's defaults (512 regions per image into a 1024-wide box head) cost twenty
    # times the backbone on a 64×64 image.
    return FasterRCNN(backbone, rpn_anchor_generator=anchors, min_size=size, max_size=size,
                      image_mean=[0.0] * 3, image_std=[1.0] * 3,
                      rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300,
                      rpn_pre_nms_top_n_test=300, rpn_post_nms_top_n_test=100,
                      box_batch_size_per_image=64,
                      box_head=TwoMLPHead(64 * 7 * 7, 128),
                      box_predictor=FastRCNNPredictor(128, 4))


def segmenter(width: int, tap: int) -> nn.Module:
    """An FCN head on stage ``tap`` (its output stride is 2^(tap + 1)); BasicBlocks cannot
    dilate, so a small input wants an early tap (layer2 of a 64×64 image is 8×8)."""
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.fcn import FCN, FCNHead

    channels = width * 2 ** (tap - 1)
    return FCN(IntermediateLayerGetter(resnet18_body(width), {f"layer{tap}": "out"}),
               FCNHead(channels, 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=tuple(TARGETS))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--optimizer", choices=("sgd", "adamw"))
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--tap", type=int, default=3, help="the FCN head's stage (1-4)")
    parser.add_argument("--train-size", type=int)
    args = parser.parse_args()
    recipe = SHAPES_DETECTION if args.task == "detection" else SHAPES_SEGMENTATION
    config = recipe_config(recipe)
    changes = {"data": {"fit": "none", "image_size": args.size}}
    for key, value in (("epochs", args.epochs), ("lr", args.lr),
                       ("optimizer", args.optimizer), ("weight_decay", args.weight_decay)):
        if value is not None:
            changes[key] = value
    if args.train_size:
        changes["data"]["train_size"] = args.train_size
    config = merge(config, changes, "benchmark")
    torch.manual_seed(config.seed)
    model = detector(args.size, args.width) if args.task == "detection" \
        else segmenter(args.width, args.tap)
    key, goal = TARGETS[args.task]
    began = time.perf_counter()
    engine = Engine(model, config, sinks=[ProgressSink(interval=30.0)])
    end = engine.run()
    reached = next((e["epoch"] for e in engine.history if e.get(key, 0.0) >= goal), None)
    print(f"{args.task}: {end.message}")
    print(f"settings: {recipe.name}, epochs {config.epochs}, batch {config.batch_size}, lr "
          f"{config.lr:g}, {config.data.train_size} training images at {args.size}×"
          f"{args.size}, width {args.width}; {time.perf_counter() - began:.0f} s in all")
    print(f"{key} ≥ {goal}: " + (f"first at epoch {reached}" if reached else "not reached"))


if __name__ == "__main__":
    main()
