"""Primitive blocks: one PyTorch layer or operation each."""

from __future__ import annotations

from functools import partial

from ..lazy import LazyModule
from .base import BlockType, Call, Catalogue, Functional, shape_text
from .specs import FMAP, VEC, bool_param, float_param, int_param, ports, spec

# Imported when a block is made, not when the catalogue is read (the editor starts without torch).
torch = LazyModule("torch")
nn = LazyModule("torch.nn")
layers = LazyModule("resnet_studio.blocks.layers")

IO, CONV, NORM, ACT, POOL, DENSE, REG, MERGE, HELP = (
    "Input / Output", "Convolution", "Normalisation", "Activation", "Pooling", "Linear",
    "Regularisation", "Merge", "Residual helpers")


def _fmap(shapes, title="This block"):
    if len(shapes[0]) != 3:
        return (f"{title} needs a feature map (C×H×W) but receives {shape_text(shapes[0])}; "
                "move it before Flatten / global pooling.")
    return None


def _ch(shapes) -> int:
    return shapes[0][0]


# ----- input / output --------------------------------------------------------------------------
def _never(params, shapes):  # the compiler feeds Input and Output itself
    raise RuntimeError("Input and Output are handled by the compiler")


def _output_check(params, shapes):
    if len(shapes[0]) != 1:
        return (f"the network ends in a {shape_text(shapes[0])} tensor; a classifier must end in "
                "one score per class — add global average pooling, Flatten and Linear.")
    return None


# ----- convolution -----------------------------------------------------------------------------
def _conv(p, s):
    return Call(nn.Conv2d, (_ch(s), p["out_channels"]),
                dict(kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"],
                     dilation=p["dilation"], groups=p["groups"], bias=p["bias"]))


def _conv_check(p, s):
    problem = _fmap(s, "Conv2d")
    if problem:
        return problem
    cin, groups = _ch(s), p["groups"]
    if cin % groups or p["out_channels"] % groups:
        return (f"groups={groups} must divide both the input channels ({cin}) and "
                f"out_channels ({p['out_channels']}).")
    if p["padding"] == "same" and p["stride"] != 1:
        return "padding ‘same’ only works with stride 1; use a number instead."
    span = p["dilation"] * (p["kernel_size"] - 1) + 1
    pad = 0 if p["padding"] == "same" else 2 * p["padding"]
    if p["padding"] != "same" and min(s[0][1:]) + pad < span:
        return (f"the {p['kernel_size']}×{p['kernel_size']} kernel (dilation {p['dilation']}) is "
                f"larger than the padded {shape_text(s[0][1:])} input; reduce the kernel or add "
                "padding.")
    return None


# ----- normalisation ---------------------------------------------------------------------------
def _groupnorm_check(p, s):
    problem = _fmap(s, "GroupNorm")
    if problem:
        return problem
    if _ch(s) % p["groups"]:
        return f"groups={p['groups']} must divide the {_ch(s)} input channels."
    return None


def _pool_check(p, s):
    problem = _fmap(s, "Pooling")
    if problem:
        return problem
    if min(s[0][1:]) + 2 * p["padding"] < p["kernel_size"]:
        return (f"the {p['kernel_size']}×{p['kernel_size']} window is larger than the "
                f"{shape_text(s[0][1:])} input.")
    if p["padding"] * 2 > p["kernel_size"]:
        return "padding must be at most half the kernel size."
    return None


def _same_shapes_check(p, shapes):
    if len(shapes) < 2:
        return "needs at least two inputs."
    first = shapes[0]
    for other in shapes[1:]:
        if other != first:
            return (f"inputs {shape_text(first)} and {shape_text(other)} differ"
                    + _projection_hint(first, other) + ".")
    return None


def _projection_hint(a, b) -> str:
    """Suggest the shortcut projection that would make two residual operands agree."""
    if len(a) != 3 or len(b) != 3:
        return "; every input must have the same shape"
    (hi, lo) = (a, b) if a[1] >= b[1] else (b, a)
    if lo[1] and hi[1] % lo[1] == 0 and lo[2] and hi[2] % lo[2] == 0 and hi[1] != lo[1]:
        return f" — the shortcut needs a 1×1 projection with stride {hi[1] // lo[1]}"
    if a[1:] == b[1:]:
        return " — the shortcut needs a 1×1 projection to match the channel counts"
    return "; every input must have the same shape"


def _concat_check(p, shapes):
    if len(shapes) < 2:
        return "needs at least two inputs."
    rest = {sh[1:] for sh in shapes}
    if len(rest) > 1 or len({len(sh) for sh in shapes}) > 1:
        return ("inputs " + ", ".join(shape_text(sh) for sh in shapes)
                + " differ in more than the channel count; concatenation joins channels only.")
    return None


def _sum(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


# The functional steps run inside forward, which torch.compile traces: they reach torch
# through a tensor method or a plain import, never the lazy module (its importlib call would
# break the graph and leave the whole forward to eager mode).
def _cat(*xs):
    import torch as real_torch

    return real_torch.cat(xs, dim=1)


def _flatten(x):
    return x.flatten(1)


def _identity(x):
    return x


def _subtract(a, b):
    return a - b


def _multiply(a, b):
    return a * b


def register_primitives(cat: Catalogue) -> None:
    for block in _io() + _conv_blocks() + _norms() + _activations() + _pools() + _dense() \
            + _regularisers() + _merges() + _helpers():
        cat.register(block)


def _io():
    return [
        BlockType(spec("input", "Input", IO, "The network's input images (shape set in the "
                       "project's input specification).", inputs=(),
                       outputs=ports("out", kind=FMAP)),
                  _never),
        BlockType(spec("output", "Output", IO, "The network's output: one score (logit) per class.",
                       outputs=()), _never, check=_output_check),
    ]


def _conv_blocks():
    return [BlockType(spec(
        "conv2d", "Conv2d", CONV, "2-D convolution; input channels are inferred.",
        int_param("out_channels", 64, 1, 65536, "Number of output channels (filters)."),
        int_param("kernel_size", 3, 1, 31, "Height and width of each filter."),
        int_param("stride", 1, 1, 16, "Step between filter positions; 2 halves the size."),
        int_param("padding", 1, 0, 31, "Zeros added around the input, or ‘same’ (stride 1 only).",
                  extra=("same",)),
        int_param("dilation", 1, 1, 16, "Spacing between filter taps."),
        int_param("groups", 1, 1, 65536, "Split channels into independent groups "
                  "(= channels for depthwise)."),
        bool_param("bias", True, "Learnable bias; usually off when BatchNorm follows."),
        inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP),
        key=("out_channels", "kernel_size", "stride")), _conv, _conv_check)]


def _norms():
    eps = float_param("eps", 1e-5, 1e-12, 1.0, "Added to the variance for numerical stability.")
    fm = dict(inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP))
    return [
        BlockType(spec("batchnorm2d", "BatchNorm2d", NORM, "Batch normalisation per channel.", eps,
                       float_param("momentum", 0.1, 0.0, 1.0, "Running-statistics update rate."),
                       **fm),
                  lambda p, s: Call(nn.BatchNorm2d, (_ch(s),),
                                    dict(eps=p["eps"], momentum=p["momentum"])),
                  lambda p, s: _fmap(s, "BatchNorm2d")),
        BlockType(spec("groupnorm", "GroupNorm", NORM, "Normalisation over groups of channels; "
                       "independent of batch size.",
                       int_param("groups", 32, 1, 65536, "Number of channel groups."), eps, **fm),
                  lambda p, s: Call(nn.GroupNorm, (p["groups"], _ch(s)), dict(eps=p["eps"])),
                  _groupnorm_check),
        BlockType(spec("layernorm2d", "LayerNorm (channels)", NORM, "Layer normalisation over "
                       "the channels at each position (ConvNeXt style).", eps, **fm),
                  lambda p, s: Call(layers.LayerNorm2d, (_ch(s),), dict(eps=p["eps"])),
                  lambda p, s: _fmap(s, "LayerNorm"), deps=lambda: (layers.LayerNorm2d,)),
    ]


def _activations():
    simple = [("relu", "ReLU", "max(0, x)."), ("gelu", "GELU", "Gaussian error linear unit."),
              ("silu", "SiLU", "x·sigmoid(x), also called Swish."),
              ("sigmoid", "Sigmoid", "1 / (1 + e^−x)."), ("tanh", "Tanh", "Hyperbolic tangent.")]
    blocks = [BlockType(spec(t, title, ACT, desc), _module_call(title))  # nn.ReLU for "ReLU"
              for t, title, desc in simple]
    blocks.insert(1, BlockType(spec("leakyrelu", "LeakyReLU", ACT, "ReLU with a small slope "
                                    "for negative inputs.",
                                    float_param("negative_slope", 0.01, 0.0, 1.0,
                                                "Slope for x < 0.")),
                               lambda p, s: Call(nn.LeakyReLU, (p["negative_slope"],))))
    return blocks


def _module_call(name: str):
    """make for a parameter-free torch layer: ``Call(nn.<name>)``."""
    return lambda p, s: Call(getattr(nn, name))


def _pools():
    window = (int_param("kernel_size", 2, 1, 31, "Window height and width."),
              int_param("stride", 2, 1, 16, "Step between windows."),
              int_param("padding", 0, 0, 15, "Padding around the input."),
              bool_param("ceil_mode", False, "Round the output size up instead of down."))
    fm = dict(inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP))
    win = lambda p: dict(kernel_size=p["kernel_size"], stride=p["stride"],  # noqa: E731
                         padding=p["padding"], ceil_mode=p["ceil_mode"])
    return [
        BlockType(spec("maxpool2d", "MaxPool2d", POOL, "Maximum over each window.", *window, **fm),
                  lambda p, s: Call(nn.MaxPool2d, (), win(p)), _pool_check),
        BlockType(spec("avgpool2d", "AvgPool2d", POOL, "Average over each window.", *window,
                       bool_param("count_include_pad", True, "Count padding zeros in the average."),
                       **fm),
                  lambda p, s: Call(nn.AvgPool2d, (),
                                    dict(win(p), count_include_pad=p["count_include_pad"])),
                  _pool_check),
        BlockType(spec("adaptiveavgpool2d", "AdaptiveAvgPool2d", POOL, "Average-pools to a fixed "
                       "output size; size 1 is global average pooling.",
                       int_param("output_size", 1, 1, 64, "Output height and width."), **fm),
                  lambda p, s: Call(nn.AdaptiveAvgPool2d, ((p["output_size"], p["output_size"]),)),
                  lambda p, s: _fmap(s, "AdaptiveAvgPool2d")),
        BlockType(spec("adaptivemaxpool2d", "AdaptiveMaxPool2d", POOL, "Max-pools to a fixed "
                       "output size.",
                       int_param("output_size", 1, 1, 64, "Output height and width."), **fm),
                  lambda p, s: Call(nn.AdaptiveMaxPool2d, ((p["output_size"], p["output_size"]),)),
                  lambda p, s: _fmap(s, "AdaptiveMaxPool2d")),
    ]


def _dense():
    return [
        BlockType(spec("flatten", "Flatten", DENSE, "Turns each C×H×W sample into one vector.",
                       inputs=ports("in", kind=FMAP), outputs=ports("out", kind=VEC)),
                  lambda p, s: Functional(_flatten, lambda a: f"torch.flatten({a[0]}, 1)")),
        BlockType(spec("linear", "Linear", DENSE, "Fully connected layer; input features inferred.",
                       int_param("out_features", 10, 1, 1_000_000, "Output features "
                                 "($classes for the classifier)."),
                       bool_param("bias", True, "Learnable bias."),
                       inputs=ports("in", kind=VEC), outputs=ports("out", kind=VEC)),
                  lambda p, s: Call(nn.Linear, (s[0][-1], p["out_features"]), dict(bias=p["bias"])),
                  _linear_check),
    ]


def _linear_check(p, s):
    if len(s[0]) != 1:
        return (f"Linear needs a feature vector but receives {shape_text(s[0])}; "
                "insert Flatten or global average pooling first.")
    return None


def _regularisers():
    prob = float_param("p", 0.5, 0.0, 0.999, "Probability of zeroing an element while training.")
    return [
        BlockType(spec("dropout", "Dropout", REG, "Zeroes random elements while training.", prob),
                  lambda p, s: Call(nn.Dropout, (p["p"],))),
        BlockType(spec("dropout2d", "Dropout2d", REG,
                       "Zeroes random whole channels while training.", prob,
                       inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP)),
                  lambda p, s: Call(nn.Dropout2d, (p["p"],)), lambda p, s: _fmap(s, "Dropout2d")),
        BlockType(spec("droppath", "DropPath", REG, "Stochastic depth: drops a whole residual "
                       "branch per sample while training.",
                       float_param("p", 0.1, 0.0, 0.999, "Probability of dropping the branch.")),
                  lambda p, s: Call(layers.DropPath, (p["p"],)), deps=lambda: (layers.DropPath,)),
        BlockType(spec("identity", "Identity", REG, "Passes its input through unchanged."),
                  lambda p, s: Functional(_identity, lambda a: a[0])),
    ]


def _merges():
    multi = ports("in", multi=True)
    two = ports("a", "b")
    return [
        BlockType(spec("add", "Add", MERGE, "Element-wise sum of all inputs (the residual sum).",
                       inputs=multi),
                  lambda p, s: Functional(_sum, lambda a: " + ".join(a)), _same_shapes_check),
        BlockType(spec("concat", "Concat", MERGE, "Joins all inputs along the channel axis.",
                       inputs=multi),
                  lambda p, s: Functional(_cat, lambda a: f"torch.cat([{', '.join(a)}], dim=1)"),
                  _concat_check),
        BlockType(spec("subtract", "Subtract", MERGE, "a − b, element-wise.", inputs=two),
                  lambda p, s: Functional(_subtract, lambda a: f"{a[0]} - {a[1]}"),
                  _same_shapes_check),
        BlockType(spec("multiply", "Multiply", MERGE, "a · b, element-wise (with broadcasting).",
                       inputs=two),
                  lambda p, s: Functional(_multiply, lambda a: f"{a[0]} * {a[1]}")),
    ]


def _helpers():
    fm = dict(inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP))
    return [
        BlockType(spec("scale", "Scale", HELP, "Multiplies by one learnable scalar s.",
                       float_param("init", 1.0, -1e6, 1e6, "Initial value of s.")),
                  lambda p, s: Call(layers.Scale, (p["init"],)), deps=lambda: (layers.Scale,)),
        BlockType(spec("layerscale", "LayerScale", HELP, "Per-channel learnable scale.",
                       float_param("init", 1e-6, 0.0, 1e6,
                                   "Initial value of every channel's scale."), **fm),
                  lambda p, s: Call(layers.LayerScale, (_ch(s), p["init"])),
                  deps=lambda: (layers.LayerScale,)),
        BlockType(spec("zeropadshortcut", "Zero-pad shortcut", HELP, "Option A shortcut: "
                       "subsample by stride and pad new channels with zeros (no parameters).",
                       int_param("out_channels", 32, 1, 65536, "Channels after padding."),
                       int_param("stride", 2, 1, 16, "Subsampling step."), **fm),
                  lambda p, s: Call(layers.ZeroPadShortcut, (_ch(s), p["out_channels"]),
                                    dict(stride=p["stride"])),
                  _zeropad_check, deps=lambda: (layers.ZeroPadShortcut,)),
        BlockType(spec("squeezeexcite", "Squeeze-Excitation", HELP, "Reweights channels by "
                       "globally pooled attention (Hu et al. 2018).",
                       int_param("reduction", 16, 1, 1024, "Channel reduction inside the gate."),
                       **fm),
                  lambda p, s: Call(layers.SqueezeExcitation,
                                    (_ch(s), max(1, _ch(s) // p["reduction"]))),
                  lambda p, s: _fmap(s, "Squeeze-Excitation"),
                  deps=lambda: (layers.SqueezeExcitation,)),
        BlockType(spec("slicechannels", "Channel slice", HELP, "Keeps `channels` consecutive "
                       "channels from `start` (one group of a Res2Net split).",
                       int_param("start", 0, 0, 65535, "First channel kept."),
                       int_param("channels", 1, 1, 65536, "Number of channels kept."), **fm),
                  _slice, _slice_check),
    ]


def _slice_channels(x, start, stop):
    return x[:, start:stop]


def _slice(p, s):
    start, stop = p["start"], p["start"] + p["channels"]
    return Functional(partial(_slice_channels, start=start, stop=stop),
                      lambda a: f"{a[0]}[:, {start}:{stop}]")


def _slice_check(p, s):
    problem = _fmap(s, "Channel slice")
    if problem:
        return problem
    if p["start"] + p["channels"] > _ch(s):
        return (f"channels {p['start']}…{p['start'] + p['channels'] - 1} do not exist in the "
                f"{_ch(s)}-channel input; lower start or channels.")
    return None


def _zeropad_check(p, s):
    problem = _fmap(s, "Zero-pad shortcut")
    if problem:
        return problem
    if p["out_channels"] < _ch(s):
        return (f"out_channels ({p['out_channels']}) is below the {_ch(s)} input channels; "
                "it can only add channels.")
    return None
