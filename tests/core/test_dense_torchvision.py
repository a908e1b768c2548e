"""The dense datasets' batches are what torchvision's detection models and a segmentation loss
take: a tiny Faster R-CNN and Mask R-CNN compute finite training losses on them."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN, MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

from resnet_studio.data.dense import (
    DenseAugment,
    ShapesDataset,
    collate_detection,
    collate_segmentation,
)


def _tiny(cls, **kw):
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1))
    backbone.out_channels = 8
    return cls(backbone, num_classes=4, min_size=48, max_size=48, image_mean=[0.0] * 3,
               image_std=[1.0] * 3,
               rpn_anchor_generator=AnchorGenerator(((8, 16, 32),), ((1.0,),)),
               box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), **kw)


def test_detection_batches_train_torchvision_detectors():
    data = ShapesDataset(count=3, shape=(3, 48, 48), augment=DenseAugment(4, True))
    images, targets = collate_detection([data[i] for i in range(3)])
    models = (_tiny(FasterRCNN), _tiny(MaskRCNN, mask_roi_pool=MultiScaleRoIAlign(["0"], 14, 2)))
    for model in models:
        losses = model.train()(images, targets)
        assert {"loss_classifier", "loss_box_reg"} <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values())
    assert "loss_mask" in losses


def test_segmentation_batches_feed_cross_entropy_with_the_ignore_index():
    data = ShapesDataset(count=2, shape=(3, 32, 32), augment=DenseAugment(crop_padding=8))
    images, masks = collate_segmentation([data[0], data[1]])
    assert images.shape == (2, 3, 32, 32) and masks.dtype == torch.int64
    assert set(masks.unique().tolist()) <= {0, 1, 2, 3, 255}
    assert (masks == 255).any()  # the crop's padding is ignored, not background
    head = nn.Conv2d(3, 4, 1)
    loss = nn.functional.cross_entropy(head(images), masks, ignore_index=255)
    loss.backward()
    assert torch.isfinite(loss) and head.weight.grad.abs().sum() > 0
