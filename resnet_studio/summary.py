"""Plain-text tables for the command line: a network summary and small aligned tables.

Formatting only: the figures come from an ``Analysis`` the caller made, so this module imports
neither torch nor the compiler and stays cheap to import.

Counting conventions (the same as torchvision's model tables and the ResNet paper):

* a MAC is one multiply-accumulate; convolution and linear layers are counted, normalisation,
  activations, pooling and additions are not;
* FLOPs = 2 × MACs (a multiply and an add). torchvision's tables call the MAC count "GFLOPS",
  so ResNet-50 is listed at 4.09 "GFLOPS", which is 4.09 G MACs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .blocks.base import Detections, Pyramid
from .graph import OUTPUT_TYPE, Graph, InputSpec
from .graph.text import visible

if TYPE_CHECKING:  # for annotations only: importing the compiler would load torch
    from .compiler import Analysis, NodeInfo

MIB = 1024 * 1024
_FLOP_NOTE = ("FLOPs = 2 × MACs (one multiply and one add each), counted for convolution and "
              "linear layers;\ntorchvision's \"GFLOPS\" column is the MAC count.")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; column indices in ``right`` are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        padded = [str(c).rjust(w) if i in right else str(c).ljust(w)
                  for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def human_count(value: float) -> str:
    """``11.69 M``, ``1.82 G``: three significant digits with an SI prefix."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.0f}"


def shape_text(shape: Sequence[int] | None, batch_size: int | None = None) -> str:
    """``8×64×56×56`` (batch first when given); ``?`` when the shape is unknown; a head's
    pyramid or detections in words (per image)."""
    if shape is None:
        return "?"
    if isinstance(shape, (Pyramid, Detections)):
        return shape.text()
    dims = ([batch_size] if batch_size is not None else []) + list(shape)
    return "×".join(str(d) for d in dims)


def input_text(spec: InputSpec) -> str:
    """An input specification as ``3×224×224 → 1000``: image shape, then the class count."""
    return f"{spec.channels}×{spec.height}×{spec.width} → {spec.classes}"


def format_summary(graph: Graph, analysis: Analysis, batch_size: int = 1) -> str:
    """The per-node table, the totals and any problems, as ``resnet-studio summary`` prints."""
    rows = [_node_row(analysis.nodes[node_id], batch_size) for node_id in analysis.order
            if node_id in analysis.nodes]
    headers = ("node", "type", "output shape", "params", "MACs/image")
    # Names come from the file: control characters and ANSI escapes are shown, not obeyed.
    title = (f"Network ‘{visible(graph.name) or 'untitled'}’ — "
             f"input {input_text(graph.input_spec)} classes, batch size {batch_size}")
    parts = [title, "",
             format_table(headers, rows, right=(3, 4)), "", _totals(analysis, batch_size)]
    problems = [f"  {d.severity}: {visible(d.message)}" for d in analysis.diagnostics]
    if problems:
        parts += ["", "Problems:", *problems]
    return "\n".join(parts) + "\n"


def _node_row(info: NodeInfo, batch_size: int) -> tuple[str, ...]:
    # The Output node passes its input through, so its "output" is that input.
    shape = info.in_shapes[0] if info.type_id == OUTPUT_TYPE and info.in_shapes else info.out_shape
    macs = human_count(info.macs) if info.macs else "-"
    return (info.node_id, visible(info.type_id), shape_text(shape, batch_size),
            f"{info.params:,}", macs)


def _totals(analysis: Analysis, batch_size: int) -> str:
    activation = analysis.activation_bytes(batch_size) / MIB
    rows = [
        ("Parameters", f"{analysis.total_params:,} ({human_count(analysis.total_params)})"),
        ("MACs per image", human_count(analysis.total_macs)),
        ("FLOPs per image", human_count(analysis.total_flops)),
        (f"Activation memory (batch {batch_size})",
         f"{activation:,.2f} MiB (forward pass, float32, every tensor a layer produces)"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name + ':':<{width + 1}}  {value}" for name, value in rows]
    return "\n".join(lines + ["", _FLOP_NOTE])
