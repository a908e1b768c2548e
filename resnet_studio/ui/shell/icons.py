"""Toolbar and menu icons, drawn from qtawesome's icon fonts in the theme's colours.

Importing qtawesome (it imports qtpy) and loading its fonts costs about half a second here,
so nothing in this module runs at import time: ``FeatureHost`` asks for the icons once the
window has painted for the first time (``startup.when_painted``), and each icon is made once per
process. Without qtawesome, or for a name its fonts do not know, ``icon`` gives None and the
action simply keeps its text.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon

from . import theme

DISABLED = "#a8b0b8"  # the greyed-out look of a disabled action, on the light theme
_cache: dict[str, QIcon | None] = {}


def icon(name: str) -> QIcon | None:
    """The icon called ``name`` ("mdi6.content-save"), or None when it cannot be made."""
    if name not in _cache:
        _cache[name] = _make(name)
    return _cache[name]


def _make(name: str) -> QIcon | None:
    try:
        import qtawesome  # about 0.4 s: kept off start-up (see the module docstring)

        return qtawesome.icon(name, color=theme.TEXT.name(), color_disabled=DISABLED)
    except Exception:  # no qtawesome, a broken font or an unknown name
        return None  # (qtawesome raises a bare Exception): the action keeps its text
