"""Residual blocks spelled out as sub-graphs of primitive blocks.

``expand`` on a residual node replaces it by exactly the layers its module holds, so a user
can open a block up, see every tensor it computes, and edit it. Inner node ids mirror the
module paths (``downsample.0`` becomes ``downsample_0``), so weights map one to one between
a block and its expansion. The main branch runs top to bottom; the shortcut path runs in a
column to its right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..graph import Subgraph, SubNode

Shape = tuple[int, ...]
IN = None  # stands for the block's own input in a list of sources
NO_SKIP = "<no skip>"  # the plain twin: no skip path at all (never a node id)
ROW, COLUMN = 90.0, 220.0


class Layout:
    """Collects the nodes and edges of a Subgraph and places them on a grid.

    Column 0 holds the main branch, column 1 the shortcut path. A node with several sources
    (a merge) goes below everything placed so far in column 0.
    """

    def __init__(self) -> None:
        self.nodes: list[SubNode] = []
        self.edges: list[tuple[str, str, str, str]] = []
        self.feeds: list[tuple[str, str]] = []
        self._next_row = [0, 1]

    def add(self, node_id: str, type_id: str, params: dict[str, Any] | None,
            *sources: str | None, column: int = 0, ports: Sequence[str] = ()) -> str:
        """Add a node fed by ``sources`` (node ids, or IN) on ``ports`` (default all "in")."""
        if len(sources) > 1:
            row = max(self._next_row)
            column = 0
        else:
            row = self._next_row[column]
        self._next_row[column] = row + 1
        self.nodes.append(SubNode(node_id, type_id, dict(params or {}),
                                  (column * COLUMN, row * ROW)))
        for source, port in zip(sources, ports or ["in"] * len(sources)):
            if source is IN:
                self.feeds.append((node_id, port))
            else:
                self.edges.append((source, "out", node_id, port))
        return node_id

    def subgraph(self, output: str) -> Subgraph:
        return Subgraph(self.nodes, self.edges, {"in": self.feeds}, (output, "out"))


def conv(out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1,
         bias: bool = False) -> dict[str, Any]:
    return {"out_channels": out_channels, "kernel_size": kernel_size, "stride": stride,
                "padding": kernel_size // 2, "groups": groups, "bias": bias}


def downsample(lay: Layout, cin: int, cout: int, stride: int, shortcut: str) -> str | None:
    """The nodes of ``make_downsample``; returns the node carrying the shortcut (IN = x)."""
    if stride == 1 and cin == cout:
        return IN
    if shortcut == "A":
        return lay.add("downsample", "zeropadshortcut", {"out_channels": cout, "stride": stride},
                       IN, column=1)
    steps: list[tuple[int, str, dict[str, Any]]] = []
    if shortcut == "D":
        if stride > 1:
            steps.append((0, "avgpool2d", {"kernel_size": stride, "stride": stride, "padding": 0,
                                           "ceil_mode": True, "count_include_pad": False}))
        # Index 1 and 2 whether or not the pool is there (make_downsample keeps an Identity).
        steps += [(1, "conv2d", conv(cout, 1)), (2, "batchnorm2d", {})]
    else:
        steps += [(0, "conv2d", conv(cout, 1, stride)), (1, "batchnorm2d", {})]
    source = IN
    for index, type_id, params in steps:
        source = lay.add(f"downsample_{index}", type_id, params, source, column=1)
    return source


def basic_branch(lay: Layout, planes: int, stride: int) -> str:
    """conv3x3(stride) → BN → ReLU → conv3x3 → BN, the branch F shared by several blocks."""
    lay.add("conv1", "conv2d", conv(planes, 3, stride), IN)
    lay.add("bn1", "batchnorm2d", {}, "conv1")
    lay.add("relu", "relu", {}, "bn1")
    lay.add("conv2", "conv2d", conv(planes, 3), "relu")
    return lay.add("bn2", "batchnorm2d", {}, "conv2")


def _finish_post_activation(lay: Layout, branch: str, skip: str | None) -> Subgraph:
    """Add the branch and the skip (when there is one), then the final ReLU."""
    out = lay.add("add", "add", {}, branch, skip) if skip != NO_SKIP else branch
    return lay.subgraph(lay.add("relu_out", "relu", {}, out))


def _skip(lay: Layout, cin: int, cout: int, stride: int, shortcut: str) -> str | None:
    return NO_SKIP if shortcut == "none" else downsample(lay, cin, cout, stride, shortcut)


def expand_basic(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    branch = basic_branch(lay, p["planes"], p["stride"])
    skip = _skip(lay, shapes[0][0], p["planes"], p["stride"], p["shortcut"])
    return _finish_post_activation(lay, branch, skip)


def expand_bottleneck(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    branch = _bottleneck_branch(lay, p)
    skip = _skip(lay, shapes[0][0], p["planes"] * p["expansion"], p["stride"], p["shortcut"])
    return _finish_post_activation(lay, branch, skip)


def expand_preact(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    cin, planes, stride = shapes[0][0], p["planes"], p["stride"]
    lay = Layout()
    lay.add("bn1", "batchnorm2d", {}, IN)
    lay.add("relu", "relu", {}, "bn1")
    source = lay.add("conv1", "conv2d", conv(planes, 3, stride), "relu")
    if p["dropout"] > 0:
        source = lay.add("dropout", "dropout", {"p": p["dropout"]}, source)
    lay.add("bn2", "batchnorm2d", {}, source)
    lay.add("relu2", "relu", {}, "bn2")
    branch = lay.add("conv2", "conv2d", conv(planes, 3), "relu2")
    if p["shortcut"] == "none":
        return lay.subgraph(branch)
    skip = IN
    if stride != 1 or cin != planes:
        skip = lay.add("shortcut", "conv2d", conv(planes, 1, stride), "relu", column=1)
    return lay.subgraph(lay.add("add", "add", {}, branch, skip))


def expand_se(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    basic_branch(lay, p["planes"], p["stride"])
    branch = lay.add("se", "squeezeexcite", {"reduction": p["reduction"]}, "bn2")
    skip = _skip(lay, shapes[0][0], p["planes"], p["stride"], p["shortcut"])
    return _finish_post_activation(lay, branch, skip)


def expand_scaled(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    branch = basic_branch(lay, p["planes"], p["stride"])
    skip = _skip(lay, shapes[0][0], p["planes"], p["stride"], p["shortcut"])
    if skip != NO_SKIP:
        skip = lay.add("scale", "scale", {"init": p["init"]}, skip, column=1)
    return _finish_post_activation(lay, branch, skip)


def expand_resnorm(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    branch = basic_branch(lay, p["planes"], p["stride"])
    skip = _skip(lay, shapes[0][0], p["planes"], p["stride"], p["shortcut"])
    if skip != NO_SKIP:
        lay.add("subtract", "subtract", {}, branch, skip, ports=("a", "b"))
        skip = lay.add("res_norm", "batchnorm2d", {}, "subtract")
    return _finish_post_activation(lay, branch, skip)


def expand_fusion(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    branch = basic_branch(lay, p["planes"], p["stride"])
    skip = _skip(lay, shapes[0][0], p["planes"], p["stride"], p["shortcut"])
    if skip != NO_SKIP:
        lay.add("concat", "concat", {}, branch, skip)
        skip = lay.add("fuse", "conv2d", conv(p["planes"], 1), "concat")
    return _finish_post_activation(lay, branch, skip)


def expand_convnext(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    channels, k = shapes[0][0], p["kernel_size"]
    lay = Layout()
    lay.add("dwconv", "conv2d", conv(channels, k, groups=channels, bias=True), IN)
    lay.add("norm", "layernorm2d", {"eps": 1e-6}, "dwconv")
    lay.add("pwconv1", "conv2d", conv(p["expansion"] * channels, 1, bias=True), "norm")
    lay.add("act", "gelu", {}, "pwconv1")
    branch = lay.add("pwconv2", "conv2d", conv(channels, 1, bias=True), "act")
    if p["layer_scale"] > 0:
        branch = lay.add("layer_scale", "layerscale", {"init": p["layer_scale"]}, branch)
    if p["drop_path"] > 0:
        branch = lay.add("drop_path", "droppath", {"p": p["drop_path"]}, branch)
    if p["shortcut"] == "none":
        return lay.subgraph(branch)
    return lay.subgraph(lay.add("add", "add", {}, branch, IN))


def expand_simple(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    channels, k = shapes[0][0], p["kernel_size"]
    lay = Layout()
    lay.add("conv1", "conv2d", conv(channels, k, bias=True), IN)
    lay.add("relu", "relu", {}, "conv1")
    branch = lay.add("conv2", "conv2d", conv(channels, k, bias=True), "relu")
    skip = IN if p["shortcut"] != "none" else NO_SKIP
    return _finish_post_activation(lay, branch, skip)


def _bottleneck_branch(lay: Layout, p: dict[str, Any]) -> str:
    """conv1 → bn1 → relu → conv2 → bn2 → relu2 → conv3 → bn3 of a Bottleneck."""
    width = int(p["planes"] * (p["width_per_group"] / 64.0)) * p["groups"]
    lay.add("conv1", "conv2d", conv(width, 1), IN)
    lay.add("bn1", "batchnorm2d", {}, "conv1")
    lay.add("relu", "relu", {}, "bn1")
    lay.add("conv2", "conv2d", conv(width, 3, p["stride"], p["groups"]), "relu")
    lay.add("bn2", "batchnorm2d", {}, "conv2")
    lay.add("relu2", "relu", {}, "bn2")
    lay.add("conv3", "conv2d", conv(p["planes"] * p["expansion"], 1), "relu2")
    return lay.add("bn3", "batchnorm2d", {}, "conv3")


def expand_se_bottleneck(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    lay = Layout()
    _bottleneck_branch(lay, p)
    branch = lay.add("se", "squeezeexcite", {"reduction": p["reduction"]}, "bn3")
    skip = _skip(lay, shapes[0][0], p["planes"] * p["expansion"], p["stride"], p["shortcut"])
    return _finish_post_activation(lay, branch, skip)


def expand_res2net(p: dict[str, Any], shapes: Sequence[Shape]) -> Subgraph:
    """Bottle2neck: conv1 → bn1 → relu, ``scale`` channel slices, the 3×3 of each group but the
    last (fed by its slice plus the previous group's output, except in a stage's first block),
    the last slice (pooled in a first block), concat, conv3 → bn3, shortcut."""
    cin, stride, scale = shapes[0][0], p["stride"], p["scale"]
    width = int(p["planes"] * (p["width_per_group"] / 64.0)) * p["groups"]
    out = p["planes"] * p["expansion"]
    first = stride > 1 or cin != out
    lay = Layout()
    lay.add("conv1", "conv2d", conv(width * scale, 1), IN)
    lay.add("bn1", "batchnorm2d", {}, "conv1")
    split = lay.add("relu", "relu", {}, "bn1")
    groups: list[str] = []
    for i in range(max(1, scale - 1)):
        source = lay.add(f"split_{i}", "slicechannels", {"start": i * width, "channels": width},
                         split) if scale > 1 else split
        if i > 0 and not first:
            source = lay.add(f"sum_{i}", "add", {}, groups[-1], source)
        lay.add(f"convs_{i}", "conv2d", conv(width, 3, stride, p["groups"]), source)
        lay.add(f"bns_{i}", "batchnorm2d", {}, f"convs_{i}")
        groups.append(lay.add(f"relu_{i}", "relu", {}, f"bns_{i}"))
    if scale > 1:
        last = lay.add(f"split_{scale - 1}", "slicechannels",
                       {"start": (scale - 1) * width, "channels": width}, split)
        if first:
            last = lay.add("pool", "avgpool2d", {"kernel_size": 3, "stride": stride,
                                                 "padding": 1}, last)
        lay.add("cat", "concat", {}, *groups, last)
    lay.add("conv3", "conv2d", conv(out, 1), "cat" if scale > 1 else groups[0])
    branch = lay.add("bn3", "batchnorm2d", {}, "conv3")
    skip = _skip(lay, cin, out, stride, p["shortcut"])
    return _finish_post_activation(lay, branch, skip)
