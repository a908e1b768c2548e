"""Residual blocks as PyTorch modules.

Each class and helper here is copied verbatim into generated ``model.py`` files (through
``inspect.getsource``), so they import nothing but torch and the small layers of
``layers.py``, and they read like torchvision's ``resnet.py``. Attribute names follow
torchvision (``conv1``, ``bn1``, ``relu``, ``conv2``, ``bn2``, ``downsample``), which makes
the state dicts of ``BasicBlock`` and ``Bottleneck`` interchangeable with torchvision's.

Every block takes a ``shortcut`` argument; ``"none"`` builds the plain twin (the same branch
without the skip connection), so a residual network and its plain counterpart differ in one
word only.
"""

import torch
from torch import nn

from .layers import DropPath, LayerNorm2d, LayerScale, Scale, SqueezeExcitation, ZeroPadShortcut


def conv3x3(in_planes, out_planes, stride=1, groups=1):
    """3×3 convolution with padding 1; no bias because a BatchNorm follows."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                     groups=groups, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1×1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def make_downsample(in_planes, out_planes, stride=1, shortcut="auto"):
    """The skip path of a post-activation block; None stands for the identity.

    "auto": a 1×1 convolution and BatchNorm only where the shape changes (option B of
    He et al. 2015, https://arxiv.org/abs/1512.03385, as torchvision does).
    "A": subsample and pad the new channels with zeros, adding no parameters (option A,
    used by the CIFAR ResNets of the same paper).
    "D": average-pool first and convolve with stride 1, so the shortcut sees every input
    position instead of one in four (ResNet-D of He et al. 2019, "Bag of Tricks",
    https://arxiv.org/abs/1812.01187).
    "none": no skip path (the block's plain twin).
    """
    if shortcut == "none" or (stride == 1 and in_planes == out_planes):
        return None
    if shortcut == "A":
        return ZeroPadShortcut(in_planes, out_planes, stride)
    if shortcut == "D":
        # Without a stride the pool is an Identity, which keeps the convolution at index 1
        # in every block (timm's layout, so its ResNet-D weights load key for key).
        pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                if stride > 1 else nn.Identity())
        return nn.Sequential(pool, conv1x1(in_planes, out_planes), nn.BatchNorm2d(out_planes))
    return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a skip connection added before the last ReLU
    (He et al. 2015, https://arxiv.org/abs/1512.03385); the stride sits on the first one."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, shortcut="auto"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = make_downsample(inplanes, planes, stride, shortcut)
        self.residual = shortcut != "none"
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.residual:
            out += identity
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        # Each block starts as the identity (Goyal et al. 2017, https://arxiv.org/abs/1706.02677).
        nn.init.zeros_(self.bn2.weight)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand, with the stride on the 3×3 convolution (torchvision's
    "ResNet v1.5"). ``groups`` and ``base_width`` give ResNeXt (Xie et al. 2017,
    https://arxiv.org/abs/1611.05431) and Wide ResNet-50 widths."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, groups=1, base_width=64, expansion=4,
                 shortcut="auto"):
        super().__init__()
        self.expansion = expansion
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * expansion)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_downsample(inplanes, planes * expansion, stride, shortcut)
        self.residual = shortcut != "none"
        self.stride = stride

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

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.residual:
            out += identity
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn3.weight)


class PreActBlock(nn.Module):
    """Pre-activation block of ResNet v2 (He et al. 2016, "Identity Mappings",
    https://arxiv.org/abs/1603.05027): BN and ReLU come before each convolution, so the skip
    path stays a clean identity from block to block. ``dropout`` between the convolutions
    follows Wide ResNets (Zagoruyko & Komodakis 2016, https://arxiv.org/abs/1605.07146)."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1, dropout=0.0, shortcut="auto"):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.shortcut = None
        if shortcut != "none" and (stride != 1 or in_planes != planes):
            self.shortcut = conv1x1(in_planes, planes, stride)
        self.residual = shortcut != "none"

    def forward(self, x):
        out = self.bn1(x)
        out = self.relu(out)
        # A projection sees the pre-activated input; the identity sees x itself.
        identity = self.shortcut(out) if self.shortcut is not None else x

        out = self.conv1(out)
        out = self.dropout(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)

        if self.residual:
            out = out + identity
        return out

    def zero_init_residual(self):
        # The branch ends in conv2, not in a norm layer, so conv2 is what starts at zero.
        nn.init.zeros_(self.conv2.weight)


class SEBasicBlock(nn.Module):
    """BasicBlock whose branch is reweighted per channel by squeeze-and-excitation before the
    sum (Hu et al. 2018, https://arxiv.org/abs/1709.01507)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, reduction=16, shortcut="auto"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcitation(planes, max(1, planes // reduction))
        self.downsample = make_downsample(inplanes, planes, stride, shortcut)
        self.residual = shortcut != "none"
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        out = self.se(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.residual:
            out += identity
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn2.weight)


class ScaledResidualBlock(nn.Module):
    """Learnable residual scaling: ``relu(F(x) + s·shortcut(x))`` with one learnable scalar
    ``s``, where F is the BasicBlock branch."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, init=1.0, shortcut="auto"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = make_downsample(inplanes, planes, stride, shortcut)
        self.scale = Scale(init) if shortcut != "none" else None
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.scale is not None:
            out = out + self.scale(identity)
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn2.weight)


class ResNormBlock(nn.Module):
    """Residual normalisation: ``relu(F(x) + BN(F(x) − shortcut(x)))``, where F is the
    BasicBlock branch; the normalised difference is added back to the branch."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, shortcut="auto"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = make_downsample(inplanes, planes, stride, shortcut)
        self.res_norm = nn.BatchNorm2d(planes) if shortcut != "none" else None
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.res_norm is not None:
            out = out + self.res_norm(out - identity)
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn2.weight)


class FusionBlock(nn.Module):
    """Multi-scale fusion: ``relu(F(x) + conv1x1(concat(F(x), shortcut(x))))``, where F is
    the BasicBlock branch; a 1×1 convolution learns how to mix the two paths."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, shortcut="auto"):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = make_downsample(inplanes, planes, stride, shortcut)
        self.fuse = conv1x1(2 * planes, planes) if shortcut != "none" else None
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.fuse is not None:
            out = out + self.fuse(torch.cat([out, identity], dim=1))
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.bn2.weight)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al. 2022, https://arxiv.org/abs/2201.03545): depthwise k×k
    convolution, LayerNorm, an inverted-bottleneck MLP as two 1×1 convolutions, LayerScale and
    stochastic depth; the channel count and size are preserved and nothing follows the sum."""

    def __init__(self, channels, kernel_size=7, expansion=4, layer_scale=1e-6, drop_path=0.0,
                 shortcut="identity"):
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2,
                                groups=channels)
        self.norm = LayerNorm2d(channels, eps=1e-6)
        self.pwconv1 = nn.Conv2d(channels, expansion * channels, 1)
        self.act = nn.GELU()
        self.pwconv2 = nn.Conv2d(expansion * channels, channels, 1)
        self.layer_scale = LayerScale(channels, layer_scale) if layer_scale > 0 else nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.residual = shortcut != "none"

    def forward(self, x):
        out = self.dwconv(x)
        out = self.norm(out)
        out = self.pwconv1(out)
        out = self.act(out)
        out = self.pwconv2(out)
        out = self.layer_scale(out)
        out = self.drop_path(out)
        if self.residual:
            out = x + out
        return out

    def zero_init_residual(self):
        if isinstance(self.layer_scale, LayerScale):
            nn.init.zeros_(self.layer_scale.gamma)
        else:
            nn.init.zeros_(self.pwconv2.weight)
            nn.init.zeros_(self.pwconv2.bias)


class SimpleResidualBlock(nn.Module):
    """The classic tutorial residual block without normalisation: two same-size convolutions
    with biases, the input added before the last ReLU."""

    def __init__(self, channels, kernel_size=3, shortcut="identity"):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.residual = shortcut != "none"

    def forward(self, x):
        out = self.conv1(x)
        out = self.relu(out)
        out = self.conv2(out)
        if self.residual:
            out = out + x
        out = self.relu(out)
        return out

    def zero_init_residual(self):
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
