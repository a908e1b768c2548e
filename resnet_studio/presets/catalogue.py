"""Every preset, in gallery order, generated from one table per family."""

from __future__ import annotations

from ..graph import Graph, InputSpec
from . import families
from .base import Preset, UnknownPresetError

DEFAULT_PRESET = "small_resnet"

CIFAR = InputSpec(channels=3, height=32, width=32, classes=10)
IMAGENET = InputSpec(channels=3, height=224, width=224, classes=1000)
MNIST = InputSpec(channels=1, height=28, width=28, classes=10)

HE_2015 = "He et al. 2015, “Deep Residual Learning for Image Recognition” (arXiv:1512.03385)"

# torchvision's table (torchvision/models/resnet.py): depth → block type, blocks per stage.
IMAGENET_DEPTHS = {
    18: ("basicblock", (2, 2, 2, 2)),
    34: ("basicblock", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

# He et al. 2015 §4.2: depth 6n + 2 with n = 3, 5, 7, 9, 18.
CIFAR_DEPTHS = (20, 32, 44, 56, 110)

# torchvision's ConvNeXt table (torchvision/models/convnext.py): variant → blocks per stage,
# channels per stage (base and large keep small's blocks at wider channels).
CONVNEXT_STAGES = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
}
CONVNEXT_BLOCKS = ("cnblock", "convnextblock")


def named_layouts(block: str) -> list[tuple[int | None, tuple[int, ...]]]:
    """(depth, blocks per stage) of the named networks of the family that ``block`` blocks
    belong to, from the tables above: torchvision's ResNet table for every residual block but
    ConvNeXt's (the SE, ResNeXt, Res2Net and ResNet-D relatives follow it), each row named by
    its depth; ConvNeXt's variants, named by size, so their depth is None. The CIFAR family
    has no table of layouts: its n blocks in every stage are what
    ``study.derive.with_depth`` gives when no named layout fits."""
    if block in CONVNEXT_BLOCKS:
        return [(None, layers) for layers, _ in CONVNEXT_STAGES.values()]
    return [(depth, layers) for depth, (_, layers) in IMAGENET_DEPTHS.items()]


def _starter() -> list[Preset]:
    return [Preset(
        "small_resnet", "Small ResNet", "Starter",
        "A tiny residual network (three stages of one basic block, 16/32/64 channels) that "
        f"trains in seconds on a CPU; the CIFAR layout of {HE_2015}.",
        CIFAR, None, families.small_resnet())]


def _mnist() -> list[Preset]:
    residual = families.mnist_small_resnet()
    text = ("The classic introductory comparison on handwritten digits: two 5×5 convolutions "
            "with max pooling{}, then two linear layers.")
    return [
        Preset("mnist_plain_cnn", "MNIST plain CNN", "MNIST",
               text.format(", each followed by a small block of two 3×3 convolutions without a "
                           "skip connection"), MNIST, None, families.plain(residual)),
        Preset("mnist_small_resnet", "MNIST small ResNet", "MNIST",
               text.format(", each followed by a small residual block (two 3×3 convolutions "
                           "plus the identity)"), MNIST, None, residual),
    ]


def _cifar() -> list[Preset]:
    residual, plain = [], []
    for depth in CIFAR_DEPTHS:
        builder = families.cifar_resnet(depth)
        n = (depth - 2) // 6
        residual.append(Preset(
            f"resnet{depth}", f"ResNet-{depth}", "CIFAR ResNet",
            f"The CIFAR-10 ResNet of {HE_2015} §4.2: {n} basic blocks per stage at 16/32/64 "
            "channels with parameter-free (option A) shortcuts.", CIFAR, None, builder))
        plain.append(Preset(
            f"plain{depth}", f"Plain-{depth}", "CIFAR plain",
            f"ResNet-{depth} without its shortcuts: the plain network that {HE_2015} §4.2 shows "
            "training worse as depth grows. Same layers, same parameters.",
            CIFAR, None, families.plain(builder)))
    return residual + plain


def _wide_and_preact() -> list[Preset]:
    return [
        Preset("wide_resnet28_10", "WRN-28-10", "Wide ResNet",
               "Wide residual network of Zagoruyko & Komodakis 2016 (arXiv:1605.07146): four "
               "pre-activation blocks per stage, ten times wider (160/320/640 channels), "
               "dropout 0.3 between convolutions.", CIFAR, None,
               families.wide_resnet(28, 10, 0.3)),
        Preset("preact_resnet18", "Pre-activation ResNet-18", "Pre-activation",
               "ResNet-18 with BN and ReLU before each convolution, after He et al. 2016, "
               "“Identity Mappings in Deep Residual Networks” (arXiv:1603.05027); CIFAR stem.",
               CIFAR, None, families.preact_resnet((2, 2, 2, 2))),
    ]


def _imagenet() -> list[Preset]:
    presets = []
    for depth, (block, layers) in IMAGENET_DEPTHS.items():
        presets.append(Preset(
            f"resnet{depth}", f"ResNet-{depth}", "ImageNet ResNet",
            f"The ImageNet ResNet-{depth} of {HE_2015}, with {block} blocks "
            f"{list(layers)}; identical to torchvision's resnet{depth}.",
            IMAGENET, f"resnet{depth}", families.imagenet_resnet(block, layers)))
    block, layers = IMAGENET_DEPTHS[50]
    presets.append(Preset(
        "resnext50_32x4d", "ResNeXt-50 (32×4d)", "ImageNet ResNet",
        "ResNet-50 with grouped 3×3 convolutions (32 groups of width 4): Xie et al. 2017, "
        "“Aggregated Residual Transformations” (arXiv:1611.05431); identical to torchvision's.",
        IMAGENET, "resnext50_32x4d", families.imagenet_resnet(block, layers, 32, 4)))
    presets.append(Preset(
        "wide_resnet50_2", "Wide ResNet-50-2", "ImageNet ResNet",
        "ResNet-50 with twice as wide bottlenecks, after Zagoruyko & Komodakis 2016 "
        "(arXiv:1605.07146); identical to torchvision's wide_resnet50_2.",
        IMAGENET, "wide_resnet50_2", families.imagenet_resnet(block, layers, 1, 128)))
    return presets


def _convnext() -> list[Preset]:
    depths, dims = CONVNEXT_STAGES["tiny"]
    return [Preset(
        "convnext_tiny", "ConvNeXt-T", "ConvNeXt",
        "ConvNeXt-Tiny of Liu et al. 2022, “A ConvNet for the 2020s” (arXiv:2201.03545): a "
        "4×4 patchify stem, stages of 3/3/9/3 depthwise 7×7 blocks with LayerNorm, an inverted "
        "bottleneck and LayerScale at 96/192/384/768 channels; identical to torchvision's "
        "convnext_tiny.", IMAGENET, "convnext_tiny",
        families.torchvision_convnext(depths, dims))]


# timm's later ResNets (timm/models/resnet.py, res2net.py): name → title, builder, text.
IMAGENET_LAYERS = IMAGENET_DEPTHS[50][1]
TIMM = {
    "resnet50d": (
        "ResNet-50-D", families.timm_resnet("bottleneck", IMAGENET_LAYERS, deep_stem=True,
                                            shortcut="D"),
        ("ResNet-50 with the “ResNet-D” changes of He et al. 2019, “Bag of Tricks” "
         "(arXiv:1812.01187): a deep stem of three 3×3 convolutions (32/32/64) and average "
         "pooling before each projection shortcut")),
    "res2net50_26w_4s": (
        "Res2Net-50 (26w×4s)", families.timm_resnet("res2net", IMAGENET_LAYERS,
                                                    width_per_group=26, scale=4),
        ("ResNet-50 whose 3×3 convolutions are split into 4 groups of 26 channels (for 64 "
         "planes), each fed the previous group's output: Gao et al. 2019, “Res2Net” "
         "(arXiv:1904.01169)")),
    "resnetrs50": (
        "ResNet-RS-50", families.timm_resnet("sebottleneck", IMAGENET_LAYERS, deep_stem=True,
                                             shortcut="D", conv_stem_pool=True, reduction=4),
        ("ResNet-D with squeeze-and-excitation (a quarter of the channels in the gate) and a "
         "strided convolution in place of the stem's max pool: Bello et al. 2021, "
         "“Revisiting ResNets” (arXiv:2103.07579)")),
    "seresnext50_32x4d": (
        "SE-ResNeXt-50 (32×4d)", families.timm_resnet("sebottleneck", IMAGENET_LAYERS,
                                                      groups=32, width_per_group=4,
                                                      reduction=16),
        ("ResNeXt-50 (32 groups of width 4) with squeeze-and-excitation on every block: Hu et "
         "al. 2018, “Squeeze-and-Excitation Networks” (arXiv:1709.01507)")),
}


def _timm() -> list[Preset]:
    return [Preset(name, title, "ImageNet ResNet (timm)", f"{text}; identical to timm's {name}.",
                   IMAGENET, None, builder, timm_name=name)
            for name, (title, builder, text) in TIMM.items()]


def _cifar_descendants() -> list[Preset]:
    return [
        Preset("resnet20d", "ResNet-20-D", "CIFAR ResNet",
               "ResNet-20 with the ResNet-D changes (He et al. 2019, arXiv:1812.01187) at 32×32: "
               "a deep stem of three 3×3 convolutions and average-pool projection shortcuts.",
               CIFAR, None, families.cifar_resnet_d(20)),
        Preset("res2net20", "Res2Net-20", "CIFAR ResNet",
               "A CIFAR-size Res2Net (Gao et al. 2019, arXiv:1904.01169): two Res2Net blocks "
               "(26w×4s) per stage at 16/32/64 planes, the same depth as ResNet-20.",
               CIFAR, None, families.cifar_bottleneck("res2net", 2, width_per_group=26,
                                                      scale=4)),
        Preset("seresnet20b", "SE-ResNet-20 (bottleneck)", "CIFAR ResNet",
               "A CIFAR-size SE-ResNet (Hu et al. 2018, arXiv:1709.01507): two bottleneck "
               "blocks with squeeze-and-excitation per stage at 16/32/64 planes.",
               CIFAR, None, families.cifar_bottleneck("sebottleneck", 2, reduction=16)),
    ]


PRESETS: dict[str, Preset] = {
    p.name: p for p in _starter() + _mnist() + _cifar() + _cifar_descendants()
    + _wide_and_preact() + _imagenet() + _convnext() + _timm()}


def create(name: str, input_spec: InputSpec | None = None) -> Graph:
    """The preset ``name`` as a laid-out graph; an unknown name lists the known ones."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise UnknownPresetError(name, PRESETS) from None
    return preset.create(input_spec)
