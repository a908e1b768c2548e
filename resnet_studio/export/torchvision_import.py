"""torchvision's ResNet family as editable projects.

``import_torchvision`` builds the torchvision model on PyTorch's ``meta`` device (no memory,
no weights) and reads its structure off the modules: the stem convolution and pooling, each
stage's block class, depth, width, stride, groups and width per group, and the classifier. The
graph made from those readings builds into a network with exactly torchvision's modules and
``state_dict`` keys, so torchvision's weights load into it unchanged (see ``pretrained.py``).
The readers it shares with ``timm_import`` (convolution and norm parameters, the assembly of
stem, stages and classifier) are in ``resnet_reading``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import torch
from torch import nn

from ..graph import Graph, InputSpec
from ..presets import PRESETS
from ..presets.base import Chain, Preset
from .errors import ModelImportError
from .resnet_reading import (
    assemble_resnet,
    conv_params,
    expect,
    input_size_of,
    norm_params,
    single,
)

RESNET_MODULE = "torchvision.models.resnet"


def resnet_family() -> list[str]:
    """Every model torchvision builds from its ResNet module (ResNet, ResNeXt, Wide ResNet),
    and the descendants a preset reproduces key for key (ConvNeXt-T)."""
    import torchvision
    from torchvision.models import get_model_builder, list_models

    names = list_models(module=torchvision.models)
    resnets = [n for n in names if get_model_builder(n).__module__ == RESNET_MODULE]
    return sorted(resnets + list(_preset_models()), key=natural_key)


def _preset_models() -> dict[str, Preset]:
    """torchvision models outside its ResNet module that a preset equals, by name."""
    from torchvision.models import get_model_builder, list_models

    names = set(list_models())
    return {p.torchvision_name: p for p in PRESETS.values()
            if p.torchvision_name in names
            and get_model_builder(p.torchvision_name).__module__ != RESNET_MODULE}


def natural_key(name: str) -> list:
    """Sorts numbers in names by value: resnet18 < resnet34 < resnet101, and
    wide_resnet50_2 < wide_resnet101_2."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def import_torchvision(name: str, classes: int | None = None,
                       input_size: int | tuple[int, int] | None = None) -> Graph:
    """The torchvision model ``name`` (e.g. ``resnet50``) as a project.

    ``classes`` defaults to the model's (1000); ``input_size`` (an int or (height, width))
    to 224. Raises ModelImportError for a name outside the ResNet family or a model whose
    structure a project cannot express. ConvNeXt-T is its preset, whose module paths give
    torchvision's keys.
    """
    preset = _preset_models().get(name)
    if preset is not None:
        height, width = input_size_of(input_size)
        spec = InputSpec(3, height, width, 1000 if classes is None else classes)
        try:
            return preset.create(spec)
        except ValueError as exc:
            raise ModelImportError(f"{name}: {exc}") from None
    return graph_from_resnet(_meta_model(name), name, classes, input_size)


def graph_from_resnet(model: nn.Module, name: str, classes: int | None = None,
                      input_size: int | tuple[int, int] | None = None) -> Graph:
    """The project of a torchvision ``ResNet`` instance (on any device, meta included)."""
    expect(isinstance(model.conv1, nn.Conv2d), f"{name}.conv1", "is not a Conv2d")
    return assemble_resnet(model, name, model.conv1.in_channels, classes, input_size,
                           (_stem, _stage, _classifier))


def _meta_model(name: str) -> nn.Module:
    import torchvision
    from torchvision.models import list_models

    family = resnet_family()
    if name not in family:
        known = ", ".join(family)
        if name in list_models():
            raise ModelImportError(f"torchvision's ‘{name}’ is not a ResNet-family model; "
                                   f"these can be imported: {known}.")
        close = difflib.get_close_matches(name, family, n=1)
        hint = f" Did you mean ‘{close[0]}’?" if close else ""
        raise ModelImportError(f"torchvision has no model ‘{name}’.{hint} ResNet-family "
                               f"models: {known}.")
    with torch.device("meta"):  # structure only: nothing is allocated or initialised
        model = torchvision.models.get_model(name, weights=None)
    if not isinstance(model, torchvision.models.ResNet):
        raise ModelImportError(f"torchvision's ‘{name}’ is not a ResNet ({type(model).__name__}).")
    return model


# ----- reading the modules --------------------------------------------------------------------
def _stem(chain: Chain, model: nn.Module, name: str) -> None:
    conv, pool = model.conv1, model.maxpool
    chain.add("conv1", "conv2d", **conv_params(conv, f"{name}.conv1"))
    chain.add("bn1", "batchnorm2d", **norm_params(model.bn1, f"{name}.bn1"))
    expect(isinstance(model.relu, nn.ReLU), f"{name}.relu", "is not a ReLU")
    chain.add("relu", "relu")
    expect(isinstance(pool, nn.MaxPool2d), f"{name}.maxpool", "is not a MaxPool2d")
    chain.add("maxpool", "maxpool2d", kernel_size=single(pool.kernel_size),
              stride=single(pool.stride), padding=single(pool.padding),
              ceil_mode=bool(pool.ceil_mode))
    expect(single(pool.dilation) == 1, f"{name}.maxpool", "uses dilation")


def _stage(chain: Chain, node_id: str, layer: nn.Sequential, name: str) -> None:
    from torchvision.models.resnet import BasicBlock, Bottleneck

    first = layer[0]
    where = f"{name}.{node_id}"
    kinds = {type(block) for block in layer}
    expect(len(kinds) == 1 and kinds <= {BasicBlock, Bottleneck}, where,
            f"holds {', '.join(sorted(k.__name__ for k in kinds))}; only torchvision's "
            "BasicBlock or Bottleneck stages can be imported")
    for i, block in enumerate(layer):
        _check_block(block, f"{where}.{i}")
    params = _block_shape(first, where)
    block_type = "bottleneck" if isinstance(first, Bottleneck) else "basicblock"
    if block_type == "bottleneck":
        params["expansion"] = first.expansion
    chain.add(node_id, "stage", block=block_type, blocks=len(layer), shortcut="auto", **params)


def _block_shape(block: nn.Module, where: str) -> dict[str, Any]:
    """Planes, stride, groups and width per group of a block, read from its convolutions."""
    from torchvision.models.resnet import Bottleneck

    conv = block.conv2  # the (last) 3×3 convolution: it carries the groups and the width
    width, groups = conv.out_channels, conv.groups
    if isinstance(block, Bottleneck):
        planes = block.conv3.out_channels // block.expansion
    else:
        planes = width
    per_group = width * 64 // (groups * planes)
    expect(int(planes * (per_group / 64.0)) * groups == width, where,
            f"has a 3×3 width of {width} that no width per group gives for {planes} planes")
    return {"planes": planes, "stride": single(_strided(block).stride), "groups": groups,
            "width_per_group": per_group}


def _strided(block: nn.Module) -> nn.Conv2d:
    """The convolution that carries a block's stride: a BasicBlock's first, a Bottleneck's
    3×3 (torchvision's "ResNet V1.5" placement)."""
    from torchvision.models.resnet import Bottleneck

    return block.conv2 if isinstance(block, Bottleneck) else block.conv1


def _check_block(block: nn.Module, where: str) -> None:
    """Everything a catalogue block would build differently is refused by name."""
    convs = [m for m in (block.conv1, block.conv2, getattr(block, "conv3", None)) if m]
    for i, conv in enumerate(convs, 1):
        conv_params(conv, f"{where}.conv{i}")
        expect(conv.bias is None, f"{where}.conv{i}", "has a bias")
    for i in range(1, len(convs) + 1):
        norm_params(getattr(block, f"bn{i}"), f"{where}.bn{i}")
    stride = single(_strided(block).stride)
    others = [single(c.stride) for c in convs if c is not _strided(block)]
    expect(others == [1] * len(others), where, "is strided in another convolution than "
            "torchvision's blocks are")
    changes = stride != 1 or block.conv1.in_channels != convs[-1].out_channels
    expect((block.downsample is not None) == changes, where,
            "has a shortcut projection where the shape does not change, or none where it does")
    if block.downsample is not None:
        _check_downsample(block.downsample, stride, f"{where}.downsample")


def _check_downsample(down: nn.Module, stride: int, where: str) -> None:
    ok = (isinstance(down, nn.Sequential) and len(down) == 2 and isinstance(down[0], nn.Conv2d)
          and single(down[0].kernel_size) == 1 and single(down[0].stride) == stride
          and down[0].bias is None and type(down[1]) is nn.BatchNorm2d)
    expect(ok, where, "is not a strided 1×1 convolution followed by a BatchNorm2d")


def _classifier(chain: Chain, model: nn.Module, name: str) -> None:
    pool, fc = model.avgpool, model.fc
    expect(isinstance(pool, nn.AdaptiveAvgPool2d) and single(pool.output_size) == 1,
            f"{name}.avgpool", "is not a global average pool")
    chain.add("avgpool", "adaptiveavgpool2d", output_size=1)
    chain.add("flatten", "flatten")
    chain.add("fc", "linear", out_features="$classes", bias=fc.bias is not None)
    chain.finish()
