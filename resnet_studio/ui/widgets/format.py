"""Numbers as people read them: counts, operations and bytes with SI or binary prefixes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...blocks import Detections, Pyramid, shape_text

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((2 ** 40, "TiB"), (2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB"))

# How a node's key parameters read on the canvas (the inspector shows full names).
_TEMPLATES = {
    "out_channels": "out {}", "out_features": "out {}", "kernel_size": "k{}", "stride": "s{}",
    "padding": "pad {}", "output_size": "size {}", "negative_slope": "slope {}", "groups": "g{}",
    "planes": "planes {}", "block": "{}", "blocks": "×{}", "expansion": "exp {}",
    "shortcut": "skip {}", "width_per_group": "width {}", "reduction": "r{}", "dilation": "dil {}",
}


def count(value: float) -> str:
    """``11.69 M`` for 11 689 512; small numbers stay exact."""
    scaled = _scaled(value, _SI)
    return f"{value:g}" if scaled is None else f"{_three(scaled[0])} {scaled[1]}"


def bytes_text(value: float) -> str:
    """``1.0 GiB`` for 1 GiB, ``0.986 GiB`` for 1,010 MiB (never ``1.01e+03 MiB``)."""
    scaled = _scaled(value, _BINARY)
    if scaled is None:
        return f"{value:g} B"
    text = _three(scaled[0])
    return f"{text}.0 {scaled[1]}" if text.isdigit() and len(text) == 1 else f"{text} {scaled[1]}"


def _scaled(value: float, units: Sequence[tuple[float, str]]) -> tuple[float, str] | None:
    """``value`` in the largest unit it reaches, or None below the smallest. A value that
    would read 1000 or more of one unit (1,010 MiB) is given in the next unit instead."""
    ladder = sorted(units)  # smallest first
    for k in range(len(ladder) - 1, -1, -1):
        scale, unit = ladder[k]
        threshold = min(scale, 999.5 * ladder[k - 1][0]) if k > 0 else scale
        if abs(value) >= threshold:
            return value / scale, unit
    return None


def _three(number: float) -> str:
    """Three significant digits and no exponent: ``0.986``, ``11.7``, ``117``."""
    return f"{number:.0f}" if abs(number) >= 999.5 else f"{number:.3g}"


def shape(dims: Sequence[int] | None, kind: str = "") -> str:
    """``64×56×56`` for a feature map, ``1000`` for a vector, ``?`` while unknown; a pyramid
    and a detector's output in words (``blocks.shape_text``), and a segmentation head's
    output (``kind`` "class_maps") as ``4 class maps 64×64``."""
    if dims is None:
        return "?"
    if kind == "class_maps" and len(dims) == 3:
        return f"{dims[0]} class maps {dims[1]}×{dims[2]}"
    return shape_text(dims)


def short_shape(dims: Sequence[int] | None, kind: str = "") -> str:
    """``shape`` in the few words a node card has room for: ``pyramid 5 × 256 ch``,
    ``boxes · 4 classes``."""
    if isinstance(dims, Pyramid):
        return f"pyramid {len(dims)} × {dims[0][0]} ch" if len(dims) else "pyramid"
    if isinstance(dims, Detections):
        return f"boxes · {dims[0]} classes"
    return shape(dims, kind)


#: How a port's kind reads in tooltips.
PORT_KINDS = {"feature_map": "feature map (C×H×W)", "features": "feature vector",
              "pyramid": "feature pyramid (an FPN's maps)",
              "detections": "detections (boxes, labels, scores)",
              "class_maps": "class maps (per-pixel class scores)"}


def port_kind(kind: str) -> str:
    return PORT_KINDS.get(kind, "any")


def value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params(params: dict[str, Any], names: Sequence[str]) -> str:
    """The node's key parameters, abbreviated: ``out 64 · k3 · s2``."""
    parts: list[str] = []
    for name in names:
        if name in params:
            text = _TEMPLATES.get(name, name + " {}").format(value(params[name]))
            if text.startswith("×") and parts:  # a count belongs to the block before it
                parts[-1] += " " + text
            else:
                parts.append(text)
    return " · ".join(parts)
