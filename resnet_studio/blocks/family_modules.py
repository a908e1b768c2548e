"""Residual blocks of the later ResNet family, as PyTorch modules: Res2Net's multi-scale
bottleneck, the squeeze-and-excitation bottleneck of SE-ResNeXt and ResNet-RS, and
torchvision's ConvNeXt block (``CNBlock``, whose attribute names follow torchvision's).

Like ``residual_modules.py``, every class here is copied verbatim into generated ``model.py``
files, so it imports nothing but torch, the small layers and the helpers of
``residual_modules.py``. Attribute names follow timm (``convs``, ``bns``, ``pool``, ``se``), so
timm's ``state_dict`` of these blocks loads unchanged.
"""

import torch
from torch import nn

from .layers import DropPath, Permute, SqueezeExcitation
from .residual_modules import Bottleneck, conv1x1, conv3x3, make_downsample


class SEBottleneck(Bottleneck):
    """Bottleneck whose branch is reweighted per channel by squeeze-and-excitation before the
    sum (Hu et al. 2018, https://arxiv.org/abs/1709.01507): SE-ResNeXt and ResNet-RS."""

    def __init__(self, inplanes, planes, stride=1, groups=1, base_width=64, expansion=4,
                 reduction=16, shortcut="auto"):
        super().__init__(inplanes, planes, stride, groups, base_width, expansion, shortcut)
        channels = planes * expansion
        self.se = SqueezeExcitation(channels, max(1, channels // reduction))

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)

        out = self.conv3(out)
        out = self.bn3(out)
        out = self.se(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.residual:
            out += identity
        out = self.relu(out)
        return out


class Bottle2neck(nn.Module):
    """Res2Net bottleneck (Gao et al. 2019, https://arxiv.org/abs/1904.01169): the 3×3
    convolution of a bottleneck is split into ``scale`` groups of ``width`` channels; each
    group after the first is convolved together with the previous group's output, so the
    block sees several receptive-field sizes at once. The last group passes through.

    The first block of a stage (one that changes stride or width, the paper's "stage" type)
    convolves each group on its own and average-pools the last one instead, as the official
    code and timm do.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, groups=1, base_width=26, scale=4,
                 expansion=4, shortcut="auto"):
        super().__init__()
        self.expansion = expansion
        width = int(planes * (base_width / 64.0)) * groups
        out_planes = planes * expansion
        self.width = width
        self.scale = scale
        self.is_first = stride > 1 or inplanes != out_planes
        self.conv1 = conv1x1(inplanes, width * scale)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList(
            [conv3x3(width, width, stride, groups) for _ in range(max(1, scale - 1))])
        self.bns = nn.ModuleList([nn.BatchNorm2d(width) for _ in range(max(1, scale - 1))])
        self.pool = None
        if self.is_first and scale > 1:
            # Counting the padding in the average, as the weights published for Res2Net expect.
            self.pool = nn.AvgPool2d(kernel_size=3, stride=stride, padding=1)
        self.conv3 = conv1x1(width * scale, out_planes)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_downsample(inplanes, out_planes, stride, shortcut)
        self.residual = shortcut != "none"
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        splits = torch.split(out, self.width, 1)
        outputs = []
        group = splits[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            group = splits[i] if i == 0 or self.is_first else group + splits[i]
            group = conv(group)
            group = bn(group)
            group = self.relu(group)
            outputs.append(group)
        if self.scale > 1:
            last = splits[-1]
            outputs.append(self.pool(last) if self.pool is not None else last)
        out = torch.cat(outputs, 1)

        out = self.conv3(out)
        out = self.bn3(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.residual:
            out += identity
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn3.weight)


class CNBlock(nn.Module):
    """The ConvNeXt block in torchvision's layout (torchvision/models/convnext.py; Liu et al.
    2022, https://arxiv.org/abs/2201.03545): depthwise k×k convolution, then channels last for
    LayerNorm and a Linear inverted bottleneck with GELU, a per-channel ``layer_scale`` and
    stochastic depth. ``block.0`` … ``block.6`` and ``layer_scale`` are torchvision's keys."""

    def __init__(self, channels, kernel_size=7, expansion=4, layer_scale=1e-6, drop_path=0.0,
                 shortcut="identity"):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(channels, eps=1e-6),
            nn.Linear(channels, expansion * channels),
            nn.GELU(),
            nn.Linear(expansion * channels, channels),
            Permute([0, 3, 1, 2]),
        )
        if layer_scale > 0:
            self.layer_scale = nn.Parameter(torch.full((channels, 1, 1), float(layer_scale)))
        else:
            self.register_parameter("layer_scale", None)
        self.stochastic_depth = DropPath(drop_path)
        self.residual = shortcut != "none"

    def forward(self, x):
        out = self.block(x)
        if self.layer_scale is not None:
            out = self.layer_scale * out
        out = self.stochastic_depth(out)
        if self.residual:
            out = x + out
        return out

    def zero_init_residual(self):
        if self.layer_scale is not None:
            nn.init.zeros_(self.layer_scale)
        else:
            nn.init.zeros_(self.block[5].weight)
            nn.init.zeros_(self.block[5].bias)
