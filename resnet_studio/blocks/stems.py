"""Stem blocks: the short sequences of layers that later ResNets put before the first stage.

Each is one ``nn.Sequential`` (so its ``state_dict`` keys read ``conv1.0.weight``,
``conv1.1.running_mean`` exactly like timm's) and expands into the primitives it holds, with
inner ids ``0``, ``1``, … mirroring the module indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..graph import Subgraph, SubNode
from ..lazy import LazyModule
from .base import BlockType, Call, Catalogue, Shape, shape_text
from .specs import FMAP, int_param, ports, spec

nn = LazyModule("torch.nn")
STEMS = "Stems"
ROW = 90.0
Params = dict[str, Any]
Layer = tuple[str, dict[str, Any]]  # (type id, parameters) of one primitive


def _conv(out_channels: int, stride: int = 1, kernel_size: int = 3) -> Layer:
    return ("conv2d", {"out_channels": out_channels, "kernel_size": kernel_size,
                       "stride": stride, "padding": kernel_size // 2, "bias": False})


def deep_stem_layers(p: Params) -> list[Layer]:
    """Three 3×3 convolutions (the first strided) with BN + ReLU between them; the last
    convolution's norm and activation follow the block, as in timm's ``conv1`` + ``bn1``."""
    return [_conv(p["first"], p["stride"]), ("batchnorm2d", {}), ("relu", {}),
            _conv(p["second"]), ("batchnorm2d", {}), ("relu", {}),
            _conv(p["out_channels"])]


def conv_bn_relu_layers(p: Params) -> list[Layer]:
    return [_conv(p["out_channels"], p["stride"], p["kernel_size"]), ("batchnorm2d", {}),
            ("relu", {})]


def _call(type_id: str, params: dict[str, Any], channels: int) -> tuple[Call, int]:
    """The module of one primitive layer and the channels it gives."""
    if type_id == "conv2d":
        kwargs = {k: params[k] for k in ("kernel_size", "stride", "padding", "bias")}
        return Call(nn.Conv2d, (channels, params["out_channels"]), kwargs), params["out_channels"]
    if type_id == "batchnorm2d":
        return Call(nn.BatchNorm2d, (channels,)), channels
    return Call(nn.ReLU, (), {"inplace": True}), channels


def _make_factory(layers):
    def make(p: Params, shapes: Sequence[Shape]) -> Call:
        calls, channels = [], shapes[0][0]
        for type_id, params in layers(p):
            call, channels = _call(type_id, params, channels)
            calls.append(call)
        return Call(nn.Sequential, tuple(calls))
    return make


def _expand_factory(layers):
    def expand(p: Params, shapes: Sequence[Shape]) -> Subgraph:
        nodes = [SubNode(str(i), type_id, params, (0.0, i * ROW))
                 for i, (type_id, params) in enumerate(layers(p))]
        edges = [(str(i - 1), "out", str(i), "in") for i in range(1, len(nodes))]
        return Subgraph(nodes, edges, {"in": [("0", "in")]}, (str(len(nodes) - 1), "out"))
    return expand


def _check(p: Params, shapes: Sequence[Shape]) -> str | None:
    if len(shapes[0]) != 3:
        return (f"a stem needs a feature map (C×H×W) but receives {shape_text(shapes[0])}; "
                "put it right after the Input.")
    if min(shapes[0][1:]) + 2 * (p.get("kernel_size", 3) // 2) < p.get("kernel_size", 3):
        return f"the {shape_text(shapes[0][1:])} input is smaller than the kernel."
    return None


def stem_types() -> list[BlockType]:
    io = {"inputs": ports("in", kind=FMAP), "outputs": ports("out", kind=FMAP)}
    stride = int_param("stride", 2, 1, 16, "Stride of the first convolution.")
    deep = spec(
        "deepstem", "Deep stem", STEMS, "Three 3×3 convolutions in place of the 7×7 one "
        "(ResNet-C/D of He et al. 2019, “Bag of Tricks”, arXiv:1812.01187); BN and ReLU "
        "between them, the last convolution's norm follows the block.",
        int_param("first", 32, 1, 65536, "Channels of the first convolution."),
        int_param("second", 32, 1, 65536, "Channels of the second convolution."),
        int_param("out_channels", 64, 1, 65536, "Channels of the third convolution."),
        stride, composite=True, key=("out_channels", "stride"), **io)
    conv_bn_relu = spec(
        "convbnrelu", "Conv-BN-ReLU", STEMS, "A bias-free convolution, BatchNorm and ReLU as "
        "one unit (ResNet-RS's strided convolution in place of the stem's max pool).",
        int_param("out_channels", 64, 1, 65536, "Output channels."),
        int_param("kernel_size", 3, 1, 15, "Kernel height and width (padding keeps the size)."),
        stride, composite=True, key=("out_channels", "stride"), **io)
    return [BlockType(deep, _make_factory(deep_stem_layers), _check,
                      _expand_factory(deep_stem_layers)),
            BlockType(conv_bn_relu, _make_factory(conv_bn_relu_layers), _check,
                      _expand_factory(conv_bn_relu_layers))]


def register_stems(catalogue: Catalogue) -> None:
    for block in stem_types():
        catalogue.register(block)
