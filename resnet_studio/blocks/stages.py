"""The stage: a chain of residual blocks of one type, as torchvision's ``layer1`` … ``layer4``.

A stage holds no class of its own: it is ``nn.Sequential(Block(...), Block(...), ...)``, so
its ``state_dict`` keys read ``layer1.0.conv1.weight`` exactly like torchvision's. The first
block takes the stride and changes the width; the others keep both. A stage's parameters are
the union of its blocks' parameters; each block receives only the ones its type declares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..graph import GraphError, Subgraph, SubNode
from ..lazy import LazyModule
from .base import BlockType, Call, Shape, shape_text
from .specs import FMAP, choice_param, int_param, ports, spec

nn = LazyModule("torch.nn")

STAGES = "Stages"
STAGE_SHORTCUTS = ("auto", "A", "D", "identity", "none")
ROW = 90.0
Params = dict[str, Any]


def shortcut_for(value: str, choices: Sequence[str]) -> str | None:
    """The stage's shortcut choice as a block type offers it; None if it offers nothing like it.

    "auto" (identity where possible) and "identity" mean the same to a block that keeps its
    shape, so each stands in for the other.
    """
    if value in choices:
        return value
    stand_in = {"auto": "identity", "identity": "auto"}.get(value)
    return stand_in if stand_in in choices else None


def block_params(block: BlockType, p: Params, index: int) -> Params:
    """The validated parameters of block ``index``: those its type declares, from the stage's.

    Raises ParameterError naming the block when a value does not suit this block type.
    """
    values: Params = {}
    for param in block.spec.params:
        value = p[param.name]
        if param.name == "stride" and index > 0:
            value = 1
        elif param.name == "shortcut":
            value = shortcut_for(value, param.choices) or value
        elif param.name == "kernel_size" and value == "auto":
            value = param.default
        values[param.name] = value
    return block.spec.validate_params(values, f"block {index} ({block.spec.title})")


def block_out_shape(params: Params, shape: Shape) -> Shape:
    """The shape a block gives: planes (× expansion for the bottleneck kinds, the blocks that
    declare both) channels, subsampled by its stride; blocks without planes keep the shape."""
    channels = shape[0]
    if "planes" in params:
        channels = params["planes"] * params.get("expansion", 1)
    stride = params.get("stride", 1)
    return (channels, (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1)


def stage_plan(blocks: Mapping[str, BlockType], p: Params,
               shape: Shape) -> list[tuple[Params, Shape]]:
    """Each block's parameters and input shape, in order."""
    block = blocks[p["block"]]
    plan = []
    for index in range(p["blocks"]):
        params = block_params(block, p, index)
        plan.append((params, shape))
        shape = block_out_shape(params, shape)
    return plan


# ----- diagnostics -------------------------------------------------------------------------------
def _shape_keeping_problem(block: BlockType, p: Params, cin: int) -> str | None:
    if block.spec.param("planes") is not None:
        return None
    if p["planes"] != cin or p["stride"] != 1:
        return (f"{block.spec.title} blocks (‘{block.type_id}’) keep the channel count and size, "
                f"so planes must equal the {cin} input channels (it is {p['planes']}) and stride "
                f"must be 1 (it is {p['stride']}); change channels or size with a layer before "
                "the stage.")
    return None


def _shortcut_problem(block: BlockType, p: Params) -> str | None:
    choices = block.spec.param("shortcut").choices
    if shortcut_for(p["shortcut"], choices) is None:
        return (f"shortcut ‘{p['shortcut']}’ is not available for {block.spec.title} blocks "
                f"(‘{block.type_id}’ offers {', '.join(choices)}).")
    return None


def _block_problems(block: BlockType, p: Params, shape: Shape) -> str | None:
    # The blocks after the second repeat its parameters and shape, so two checks cover all.
    for index in range(min(p["blocks"], 2)):
        try:
            params = block_params(block, p, index)
        except GraphError as exc:
            return str(exc)
        problem = block.check(params, [shape]) if block.check else None
        if problem:
            return f"block {index} ({block.spec.title}): {problem}"
        shape = block_out_shape(params, shape)
    return None


def _check_factory(blocks: Mapping[str, BlockType]):
    def check(p: Params, shapes: Sequence[Shape]) -> str | None:
        if len(shapes[0]) != 3:
            return (f"a stage needs a feature map (C×H×W) but receives {shape_text(shapes[0])}; "
                    "move it before Flatten / global pooling.")
        block = blocks[p["block"]]
        return (_shape_keeping_problem(block, p, shapes[0][0]) or _shortcut_problem(block, p)
                or _block_problems(block, p, shapes[0]))
    return check


# ----- module and expansion ----------------------------------------------------------------------
def _make_factory(blocks: Mapping[str, BlockType]):
    def make(p: Params, shapes: Sequence[Shape]) -> Call:
        block = blocks[p["block"]]
        calls = tuple(block.make(params, [shape]) for params, shape
                      in stage_plan(blocks, p, shapes[0]))
        return Call(nn.Sequential, calls)
    return make


def _expand_factory(blocks: Mapping[str, BlockType]):
    def expand(p: Params, shapes: Sequence[Shape]) -> Subgraph:
        plan = stage_plan(blocks, p, shapes[0])
        nodes = [SubNode(str(i), p["block"], params, (0.0, i * ROW))
                 for i, (params, _) in enumerate(plan)]
        edges = [(str(i - 1), "out", str(i), "in") for i in range(1, len(plan))]
        return Subgraph(nodes, edges, {"in": [("0", "in")]}, (str(len(plan) - 1), "out"))
    return expand


def stage_type(blocks: Mapping[str, BlockType],
               source_deps: Callable[[], tuple[Any, ...]]) -> BlockType:
    """The stage block type over the residual ``blocks`` (type id → BlockType);
    ``source_deps`` gives every class a stage of any of them may need."""
    first = next(iter(blocks.values()))
    declared: dict[str, Any] = {}
    for block in blocks.values():  # the first declaration (and its default) wins
        for param in block.spec.params:
            declared.setdefault(param.name, param)
    passed = [declared[name] for name in ("groups", "width_per_group", "expansion", "scale",
                                          "dropout", "reduction", "init", "layer_scale",
                                          "drop_path")]
    stage_spec = spec(
        "stage", "Stage", STAGES, "A chain of residual blocks of one type (torchvision's "
        "layer1 … layer4); the first block takes the stride and the new width.",
        choice_param("block", first.type_id, tuple(blocks), "The residual block type."),
        int_param("blocks", 2, 1, 128, "Number of blocks in the stage."),
        declared["planes"],
        int_param("stride", 1, 1, 16, "Stride of the first block; the others use 1."),
        *passed[:4],
        choice_param("shortcut", "auto", STAGE_SHORTCUTS, "The skip path of every block "
                     "(see the block types); ‘auto’ and ‘identity’ stand in for each other."),
        *passed[4:7],
        int_param("kernel_size", "auto", 1, 15, "Kernel size for ConvNeXt and simple residual "
                  "blocks; auto uses the block's own default.", extra=("auto",)),
        *passed[7:],
        inputs=ports("in", kind=FMAP), outputs=ports("out", kind=FMAP), composite=True,
        key=("block", "blocks", "planes", "stride"))
    return BlockType(stage_spec, _make_factory(blocks), _check_factory(blocks),
                     _expand_factory(blocks), source_deps)
