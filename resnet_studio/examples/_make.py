"""Writes the example projects of this package: ``python -m resnet_studio.examples._make``.

Each example is built here from the presets and the graph API (never edited by hand), so a
change to a block type, a recipe or the file format is carried into the examples by running
this again; ``--check`` only compares and exits 1 when a shipped file is out of date (the
tests do the same). It lives beside the files it writes and the list that describes them
(``__init__``), which is the one place an example is added.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..graph import Graph, InputSpec, collapse, project
from ..graph.layout import READING_ASPECT, auto_layout
from ..presets import create, families
from ..presets.base import Chain
from ..presets.catalogue import CIFAR
from ..presets.recipes import CONVNEXT, STARTER, Recipe
from ..train.recipe import (
    merge,
    preset_training,
    recipe_config,
    task_recipe,
    training_section,
)
from . import BY_NAME, SUFFIX


def _from_preset(preset: str) -> Callable[[], Graph]:
    """The preset as it comes, with the recipe ``resnet-studio new`` gives it."""
    def build() -> Graph:
        graph = create(preset)
        graph.training = preset_training(preset)
        return graph
    return build


def _with_recipe(graph: Graph, recipe: Recipe, **changes: object) -> Graph:
    """``graph`` laid out, training with ``recipe`` (``changes`` override its settings)."""
    auto_layout(graph, READING_ASPECT)
    graph.training = training_section(merge(recipe_config(recipe), changes, "example"), recipe)
    return graph


def _then(graph: Graph, previous: str, node_id: str, type_id: str, **params: object) -> str:
    """Add a node fed by ``previous``; its id, to chain the next one."""
    graph.add_node(type_id, params, node_id=node_id)
    graph.connect(previous, "out", node_id, "in")
    return node_id


def _conv(channels: int, stride: int = 1) -> dict[str, object]:
    return {"out_channels": channels, "kernel_size": 3, "stride": stride, "padding": 1,
            "bias": False}


def _insert(graph: Graph, after: str, node_id: str, type_id: str, **params: object) -> str:
    """Put a new node between ``after`` and the node it feeds."""
    (edge,) = graph.outgoing(after)
    graph.disconnect(edge)
    _then(graph, after, node_id, type_id, **params)
    graph.connect(node_id, "out", edge.dst, edge.dst_port)
    return node_id


def _draw_residual_unit(graph: Graph, previous: str) -> tuple[str, list[str]]:
    """conv-BN-ReLU-conv-BN, the sum with the input, ReLU, drawn after ``previous``: the last
    node and the nodes drawn."""
    last = previous
    for node_id, type_id, params in (("a_conv", "conv2d", _conv(16)), ("a_bn", "batchnorm2d", {}),
                                     ("a_relu", "relu", {}), ("b_conv", "conv2d", _conv(16)),
                                     ("b_bn", "batchnorm2d", {})):
        last = _then(graph, last, node_id, type_id, **params)
    _then(graph, last, "sum", "add")
    graph.connect(previous, "out", "sum", "in")  # the identity shortcut
    _then(graph, "sum", "out_relu", "relu")
    return "out_relu", ["a_conv", "a_bn", "a_relu", "b_conv", "b_bn", "sum", "out_relu"]


def custom_residual_block() -> Graph:
    """A stem, a residual unit drawn by hand and made a custom block (``channels`` sets both
    its convolutions), used twice at 16 channels, a strided convolution to 32, the unit twice
    more at 32, and the classifier."""
    chain = Chain(CIFAR)
    chain.add("conv1", "conv2d", **_conv(16))
    chain.add("bn1", "batchnorm2d")
    chain.add("relu", "relu")
    graph = chain.graph
    last, drawn = _draw_residual_unit(graph, "relu")
    for node_id, type_id, params in (("down_conv", "conv2d", _conv(32, stride=2)),
                                     ("down_bn", "batchnorm2d", {}), ("down_relu", "relu", {}),
                                     ("avgpool", "adaptiveavgpool2d", {"output_size": 1}),
                                     ("flatten", "flatten", {}),
                                     ("fc", "linear", {"out_features": "$classes"}),
                                     ("output", "output", {})):
        last = _then(graph, last, node_id, type_id, **params)
    definition, node_id = collapse(graph, drawn, "Residual unit", {
        "channels": [("a_conv", "out_channels"), ("b_conv", "out_channels")]})
    graph.rename_node(node_id, "unit1")
    unit = definition.type_id
    _insert(graph, "unit1", "unit2", unit, channels=16)
    _insert(graph, "down_relu", "unit3", unit, channels=32)
    _insert(graph, "unit3", "unit4", unit, channels=32)
    return _with_recipe(graph, STARTER)


def cifar_se_resnext() -> Graph:
    build = families.cifar_bottleneck("sebottleneck", 2, groups=8, width_per_group=16,
                                      reduction=16)
    return _with_recipe(build(CIFAR), STARTER)


def small_convnext() -> Graph:
    build = families.torchvision_convnext((2, 2, 2), (32, 64, 128), stochastic_depth=0.05)
    # 300 epochs with 20 of warm-up suit ImageNet, not a first run on the synthetic set
    return _with_recipe(build(CIFAR), CONVNEXT, epochs=30, warmup_epochs=2.0)


SHAPES = InputSpec(channels=3, height=64, width=64, classes=4)  # background + 3 shapes


def _resnet18_backbone() -> Graph:
    """ResNet-18 at the shapes' size without its classifier (global pooling, flatten, fc)."""
    graph = create("resnet18", SHAPES)
    for node_id in ("avgpool", "flatten", "fc"):
        graph.remove_node(node_id)
    return graph


def _dense(graph: Graph, head: str) -> Graph:
    """``head`` feeds the Output; laid out, with its task's recipe on the built-in shapes."""
    graph.connect(head, "out", "output", "in")
    recipe = task_recipe(graph)
    assert recipe is not None, head
    return _with_recipe(graph, recipe)


def shapes_detector() -> Graph:
    graph = _resnet18_backbone()
    graph.add_node("fpn", {}, node_id="fpn")
    for stage in ("layer2", "layer3", "layer4"):
        graph.connect(stage, "out", "fpn", "in")
    _then(graph, "fpn", "detector", "faster_rcnn")
    return _dense(graph, "detector")


def shapes_segmenter() -> Graph:
    """layer3 and layer4 keep stride 1, so the head sees 8×8 maps (output stride 8) rather
    than 2×2: torchvision's segmentation ResNets keep that resolution too (with dilation,
    which Stage lacks). The weights are ResNet-18's all the same."""
    graph = _resnet18_backbone()
    for stage in ("layer3", "layer4"):
        graph.set_params(stage, {"stride": 1})
    _then(graph, "layer4", "segmenter", "fcn_head")
    return _dense(graph, "segmenter")


BUILDERS: dict[str, Callable[[], Graph]] = {
    "mnist_small_resnet": _from_preset("mnist_small_resnet"),
    "mnist_plain_cnn": _from_preset("mnist_plain_cnn"),
    "cifar_resnet20": _from_preset("resnet20"),
    "custom_residual_block": custom_residual_block,
    "cifar_se_resnext": cifar_se_resnext,
    "small_convnext": small_convnext,
    "shapes_detector": shapes_detector,
    "shapes_segmenter": shapes_segmenter,
}


def build(name: str) -> Graph:
    """The example ``name`` as a graph, named after the example."""
    graph = BUILDERS[name]()
    graph.name = name
    return graph


def text(name: str) -> str:
    """The file contents of example ``name``."""
    return project.dumps(build(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resnet_studio.examples._make",
                                     description="Write (or --check) the example projects.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a shipped file differs")
    args = parser.parse_args(argv)
    if set(BUILDERS) != set(BY_NAME):
        raise SystemExit("examples/__init__.py and _make.py list different examples")
    stale = []
    for name in BY_NAME:
        path = Path(__file__).with_name(name + SUFFIX)
        wanted = text(name)
        if path.is_file() and path.read_text(encoding="utf-8") == wanted:
            continue
        stale.append(path.name)
        if not args.check:
            project.save(build(name), path)
    verb = "out of date" if args.check else "written"
    print(f"{len(stale)} of {len(BY_NAME)} examples {verb}: {', '.join(stale) or '-'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
