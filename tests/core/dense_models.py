"""Small torchvision detectors and segmenters built as the dense contract says (the head
blocks' compiler output has the same form), for the engine's dense-task tests."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


def tiny_body(width: int = 8) -> nn.Module:
    """A ResNet-shaped body: a stride-2 stem and two stages (strides 4 and 8)."""
    def stage(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU())

    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, width, 3, 2, 1, bias=False)), ("bn1", nn.BatchNorm2d(width)),
        ("relu", nn.ReLU()), ("layer1", stage(width, width)),
        ("layer2", stage(width, 2 * width))]))


def detector(size: int = 32, classes: int = 4, width: int = 8) -> nn.Module:
    """Faster R-CNN over an FPN on ``tiny_body``, with the contract's transform settings
    (no renormalising, no resizing) and anchors (max(4, size // 8) · 2^i per level)."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    backbone = BackboneWithFPN(tiny_body(width), {"layer1": "0", "layer2": "1"},
                               [width, 2 * width], 16, extra_blocks=LastLevelMaxPool())
    base = max(4, size // 8)
    anchors = AnchorGenerator(tuple((base * 2**i,) for i in range(3)), ((0.5, 1.0, 2.0),) * 3)
    return FasterRCNN(backbone, rpn_anchor_generator=anchors, min_size=size, max_size=size,
                      image_mean=[0.0] * 3, image_std=[1.0] * 3,
                      box_head=TwoMLPHead(16 * 7 * 7, 32),
                      box_predictor=FastRCNNPredictor(32, classes))


def segmenter(classes: int = 4, width: int = 8) -> nn.Module:
    """An FCN head on ``tiny_body``'s last stage, upsampled to the input's size."""
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.fcn import FCN, FCNHead

    backbone = IntermediateLayerGetter(tiny_body(width), {"layer2": "out"})
    return FCN(backbone, FCNHead(2 * width, classes))
