"""Residual blocks of the catalogue: schema, module, diagnostics and expansion of each.

The modules live in ``residual_modules.py`` (copied into generated source), their sub-graph
expansions in ``residual_expand.py``, and the stage (a chain of one block type) in
``stages.py``. Every block has a ``shortcut`` parameter whose ``"none"`` builds its plain twin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ..lazy import LazyModule
from . import residual_expand as ex
from .base import BlockType, Call, Catalogue, Shape, shape_text
from .specs import FMAP, choice_param, float_param, int_param, ports, spec
from .stages import stage_type

# The modules are torch classes: imported when a block is made, not when the catalogue is read.
rm = LazyModule("resnet_studio.blocks.residual_modules")
fm = LazyModule("resnet_studio.blocks.family_modules")
layers = LazyModule("resnet_studio.blocks.layers")

RESIDUAL = "Residual blocks"
Params = dict[str, Any]

# ----- parameters shared by several blocks ------------------------------------------------------
PLANES = int_param("planes", 64, 1, 65536, "Output channels of the block (a Bottleneck "
                   "outputs planes × expansion).")
STRIDE = int_param("stride", 1, 1, 16, "Stride of the block; 2 halves height and width.")
GROUPS = int_param("groups", 1, 1, 65536, "Groups of the 3×3 convolution (32 for ResNeXt).")
WIDTH = int_param("width_per_group", 64, 1, 65536, "Channels per group of the 3×3 convolution "
                  "for 64 planes (4 for ResNeXt-32×4d, 128 for Wide ResNet-50-2).")
EXPANSION = int_param("expansion", 4, 1, 16, "Channel multiplier of the block's last layer.")
DROPOUT = float_param("dropout", 0.0, 0.0, 0.99, "Dropout between the two convolutions "
                      "(Wide ResNets); 0 disables it.")
REDUCTION = int_param("reduction", 16, 1, 1024, "Channel reduction inside the "
                      "squeeze-and-excitation gate.")
RES2_WIDTH = int_param("width_per_group", 26, 1, 65536, "Channels of each scale group for 64 "
                       "planes (26 for Res2Net-50 26w).")
SCALE = int_param("scale", 4, 1, 64, "Number of channel groups the 3×3 convolution is split "
                  "into (Res2Net's scale s).")
INIT = float_param("init", 1.0, -1e6, 1e6, "Initial value of the learnable shortcut scale s.")
LAYER_SCALE = float_param("layer_scale", 1e-6, 0.0, 10.0, "Initial per-channel scale of the "
                          "branch (LayerScale); 0 disables it.")
DROP_PATH = float_param("drop_path", 0.0, 0.0, 0.99, "Probability of dropping the whole branch "
                        "per sample while training (stochastic depth).")
SHORTCUT_HELP = {
    "auto": "identity, or 1×1 conv + BN where the shape changes",
    "A": "subsample and zero-pad new channels, no parameters (CIFAR)",
    "D": "average-pool, then 1×1 conv + BN (ResNet-D)",
    "identity": "the input itself",
    "none": "no skip connection: the plain twin",
}
POST_SHORTCUTS = ("auto", "A", "D", "none")
IDENTITY_SHORTCUTS = ("identity", "none")


def shortcut_param(choices: Sequence[str]) -> Any:
    text = "; ".join(f"{c}: {SHORTCUT_HELP[c]}" for c in choices)
    return choice_param("shortcut", choices[0], tuple(choices), f"The skip path — {text}.")


def kernel_param(default: int, lowest: int) -> Any:
    return int_param("kernel_size", default, lowest, 15, "Height and width of the "
                     "convolutions (odd, so that the size is kept).")


def call(cls: type, args: tuple[Any, ...], **kwargs: Any) -> Call:
    """A Call that leaves out keyword arguments equal to the class's defaults, so generated
    source reads ``BasicBlock(64, 128, stride=2)`` as a person would write it."""
    defaults = inspect.signature(cls).parameters
    kept = {k: v for k, v in kwargs.items() if v != defaults[k].default}
    return Call(cls, args, kept)


# ----- diagnostics -------------------------------------------------------------------------------
def feature_map_problem(shapes: Sequence[Shape]) -> str | None:
    if len(shapes[0]) != 3:
        return (f"a residual block needs a feature map (C×H×W) but receives "
                f"{shape_text(shapes[0])}; move it before Flatten / global pooling.")
    return None


def option_a_problem(p: Params, shapes: Sequence[Shape], out_channels: int) -> str | None:
    cin = shapes[0][0]
    if p["shortcut"] == "A" and out_channels < cin:
        return (f"shortcut ‘A’ pads with zero channels and cannot remove any, but the block "
                f"turns {cin} input channels into {out_channels} (planes = {p['planes']}); "
                "raise planes or choose shortcut ‘auto’ or ‘D’.")
    return None


def basic_width_problem(p: Params) -> str | None:
    if p["groups"] != 1 or p["width_per_group"] != 64:
        return (f"BasicBlock supports only groups = 1 and width_per_group = 64 (as in "
                f"torchvision), not groups = {p['groups']} and width_per_group = "
                f"{p['width_per_group']}; use a Bottleneck block for ResNeXt or wide networks.")
    return None


def bottleneck_width_problem(p: Params) -> str | None:
    if int(p["planes"] * (p["width_per_group"] / 64.0)) == 0:
        return (f"planes ({p['planes']}) × width_per_group ({p['width_per_group']}) / 64 "
                "rounds down to 0 channels per group; raise planes or width_per_group.")
    return None


def odd_kernel_problem(p: Params, shapes: Sequence[Shape]) -> str | None:
    k = p["kernel_size"]
    if k % 2 == 0:
        return (f"kernel_size must be odd so that padding {k // 2} keeps the "
                f"{shape_text(shapes[0][1:])} size; {k} is even.")
    return None


def _check_basic(p: Params, s: Sequence[Shape]) -> str | None:
    return feature_map_problem(s) or basic_width_problem(p) or option_a_problem(p, s, p["planes"])


def _check_bottleneck(p: Params, s: Sequence[Shape]) -> str | None:
    return (feature_map_problem(s) or bottleneck_width_problem(p)
            or option_a_problem(p, s, p["planes"] * p["expansion"]))


def _check_post_activation(p: Params, s: Sequence[Shape]) -> str | None:
    return feature_map_problem(s) or option_a_problem(p, s, p["planes"])


def _check_same_size(p: Params, s: Sequence[Shape]) -> str | None:
    return feature_map_problem(s) or odd_kernel_problem(p, s)


# ----- modules -----------------------------------------------------------------------------------
def _make_basic(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.BasicBlock, (s[0][0], p["planes"]), stride=p["stride"], shortcut=p["shortcut"])


def _make_bottleneck(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.Bottleneck, (s[0][0], p["planes"]), stride=p["stride"], groups=p["groups"],
                base_width=p["width_per_group"], expansion=p["expansion"],
                shortcut=p["shortcut"])


def _make_se_bottleneck(p: Params, s: Sequence[Shape]) -> Call:
    return call(fm.SEBottleneck, (s[0][0], p["planes"]), stride=p["stride"], groups=p["groups"],
                base_width=p["width_per_group"], expansion=p["expansion"],
                reduction=p["reduction"], shortcut=p["shortcut"])


def _make_res2net(p: Params, s: Sequence[Shape]) -> Call:
    return call(fm.Bottle2neck, (s[0][0], p["planes"]), stride=p["stride"], groups=p["groups"],
                base_width=p["width_per_group"], scale=p["scale"], expansion=p["expansion"],
                shortcut=p["shortcut"])


def _make_preact(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.PreActBlock, (s[0][0], p["planes"]), stride=p["stride"], dropout=p["dropout"],
                shortcut=p["shortcut"])


def _make_se(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.SEBasicBlock, (s[0][0], p["planes"]), stride=p["stride"],
                reduction=p["reduction"], shortcut=p["shortcut"])


def _make_variant(cls_name: str, **extra: str) -> Callable[[Params, Sequence[Shape]], Call]:
    """make for the post-activation variants (the class ``cls_name`` of residual_modules);
    ``extra`` maps keyword → parameter name."""
    def make(p: Params, s: Sequence[Shape]) -> Call:
        values = {k: p[name] for k, name in extra.items()}
        return call(getattr(rm, cls_name), (s[0][0], p["planes"]), stride=p["stride"],
                    shortcut=p["shortcut"], **values)
    return make


def _make_convnext(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.ConvNeXtBlock, (s[0][0],), kernel_size=p["kernel_size"],
                expansion=p["expansion"], layer_scale=p["layer_scale"],
                drop_path=p["drop_path"], shortcut=p["shortcut"])


def _make_cnblock(p: Params, s: Sequence[Shape]) -> Call:
    return call(fm.CNBlock, (s[0][0],), kernel_size=p["kernel_size"], expansion=p["expansion"],
                layer_scale=p["layer_scale"], drop_path=p["drop_path"], shortcut=p["shortcut"])


def _make_simple(p: Params, s: Sequence[Shape]) -> Call:
    return call(rm.SimpleResidualBlock, (s[0][0],), kernel_size=p["kernel_size"],
                shortcut=p["shortcut"])


# ----- catalogue entries -------------------------------------------------------------------------
def _convs() -> tuple[Any, ...]:
    return (rm.conv1x1, rm.conv3x3)


def _downsample() -> tuple[Any, ...]:
    """The shortcut helpers every block with a projecting or zero-padding shortcut needs."""
    return (*_convs(), layers.ZeroPadShortcut, rm.make_downsample)


def _block(type_id: str, title: str, description: str, params: tuple, make, check, expand,
           deps: Any, key: tuple[str, ...] = ("planes", "stride")) -> BlockType:
    io = {"inputs": ports("in", kind=FMAP), "outputs": ports("out", kind=FMAP)}
    return BlockType(spec(type_id, title, RESIDUAL, description, *params, composite=True,
                          key=key, **io), make, check, expand, deps)


def residual_types() -> list[BlockType]:
    """The residual block types, in palette order."""
    post = shortcut_param(POST_SHORTCUTS)
    auto_only = shortcut_param(("auto", "none"))
    identity = shortcut_param(IDENTITY_SHORTCUTS)
    return [
        _block("basicblock", "BasicBlock", "ResNet basic block: two 3×3 convolutions and a "
               "skip connection (ResNet-18/34, CIFAR ResNets).",
               (PLANES, STRIDE, GROUPS, WIDTH, post), _make_basic, _check_basic,
               ex.expand_basic, _downsample),
        _block("bottleneck", "Bottleneck", "ResNet bottleneck: 1×1 reduce, 3×3, 1×1 expand "
               "(ResNet-50/101/152, ResNeXt, Wide ResNet).",
               (PLANES, STRIDE, GROUPS, WIDTH, EXPANSION, post), _make_bottleneck,
               _check_bottleneck, ex.expand_bottleneck, _downsample),
        _block("sebottleneck", "SE-Bottleneck", "Bottleneck with squeeze-and-excitation "
               "before the sum (SE-ResNeXt, ResNet-RS).",
               (PLANES, STRIDE, GROUPS, WIDTH, EXPANSION, REDUCTION, post),
               _make_se_bottleneck, _check_bottleneck, ex.expand_se_bottleneck,
               lambda: (*_downsample(), layers.SqueezeExcitation, rm.Bottleneck)),
        _block("res2net", "Res2Net block", "Bottleneck whose 3×3 is split into `scale` groups, "
               "each fed the previous group's output: several receptive fields in one block "
               "(Gao et al. 2019).",
               (PLANES, STRIDE, GROUPS, RES2_WIDTH, SCALE, EXPANSION, post), _make_res2net,
               _check_bottleneck, ex.expand_res2net, _downsample),
        _block("preactblock", "PreActBlock", "Pre-activation block (ResNet v2): BN and ReLU "
               "before each convolution, a clean identity path.",
               (PLANES, STRIDE, DROPOUT, auto_only), _make_preact,
               lambda p, s: feature_map_problem(s), ex.expand_preact, _convs),
        _block("sebasicblock", "SE-BasicBlock", "BasicBlock with squeeze-and-excitation "
               "channel attention on the branch.",
               (PLANES, STRIDE, REDUCTION, auto_only), _make_se,
               lambda p, s: feature_map_problem(s), ex.expand_se,
               lambda: (*_downsample(), layers.SqueezeExcitation)),
        _block("scaledresidual", "Scaled residual", "relu(F(x) + s·x′) with one learnable "
               "shortcut scale s.", (PLANES, STRIDE, INIT, post),
               _make_variant("ScaledResidualBlock", init="init"), _check_post_activation,
               ex.expand_scaled, lambda: (*_downsample(), layers.Scale)),
        _block("resnormblock", "Residual-norm block", "relu(F(x) + BN(F(x) − x′)): the "
               "difference between branch and shortcut, normalised, is added back.",
               (PLANES, STRIDE, post), _make_variant("ResNormBlock"), _check_post_activation,
               ex.expand_resnorm, _downsample),
        _block("fusionblock", "Fusion block", "relu(F(x) + conv1×1(concat(F(x), x′))): "
               "a learned mix of branch and shortcut.", (PLANES, STRIDE, post),
               _make_variant("FusionBlock"), _check_post_activation, ex.expand_fusion,
               _downsample),
        _block("convnextblock", "ConvNeXt block", "Depthwise k×k conv, LayerNorm, 1×1 MLP with "
               "GELU, LayerScale; keeps channels and size.",
               (kernel_param(7, 3), EXPANSION, LAYER_SCALE, DROP_PATH, identity),
               _make_convnext, _check_same_size, ex.expand_convnext,
               lambda: (layers.LayerNorm2d, layers.LayerScale, layers.DropPath),
               key=("kernel_size", "expansion")),
        _block("cnblock", "ConvNeXt block (torchvision)", "The ConvNeXt block as torchvision "
               "writes it (CNBlock): LayerNorm and Linear layers on channels-last tensors, so "
               "torchvision's ConvNeXt weights load; expands to the same computation in 1×1 "
               "convolutions.",
               (kernel_param(7, 3), EXPANSION, LAYER_SCALE, DROP_PATH, identity),
               _make_cnblock, _check_same_size, ex.expand_convnext,
               lambda: (layers.Permute, layers.DropPath), key=("kernel_size", "expansion")),
        _block("simpleresidual", "Simple residual", "Two same-size convolutions with biases "
               "and no normalisation, input added before the last ReLU.",
               (kernel_param(3, 1), identity), _make_simple, _check_same_size,
               ex.expand_simple, (), key=("kernel_size", "shortcut")),
    ]


def _stage_deps(blocks: list[BlockType]) -> Callable[[], tuple[Any, ...]]:
    """deps of the stage: every helper and block class a stage may need, each once, helpers
    first."""
    def deps() -> tuple[Any, ...]:
        found: dict[Any, None] = {}
        for block in blocks:
            found.update(dict.fromkeys(block.source_deps))
        classes = (rm.BasicBlock, rm.Bottleneck, fm.SEBottleneck, fm.Bottle2neck,
                   rm.PreActBlock, rm.SEBasicBlock, rm.ScaledResidualBlock, rm.ResNormBlock,
                   rm.FusionBlock, rm.ConvNeXtBlock, fm.CNBlock, rm.SimpleResidualBlock)
        found.update(dict.fromkeys(classes))
        return tuple(found)
    return deps


def register_residual(catalogue: Catalogue) -> None:
    blocks = residual_types()
    for block in blocks:
        catalogue.register(block)
    catalogue.register(stage_type({b.type_id: b for b in blocks}, _stage_deps(blocks)))
