"""The preset families, each described once: a builder parameterised by depth or width.

Depth tables (blocks per stage) live in ``catalogue.py``; these functions turn one row of such
a table into a ``Builder``. Residual blocks are the catalogue's ``stage`` nodes, which hold an
``nn.Sequential`` of blocks, so a stage named ``layer1`` gives the state_dict keys
``layer1.0.conv1.weight`` exactly as torchvision's ResNets do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..graph import Graph, InputSpec
from .base import Builder, Chain
from .twin import plain_twin

IMAGENET_WIDTHS = (64, 128, 256, 512)


def imagenet_resnet(block: str, layers: Sequence[int], groups: int = 1,
                    width_per_group: int = 64) -> Builder:
    """torchvision's ``ResNet``: 7×7/2 stem, 3×3/2 max pool, four stages, projection
    shortcuts ("auto": a 1×1 convolution where the shape changes)."""
    def build(spec: InputSpec) -> Graph:
        chain = Chain(spec)
        chain.add("conv1", "conv2d", out_channels=64, kernel_size=7, stride=2, padding=3,
                  bias=False)
        chain.add("bn1", "batchnorm2d")
        chain.add("relu", "relu")
        chain.add("maxpool", "maxpool2d", kernel_size=3, stride=2, padding=1)
        extra: dict[str, Any] = {"groups": groups, "width_per_group": width_per_group}
        if block == "bottleneck":
            extra["expansion"] = 4
        _stages(chain, block, layers, IMAGENET_WIDTHS, shortcut="auto", **extra)
        return chain.classifier()
    return build


def timm_resnet(block: str, layers: Sequence[int], *, deep_stem: bool = False,
                shortcut: str = "auto", conv_stem_pool: bool = False,
                **block_params: Any) -> Builder:
    """timm's ``ResNet`` (timm/models/resnet.py), which holds the later family: the stem is
    the 7×7 convolution, or with ``deep_stem`` three 3×3 ones of 32/32/64 channels (ResNet-C/D);
    ``shortcut`` "D" average-pools before the projection (ResNet-D); ``conv_stem_pool``
    replaces the max pool by a strided Conv-BN-ReLU (ResNet-RS). ``block_params`` go to every
    stage (groups, width_per_group, reduction for SE, scale for Res2Net …). Node ids are
    timm's module names, so its ``state_dict`` loads key for key."""
    def build(spec: InputSpec) -> Graph:
        chain = Chain(spec)
        if deep_stem:
            chain.add("conv1", "deepstem", first=32, second=32, out_channels=64, stride=2)
        else:
            chain.add("conv1", "conv2d", out_channels=64, kernel_size=7, stride=2, padding=3,
                      bias=False)
        chain.add("bn1", "batchnorm2d")
        chain.add("act1", "relu")
        if conv_stem_pool:
            chain.add("maxpool", "convbnrelu", out_channels=64, kernel_size=3, stride=2)
        else:
            chain.add("maxpool", "maxpool2d", kernel_size=3, stride=2, padding=1)
        if block != "basicblock":
            block_params.setdefault("expansion", 4)
        _stages(chain, block, layers, IMAGENET_WIDTHS, shortcut=shortcut, **block_params)
        return chain.classifier(pool="global_pool")
    return build


def torchvision_convnext(depths: Sequence[int], dims: Sequence[int],
                         stochastic_depth: float = 0.1) -> Builder:
    """torchvision's ``ConvNeXt`` (torchvision/models/convnext.py; Liu et al. 2022,
    https://arxiv.org/abs/2201.03545): a 4×4/4 "patchify" convolution and LayerNorm, stages of
    ConvNeXt blocks with LayerNorm + 2×2/2 convolution between them, global average pooling,
    LayerNorm and the linear classifier. Module paths put every part where torchvision keeps
    it (``features.0`` … ``features.7``, ``classifier.0``/``.2``), so its ``state_dict`` loads
    key for key. torchvision raises the stochastic depth rate linearly from 0 to
    ``stochastic_depth`` over the blocks; a stage has one rate, its blocks' mean."""
    total = sum(depths)

    def build(spec: InputSpec) -> Graph:
        chain = Chain(spec)
        chain.add("stem", "conv2d", module="features.0.0", out_channels=dims[0], kernel_size=4,
                  stride=4, padding=0, bias=True)
        chain.add("stem_norm", "layernorm2d", module="features.0.1", eps=1e-6)
        index, first = 1, 0
        for stage, (depth, dim) in enumerate(zip(depths, dims), start=1):
            if stage > 1:
                chain.add(f"downsample{stage}_norm", "layernorm2d", module=f"features.{index}.0",
                          eps=1e-6)
                chain.add(f"downsample{stage}", "conv2d", module=f"features.{index}.1",
                          out_channels=dim, kernel_size=2, stride=2, padding=0, bias=True)
                index += 1
            rate = stochastic_depth * (first + (depth - 1) / 2) / (total - 1)
            chain.add(f"stage{stage}", "stage", module=f"features.{index}", block="cnblock",
                      blocks=depth, planes=dim, layer_scale=1e-6, drop_path=round(rate, 4))
            index, first = index + 1, first + depth
        chain.add("avgpool", "adaptiveavgpool2d", output_size=1)
        chain.add("head_norm", "layernorm2d", module="classifier.0", eps=1e-6)
        chain.add("flatten", "flatten")
        chain.add("head", "linear", module="classifier.2", out_features="$classes")
        return chain.finish()
    return build


def cifar_bottleneck(block: str, n: int, shortcut: str = "auto", **block_params: Any) -> Builder:
    """A CIFAR-size network of bottleneck-type blocks (Res2Net, SE): a 3×3 stem of 16
    channels, ``n`` blocks at each of 16/32/64 planes (× 4 channels out, strides 1/2/2)."""
    def build(spec: InputSpec) -> Graph:
        chain = _cifar_stem(spec, 16)
        chain.add("relu", "relu")
        _stages(chain, block, (n, n, n), (16, 32, 64), shortcut=shortcut, expansion=4,
                **block_params)
        return chain.classifier()
    return build


def cifar_resnet_d(depth: int) -> Builder:
    """The CIFAR ResNet of He et al. 2015 §4.2 with the ResNet-D changes of He et al. 2019
    (https://arxiv.org/abs/1812.01187) scaled to 32×32: a deep stem of three 3×3 convolutions
    (16/16/16 channels, no stride) and average-pool ("D") projection shortcuts."""
    n = _blocks_per_stage(depth, 2, "CIFAR ResNet-D")

    def build(spec: InputSpec) -> Graph:
        chain = Chain(spec)
        chain.add("conv1", "deepstem", first=16, second=16, out_channels=16, stride=1)
        chain.add("bn1", "batchnorm2d")
        chain.add("relu", "relu")
        _stages(chain, "basicblock", (n, n, n), (16, 32, 64), shortcut="D")
        return chain.classifier()
    return build


def cifar_resnet(depth: int) -> Builder:
    """He et al. 2015 §4.2: depth 6n+2, a 3×3 stem of 16 channels, n basic blocks at each of
    16/32/64 channels (strides 1/2/2), option A (zero-padding, parameter-free) shortcuts."""
    n = _blocks_per_stage(depth, 2, "CIFAR ResNet")

    def build(spec: InputSpec) -> Graph:
        chain = _cifar_stem(spec, 16)
        chain.add("relu", "relu")
        _stages(chain, "basicblock", (n, n, n), (16, 32, 64), shortcut="A")
        return chain.classifier()
    return build


def wide_resnet(depth: int, k: int, dropout: float) -> Builder:
    """Zagoruyko & Komodakis 2016 (https://arxiv.org/abs/1605.07146): WRN-depth-k is a
    pre-activation network of n = (depth − 4)/6 blocks per stage at widths 16k/32k/64k,
    dropout between the two convolutions of each block, and BN + ReLU before pooling."""
    n = _blocks_per_stage(depth, 4, "Wide ResNet")

    def build(spec: InputSpec) -> Graph:
        chain = _cifar_stem(spec, 16, batchnorm=False)
        _stages(chain, "preactblock", (n, n, n), (16 * k, 32 * k, 64 * k), shortcut="auto",
                dropout=dropout)
        return _final_activation(chain).classifier()
    return build


def preact_resnet(layers: Sequence[int]) -> Builder:
    """He et al. 2016, "Identity Mappings in Deep Residual Networks"
    (https://arxiv.org/abs/1603.05027), at CIFAR scale: a 3×3 stem of 64 channels, pre-
    activation blocks at 64/128/256/512 channels, and BN + ReLU before pooling."""
    def build(spec: InputSpec) -> Graph:
        chain = _cifar_stem(spec, 64, batchnorm=False)
        _stages(chain, "preactblock", layers, IMAGENET_WIDTHS, shortcut="auto")
        return _final_activation(chain).classifier()
    return build


def small_resnet() -> Builder:
    """A residual network that trains in seconds on a CPU: the CIFAR ResNet layout with one
    basic block per stage (option A shortcuts, so its plain twin has the same parameters)."""
    return cifar_resnet(8)


def mnist_small_resnet() -> Builder:
    """The classic introductory comparison: two 5×5 convolutions with max pooling, each
    followed by a small residual block, then two linear layers.

    On 28×28 digits the feature maps go 24→12 and 8→4, so the flattened vector has
    15·4·4 = 240 features; the hidden linear layer has 64 units (a small bottleneck that keeps
    the network near 35k parameters). Linear layers infer their input size, so other image
    sizes work unchanged.
    """
    def build(spec: InputSpec) -> Graph:
        chain = Chain(spec)
        for stage, channels in ((1, 20), (2, 15)):
            chain.add(f"conv{stage}", "conv2d", out_channels=channels, kernel_size=5, padding=0)
            chain.add(f"relu{stage}", "relu")
            chain.add(f"pool{stage}", "maxpool2d", kernel_size=2, stride=2)
            chain.add(f"res{stage}", "simpleresidual", kernel_size=3, shortcut="identity")
        chain.add("flatten", "flatten")
        chain.add("fc1", "linear", out_features=64)
        chain.add("relu3", "relu")
        chain.add("fc2", "linear", out_features="$classes")
        return chain.finish()
    return build


def plain(builder: Builder) -> Builder:
    """The plain twin of another family member (same layers, no skip connections)."""
    return lambda spec: plain_twin(builder(spec))


# ----- shared pieces ---------------------------------------------------------------------------
def _stages(chain: Chain, block: str, layers: Sequence[int], widths: Sequence[int],
            **params: Any) -> None:
    """Stages ``layer1``, ``layer2``, …: the first at stride 1, each later one halving the
    feature map in its first block."""
    for index, (blocks, planes) in enumerate(zip(layers, widths)):
        chain.add(f"layer{index + 1}", "stage", block=block, blocks=blocks, planes=planes,
                  stride=1 if index == 0 else 2, **params)


def _cifar_stem(spec: InputSpec, channels: int, batchnorm: bool = True) -> Chain:
    """A 3×3 convolution (no bias when a norm follows); pre-activation networks leave the
    norm to the first block."""
    chain = Chain(spec)
    chain.add("conv1", "conv2d", out_channels=channels, kernel_size=3, stride=1, padding=1,
              bias=False)
    if batchnorm:
        chain.add("bn1", "batchnorm2d")
    return chain


def _final_activation(chain: Chain) -> Chain:
    """Pre-activation blocks end on a convolution, so the network normalises and activates
    once more before pooling."""
    chain.add("bn", "batchnorm2d")
    chain.add("relu", "relu")
    return chain


def _blocks_per_stage(depth: int, fixed: int, family: str) -> int:
    """Blocks per stage of a three-stage network of two-convolution blocks:
    depth = 6n + ``fixed`` (the stem, the classifier, and any projection counted by the paper)."""
    n, rest = divmod(depth - fixed, 6)
    if rest or n < 1:
        raise ValueError(f"{family}: depth {depth} is not 6n + {fixed} for a whole n ≥ 1.")
    return n
