"""Toolbar and menu icons, drawn from qtawesome's icon fonts in the theme's colours.

Importing qtawesome (it imports qtpy) and loading its fonts costs about half a second here,
so nothing in this module runs at import time: ``FeatureHost`` asks for the icons once the
window has painted for the first time (``when_painted``), and each icon is made once per
process. Without qtawesome, or for a name its fonts do not know, ``icon`` gives None and the
action simply keeps its text.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QWidget

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


class _FirstPaint(QObject):
    """Calls ``callback`` once, just after ``widget`` has painted for the first time."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]):
        super().__init__(widget)
        self.callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            # after this paint reaches the screen: the window shows before the fonts load
            QTimer.singleShot(0, self, self._fire)
        return False

    def _fire(self) -> None:
        self.callback()
        self.deleteLater()


def when_painted(widget: QWidget, callback: Callable[[], None]) -> None:
    """Run ``callback`` right after ``widget``'s first paint (never, if it is never shown)."""
    _FirstPaint(widget, callback)
