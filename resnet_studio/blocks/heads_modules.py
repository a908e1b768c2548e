"""The small modules that join a graph's backbone to torchvision's heads. Each class is copied
verbatim into generated model.py files, so they import nothing but torch and torchvision."""

import torch.nn.functional as F
from torch import nn
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock


class MaxPoolLevels(ExtraFPNBlock):
    """torchvision's LastLevelMaxPool, repeated: ``count`` more levels ("pool", "pool2", …), each
    the one before max-pooled with stride 2, so that a pyramid over fewer than four features
    still has the five levels torchvision's detectors are laid out for."""

    def __init__(self, count):
        super().__init__()
        self.count = count

    def forward(self, results, x, names):
        for i in range(self.count):
            names.append("pool" if i == 0 else f"pool{i + 1}")
            results.append(F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0))
        return results, names


class BackboneWithFPN(nn.Module):
    """The backbone's feature maps (an OrderedDict "0", "1", … finest first) through a feature
    pyramid; ``out_channels`` is what torchvision's FasterRCNN and RetinaNet read."""

    def __init__(self, body, fpn, out_channels):
        super().__init__()
        self.body = body
        self.fpn = fpn
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))

