"""Reading ResNet-shaped modules into a project: what the torchvision and timm importers share.

Both importers build their model on the ``meta`` device and read it part by part: ``assemble``
walks the stem, ``layer1``…``layer4`` and the classifier with the importer's own readers, and
the readers turn convolutions and norms into catalogue parameters with ``conv_params`` and
``norm_params``. Anything a catalogue block would build differently is refused through
``expect``, with a message that names the module at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..graph import Graph, InputSpec
from ..graph.layout import auto_layout
from ..presets.base import Chain
from .errors import ModelImportError

DEFAULT_SIZE = 224  # the ImageNet resolution torchvision's and timm's weights were trained at

# (chain, model, model name) for the stem and the classifier; (chain, node id, layer, model
# name) for a stage
Reader = Callable[..., None]


def assemble_resnet(model: nn.Module, name: str, in_channels: int, classes: int | None,
                    input_size: int | tuple[int, int] | None,
                    parts: tuple[Reader, Reader, Reader]) -> Graph:
    """The project of a ResNet-shaped ``model`` (stem, ``layer1``…``layer4``, ``fc``), each
    part read by one of ``parts`` = (stem, stage, classifier) — torchvision's or timm's."""
    stem, stage, classifier = parts
    height, width = input_size_of(input_size)
    expect(isinstance(model.fc, nn.Linear), f"{name}.fc", "is not a Linear layer")
    spec = InputSpec(in_channels, height, width,
                     model.fc.out_features if classes is None else classes)
    try:
        spec.validate()
    except ValueError as exc:
        raise ModelImportError(f"{name}: {exc}") from None
    chain = Chain(spec)
    stem(chain, model, name)
    for index in range(1, 5):
        stage(chain, f"layer{index}", getattr(model, f"layer{index}"), name)
    classifier(chain, model, name)
    graph = chain.graph
    graph.name = name
    auto_layout(graph)
    return graph


def input_size_of(input_size: int | tuple[int, int] | None) -> tuple[int, int]:
    """(height, width) from an import's ``input_size`` argument (None: ``DEFAULT_SIZE``)."""
    if input_size is None:
        return DEFAULT_SIZE, DEFAULT_SIZE
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        return input_size, input_size
    if isinstance(input_size, (tuple, list)) and len(input_size) == 2:
        return int(input_size[0]), int(input_size[1])
    raise ModelImportError(f"input_size must be an int or (height, width), not {input_size!r}.")


def conv_params(conv: nn.Conv2d, where: str) -> dict[str, Any]:
    """The catalogue ``conv2d`` parameters of ``conv``; dilation cannot be expressed."""
    expect(isinstance(conv, nn.Conv2d), where, "is not a Conv2d")
    expect(single(conv.dilation) == 1, where, "uses dilation, which the catalogue's "
           "convolution does not offer")
    return {"out_channels": conv.out_channels, "kernel_size": single(conv.kernel_size),
            "stride": single(conv.stride), "padding": single(conv.padding),
            "groups": conv.groups, "bias": conv.bias is not None}


def norm_params(norm: nn.Module, where: str) -> dict[str, Any]:
    """The catalogue ``batchnorm2d`` parameters of ``norm``, which must be a plain
    BatchNorm2d with affine weights, running statistics and a momentum."""
    expect(type(norm) is nn.BatchNorm2d, where, f"is a {type(norm).__name__}, not a BatchNorm2d")
    expect(norm.affine and norm.track_running_stats and norm.momentum is not None, where,
           "is not an affine BatchNorm with running statistics and a momentum")
    return {"eps": float(norm.eps), "momentum": float(norm.momentum)}


def single(value: Any) -> int:
    """A square kernel/stride/padding as one int; a non-square one cannot be expressed."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ModelImportError(f"non-square value {tuple(value)} cannot be imported")
        value = value[0]
    return int(value)


def expect(condition: bool, where: str, problem: str) -> None:
    """Refuse the model unless ``condition`` holds: ``where`` names the module, ``problem``
    what is wrong with it."""
    if not condition:
        raise ModelImportError(f"{where} {problem}; this model cannot be imported as a project.")
