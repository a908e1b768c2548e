"""The public Python API: open, create, analyse, build and export networks in a few calls.

Example::

    import resnet_studio as rs

    graph = rs.new_project("resnet18", classes=10, height=64, width=64)
    print(rs.summarize(graph))          # per-layer shapes, parameters, MACs and totals
    model = rs.build_model(graph)       # a torch.nn.Module with torchvision's state_dict keys
    rs.save_project(graph, "net.rstudio.json")
    same = rs.load_project("net.rstudio.json")

Each function is a thin front for the package that does the work (``graph``, ``presets``,
``compiler``); use those directly for finer control (a long-lived ``Analyzer`` that caches
results between edits, custom catalogues).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from .blocks import CATALOGUE
from .compiler import Analysis, Analyzer, build
from .compiler.source import generate_source as _generate_source
from .graph import Graph, project
from .presets import DEFAULT_PRESET, PRESETS, UnknownPresetError, create
from .summary import format_summary

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "DEFAULT_PRESET",
    "analyze",
    "build_model",
    "generate_source",
    "load_project",
    "new_project",
    "save_project",
    "summarize",
]


def load_project(path: str | os.PathLike) -> Graph:
    """Read a project file (``*.rstudio.json``) with the default block catalogue.

    Raises ``ProjectFileError`` naming the file and the place in it when the file is missing,
    damaged, of an unknown format version or uses an unknown block type.

    >>> graph = load_project("net.rstudio.json")  # doctest: +SKIP
    """
    return project.load(path, CATALOGUE)


def save_project(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` as a project file, atomically (a failed write keeps the old file).

    >>> save_project(new_project("small_resnet"), "net.rstudio.json")  # doctest: +SKIP
    """
    project.save(graph, path)


def new_project(preset: str = DEFAULT_PRESET, *, classes: int | None = None,
                channels: int | None = None, height: int | None = None,
                width: int | None = None) -> Graph:
    """A new network from a preset, optionally for another input size or class count.

    Unset values keep the preset's defaults (ResNet-50 takes 3×224×224 images and predicts
    1000 classes). Raises ``UnknownPresetError`` for an unknown name and ``ParameterError``
    for an impossible input specification.

    >>> graph = new_project("resnet18", classes=10, height=32, width=32)  # doctest: +SKIP
    """
    if preset not in PRESETS:
        raise UnknownPresetError(preset, PRESETS)
    changes = {"classes": classes, "channels": channels, "height": height, "width": width}
    changes = {name: value for name, value in changes.items() if value is not None}
    spec = dataclasses.replace(PRESETS[preset].default_input, **changes)
    return create(preset, spec)


def analyze(graph: Graph) -> Analysis:
    """Shapes, parameter / MAC / FLOP / activation counts and diagnostics of every node.

    Runs on PyTorch's ``meta`` device: nothing is allocated, so even ResNet-152 at 224×224
    takes well under a second.

    >>> analysis = analyze(graph)  # doctest: +SKIP
    >>> analysis.ok, analysis.total_params, analysis.output_shape()  # doctest: +SKIP
    (True, 11689512, (1000,))
    """
    return Analyzer().analyze(graph)


def build_model(graph: Graph, zero_init_residual: bool = False) -> nn.Module:
    """The network as a ``torch.nn.Module``, initialised as torchvision initialises ResNets.

    ``zero_init_residual`` starts every residual block as the identity (Goyal et al. 2017).
    Raises ``BuildError`` listing the problems when the graph has errors.

    >>> model = build_model(graph)  # doctest: +SKIP
    >>> model(torch.randn(8, 3, 32, 32)).shape  # doctest: +SKIP
    torch.Size([8, 10])
    """
    return build(graph, zero_init_residual=zero_init_residual)


def summarize(graph: Graph, batch_size: int = 1) -> str:
    """A printable table: per node its type, output shape, parameters and MACs, then totals
    (parameters, MACs, FLOPs = 2 × MACs, activation memory for ``batch_size`` images).

    >>> print(summarize(graph, batch_size=64))  # doctest: +SKIP
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}.")
    return format_summary(graph, analyze(graph), batch_size)


def generate_source(graph: Graph) -> str:
    """Readable, self-contained PyTorch source defining ``class Net(nn.Module)``.

    Raises ``BuildError`` when the graph has errors.

    >>> pathlib.Path("model.py").write_text(generate_source(graph))  # doctest: +SKIP
    """
    return _generate_source(graph)
