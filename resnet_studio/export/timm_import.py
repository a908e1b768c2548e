"""timm's ResNet family as editable projects.

``import_timm`` builds the timm model on PyTorch's ``meta`` device (no memory, no weights) and
reads its structure off the modules, as ``torchvision_import`` does for torchvision: the stem
(7×7, or the deep 3×3 stem of ResNet-C/D/T), the stem pool (max pool, or ResNet-RS's strided
convolution), each stage's block type (BasicBlock, Bottleneck, Res2Net's Bottle2neck, with or
without squeeze-and-excitation), widths, groups, shortcuts (projection or ResNet-D's
average-pool) and the classifier. Node ids are timm's module names, so a timm checkpoint loads
into the imported project key for key. Whatever a catalogue block would build differently
(other attention modules, anti-aliasing, group norm, dilation …) is refused by name.

timm is an optional dependency: ``pip install 'resnet-studio[timm]'``.
"""

from __future__ import annotations

import difflib
from typing import Any

import torch
from torch import nn

from ..blocks import CATALOGUE
from ..graph import Graph
from ..presets.base import Chain
from .errors import ModelImportError, require
from .resnet_reading import assemble_resnet, conv_params, expect, norm_params, single

TIMM_MODULES = ("resnet", "res2net")  # timm's model modules built on its ResNet class


def _timm():
    return require("timm", "timm", "Importing from timm", ModelImportError)


def timm_family() -> list[str]:
    """Every model timm builds with its ResNet class (not all of them can be imported: the
    ones with other attention or anti-aliasing layers are refused when imported)."""
    timm = _timm()
    return sorted({n for module in TIMM_MODULES for n in timm.list_models(module=module)})


def import_timm(name: str, classes: int | None = None,
                input_size: int | tuple[int, int] | None = None) -> Graph:
    """The timm model ``name`` (e.g. ``resnet50d``) as a project; ``classes`` defaults to the
    model's (1000), ``input_size`` to 224. Raises ModelImportError for an unknown name, a
    model outside the ResNet family or one whose layers the catalogue cannot express."""
    model = _meta_model(name)
    return assemble_resnet(model, name, _stem_in_channels(model), classes, input_size,
                           (_stem, _stage, _classifier))


def _meta_model(name: str) -> nn.Module:
    timm = _timm()
    family = timm_family()
    if name not in family:
        if name in timm.list_models():
            raise ModelImportError(f"timm's ‘{name}’ is not a ResNet-family model; these can "
                                   f"be tried: {', '.join(family)}.")
        close = difflib.get_close_matches(name, family, n=1)
        hint = f" Did you mean ‘{close[0]}’?" if close else ""
        raise ModelImportError(f"timm has no model ‘{name}’.{hint} ResNet-family models: "
                               f"{', '.join(family)}.")
    from timm.models.resnet import ResNet

    with torch.device("meta"):  # structure only: nothing is allocated or initialised
        model = timm.create_model(name, pretrained=False)
    expect(isinstance(model, ResNet), name, f"is a {type(model).__name__}, not timm's ResNet")
    return model


def _stem_in_channels(model: nn.Module) -> int:
    conv = model.conv1[0] if isinstance(model.conv1, nn.Sequential) else model.conv1
    return conv.in_channels


# ----- stem -----------------------------------------------------------------------------------
def _stem(chain: Chain, model: nn.Module, name: str) -> None:
    if isinstance(model.conv1, nn.Sequential):
        chain.add("conv1", "deepstem", **_deep_stem(model.conv1, f"{name}.conv1"))
    else:
        chain.add("conv1", "conv2d", **conv_params(model.conv1, f"{name}.conv1"))
    chain.add("bn1", "batchnorm2d", **norm_params(model.bn1, f"{name}.bn1"))
    expect(type(model.act1) is nn.ReLU, f"{name}.act1", "is not a ReLU")
    chain.add("act1", "relu")
    pool, where = model.maxpool, f"{name}.maxpool"
    if isinstance(pool, nn.MaxPool2d):
        expect(single(pool.dilation) == 1, where, "uses dilation")
        chain.add("maxpool", "maxpool2d", kernel_size=single(pool.kernel_size),
                  stride=single(pool.stride), padding=single(pool.padding),
                  ceil_mode=bool(pool.ceil_mode))
    else:
        parts = ", ".join(type(m).__name__ for m in pool.children()) or type(pool).__name__
        expect(isinstance(pool, nn.Sequential) and [type(m) for m in pool] ==
                [nn.Conv2d, nn.BatchNorm2d, nn.ReLU], where, f"holds {parts}, neither a "
                "MaxPool2d nor ResNet-RS's Conv2d → BatchNorm2d → ReLU (anti-aliased "
                "pooling is not in the catalogue)")
        conv = pool
        params = conv_params(conv[0], f"{where}.0")
        expect(params["padding"] == params["kernel_size"] // 2 and not params["bias"]
                and params["groups"] == 1, f"{where}.0", "is not a bias-free, same-padded "
                "convolution")
        norm_params(conv[1], f"{where}.1")
        chain.add("maxpool", "convbnrelu", out_channels=params["out_channels"],
                  kernel_size=params["kernel_size"], stride=params["stride"])


def _sequence(module: nn.Module, kinds: tuple[type, ...], where: str) -> nn.Sequential:
    ok = (isinstance(module, nn.Sequential) and len(module) == len(kinds)
          and all(type(m) is k for m, k in zip(module, kinds)))
    expect(ok, where, "is not " + " → ".join(k.__name__ for k in kinds))
    return module


def _deep_stem(stem: nn.Sequential, where: str) -> dict[str, Any]:
    kinds = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU) * 2 + (nn.Conv2d,)
    _sequence(stem, kinds, where)
    convs = [conv_params(stem[i], f"{where}.{i}") for i in (0, 3, 6)]
    for i, conv in zip((0, 3, 6), convs):
        expect(conv["kernel_size"] == 3 and conv["padding"] == 1 and not conv["bias"]
                and conv["groups"] == 1, f"{where}.{i}", "is not a bias-free 3×3 convolution")
    expect(convs[1]["stride"] == convs[2]["stride"] == 1, where, "is strided after its "
            "first convolution")
    for i in (1, 4):
        norm_params(stem[i], f"{where}.{i}")
    return {"first": convs[0]["out_channels"], "second": convs[1]["out_channels"],
            "out_channels": convs[2]["out_channels"], "stride": convs[0]["stride"]}


# ----- stages ---------------------------------------------------------------------------------
def _stage(chain: Chain, node_id: str, layer: nn.Sequential, name: str) -> None:
    where = f"{name}.{node_id}"
    kinds = {type(block).__name__ for block in layer}
    expect(len(kinds) == 1 and kinds <= {"BasicBlock", "Bottleneck", "Bottle2neck"}, where,
            f"holds {', '.join(sorted(kinds))}; only timm's BasicBlock, Bottleneck and "
            "Bottle2neck stages can be imported")
    first = layer[0]
    params = _block_params(first, f"{where}.0")
    for i, block in enumerate(layer):
        _check_block(block, f"{where}.{i}")
    params["blocks"] = len(layer)
    _check_shapes(params, layer, where)
    chain.add(node_id, "stage", **params)


def _block_params(block: nn.Module, where: str) -> dict[str, Any]:
    """The stage parameters that make ``block`` (its stage's first block)."""
    kind = type(block).__name__
    se = _se_reduction(block, where)
    if kind == "BasicBlock":
        planes, width, groups = block.conv2.out_channels, None, 1
        params = {"block": "sebasicblock" if se else "basicblock"}
    else:
        planes = block.conv3.out_channels // block.expansion
        conv = block.convs[0] if kind == "Bottle2neck" else block.conv2
        groups = conv.groups
        width = block.width if kind == "Bottle2neck" else conv.out_channels
        params = {"block": "res2net" if kind == "Bottle2neck" else
                  ("sebottleneck" if se else "bottleneck"), "expansion": block.expansion}
        params["width_per_group"] = width * 64 // (groups * planes)
        expect(int(planes * (params["width_per_group"] / 64.0)) * groups == width, where,
                f"has a 3×3 width of {width} that no width per group gives for {planes} planes")
        expect(kind != "Bottle2neck" or not se, where, "combines Res2Net with "
                "squeeze-and-excitation, which the Res2Net block does not offer")
    if kind == "Bottle2neck":
        params["scale"] = block.scale
    if se:
        params["reduction"] = se
    params.update(planes=planes, stride=_stride(block), groups=groups,
                  shortcut=_shortcut(block.downsample, f"{where}.downsample"))
    return params


def _stride(block: nn.Module) -> int:
    kind = type(block).__name__
    conv = {"BasicBlock": "conv1", "Bottleneck": "conv2"}.get(kind)
    return single((getattr(block, conv) if conv else block.convs[0]).stride)


def _se_reduction(block: nn.Module, where: str) -> int | None:
    """The reduction of timm's SEModule on ``block`` (channels // reduction = its width), or
    None without one; any other attention module is refused by name."""
    se = getattr(block, "se", None)
    if se is None:
        return None
    # timm's own Sigmoid computes what nn.Sigmoid does; the class names tell both apart
    # from hard-sigmoid or other gates.
    expect(type(se).__name__ == "SEModule" and isinstance(se.bn, nn.Identity)
            and type(se.act).__name__ == "ReLU" and type(se.gate).__name__ == "Sigmoid"
            and not getattr(se, "add_maxpool", False), f"{where}.se",
            f"is a {type(se).__name__}; only timm's plain SEModule (ReLU, sigmoid gate) "
            "matches the catalogue's squeeze-and-excitation")
    channels, squeezed = se.fc1.in_channels, se.fc1.out_channels
    reduction = channels // squeezed
    expect(max(1, channels // reduction) == squeezed, f"{where}.se",
            f"squeezes {channels} channels to {squeezed}, which no integer reduction gives")
    return reduction


def _shortcut(down: nn.Module | None, where: str) -> str:
    if down is None:
        return "auto"
    expect(isinstance(down, nn.Sequential), where, "is not a Sequential")
    if len(down) == 3:
        pool = down[0]
        ok = isinstance(pool, nn.Identity) or (
            type(pool) is nn.AvgPool2d and single(pool.kernel_size) == single(pool.stride)
            and pool.ceil_mode and not pool.count_include_pad)
        expect(ok, f"{where}.0", "is not ResNet-D's 2×2 average pool")
        expect(single(down[1].stride) == 1 and single(down[1].kernel_size) == 1,
                f"{where}.1", "is not an unstrided 1×1 convolution")
        return "D"
    expect(len(down) == 2 and isinstance(down[0], nn.Conv2d)
            and single(down[0].kernel_size) == 1, where,
            "is not a 1×1 convolution and BatchNorm (a 3×3 projection, as in SENet-154, "
            "cannot be imported)")
    return "auto"


def _check_block(block: nn.Module, where: str) -> None:
    """Layers a catalogue block would build differently are refused by name."""
    for name, module in block.named_children():
        at = f"{where}.{name}"
        if isinstance(module, nn.Conv2d):
            conv_params(module, at)
            expect(module.bias is None, at, "has a bias")
        elif isinstance(module, nn.ModuleList):
            for i, inner in enumerate(module):
                _check_child(inner, f"{at}.{i}")
        elif name in ("aa", "drop_block") or module.__class__.__name__ in ("BlurPool2d",):
            expect(isinstance(module, nn.Identity), at, f"is a {type(module).__name__} "
                    "(anti-aliasing or DropBlock), which the catalogue's blocks do not have")
        elif isinstance(module, nn.BatchNorm2d) or name.startswith("bn"):
            norm_params(module, at)
        elif name.startswith("act") or name == "relu":
            expect(type(module) is nn.ReLU, at, f"is a {type(module).__name__}, not a ReLU")
    expect(getattr(block, "drop_path", None) is None, where, "uses stochastic depth")


def _check_child(module: nn.Module, where: str) -> None:
    if isinstance(module, nn.Conv2d):
        conv_params(module, where)
        expect(module.bias is None, where, "has a bias")
    else:
        norm_params(module, where)


def _check_shapes(params: dict[str, Any], layer: nn.Sequential, where: str) -> None:
    """The stage the parameters describe must hold exactly timm's tensors (a last guard
    against a layer the checks above did not foresee)."""
    stage = CATALOGUE.get("stage")
    values = stage.spec.validate_params(params, where)
    first = layer[0]
    shape = (first.conv1.in_channels, 64, 64)
    problem = stage.check(values, [shape])
    expect(problem is None, where, f"cannot be a stage ({problem})")
    with torch.device("meta"):
        ours = stage.make(values, [shape]).build()
    theirs = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    mine = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    differ = sorted(set(theirs) ^ set(mine)) or sorted(k for k in theirs if theirs[k] != mine[k])
    expect(not differ, where, "differs from every catalogue stage in its tensors "
            f"({', '.join(differ[:4])})")


# ----- classifier -----------------------------------------------------------------------------
def _classifier(chain: Chain, model: nn.Module, name: str) -> None:
    pool = model.global_pool
    ok = getattr(pool, "pool_type", None) == "avg" and not isinstance(pool.flatten, nn.Identity)
    expect(ok, f"{name}.global_pool", "is not a global average pool followed by flatten")
    chain.add("global_pool", "adaptiveavgpool2d", output_size=1)
    chain.add("flatten", "flatten")
    if model.drop_rate:
        chain.add("dropout", "dropout", p=float(model.drop_rate))
    chain.add("fc", "linear", out_features="$classes", bias=model.fc.bias is not None)
    chain.finish()
