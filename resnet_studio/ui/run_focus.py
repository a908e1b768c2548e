"""The run the window is about: the one training, else the one trained or opened last.

Features share it instead of reaching into each other: training and the runs list set it;
exports, the image check and (later) analyses act on it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal


class RunFocus(QObject):
    """Holds one run directory (or None); ``changed(path)`` when it becomes another."""

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._run: Path | None = None

    @property
    def run(self) -> Path | None:
        return self._run

    def set_run(self, run: Path | None) -> None:
        if run != self._run:
            self._run = run
            self.changed.emit(run)
