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
