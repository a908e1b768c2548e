"""Numbers as people read them: counts, operations and bytes with SI or binary prefixes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    for scale, prefix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}"
    return f"{value:g}"


def bytes_text(value: float) -> str:
    for scale, unit in _BINARY:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:g} B"


def shape(dims: Sequence[int] | None) -> str:
    """``64×56×56`` for a feature map, ``1000`` for a vector, ``?`` while unknown."""
    if dims is None:
        return "?"
    return "×".join(str(d) for d in dims)


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
