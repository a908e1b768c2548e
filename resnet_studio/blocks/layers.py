"""Small layers that torch.nn lacks. Each class is copied verbatim into generated model.py
files, so they import nothing but torch and read like hand-written code."""

import torch
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an N×C×H×W tensor (as in ConvNeXt)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = super().forward(x)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """Reorders the dimensions of its input (torchvision's ``ops.misc.Permute``): ConvNeXt
    moves channels last so that LayerNorm and Linear act on them."""

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return torch.permute(x, self.dims)


class Scale(nn.Module):
    """Multiplies its input by one learnable scalar."""

    def __init__(self, init=1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x):
        return self.scale * x


class LayerScale(nn.Module):
    """Per-channel learnable scale, initialised small (Touvron et al., CaiT, 2021)."""

    def __init__(self, channels, init=1e-6):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), float(init)))

    def forward(self, x):
        return self.gamma * x


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample while training
    (Huang et al., 2016, https://arxiv.org/abs/1603.09382)."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class ZeroPadShortcut(nn.Module):
    """Option A shortcut of He et al. 2015 (CIFAR): subsample by striding and pad the new
    channels with zeros, adding no parameters."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.stride = stride
        self.extra = out_channels - in_channels

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra > 0:
            front = self.extra // 2
            x = nn.functional.pad(x, (0, 0, 0, 0, front, self.extra - front))
        return x


class SqueezeExcitation(nn.Module):
    """Channel attention of Hu et al. 2018 (https://arxiv.org/abs/1709.01507)."""

    def __init__(self, channels, squeeze_channels):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        scale = self.avgpool(x)
        scale = self.relu(self.fc1(scale))
        scale = self.sigmoid(self.fc2(scale))
        return scale * x
