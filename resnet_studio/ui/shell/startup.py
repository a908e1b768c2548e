"""The editor at once, the compiler when PyTorch has loaded.

The editor's modules import no torch (the block catalogue, the presets and the document are
torch-free), so the window opens in a second or two. Shapes, costs, model.py and the list of
GPUs need the compiler and torch, which take several seconds more on a cold start: a
``BackgroundLoader`` imports them on a worker thread while the editor is already usable, and
hands the result to the GUI thread. Nothing here imports torch itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget


class BackgroundLoader(QObject):
    """Runs ``work`` on a worker thread; ``loaded(result)`` or ``failed(message)`` arrive on
    the GUI thread (queued signals), with ``seconds`` the time the work took."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self.work = work
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="compiler-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            result = self.work()
        except Exception as exc:  # any failure is shown; a thread must not die silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.seconds = time.perf_counter() - started
        self.loaded.emit(result)


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
