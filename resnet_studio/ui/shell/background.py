"""Slow work (imports, exports) off the GUI thread, with a progress dialog.

``BackgroundTask`` runs one function on a ``QThread`` and calls back on the GUI thread with
its result or its error; meanwhile a busy progress dialog says what is happening, and the
window stays responsive. Where the work may be abandoned (an import that has not replaced the
project yet) the dialog has a Cancel button: the function runs to its end — torch and
torchvision cannot be interrupted half-way — but its result is dropped. Work whose effect is
already done when it ends (an export has written its file) offers no Cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

SHOW_AFTER_MS = 300  # quick work finishes before the dialog would flash up


class _Thread(QThread):
    def __init__(self, work: Callable[[], Any], parent: QObject):
        super().__init__(parent)
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as exc:  # handed to the GUI thread, which shows it
            self.error = exc


class BackgroundTask(QObject):
    """``work()`` on a worker thread; then ``on_done(result)`` or ``on_error(exception)`` on
    the GUI thread (neither when cancelled). ``ended`` is emitted last, in every case."""

    ended = Signal()

    def __init__(self, work: Callable[[], Any], label: str, parent: QWidget,
                 on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
                 cancellable: bool = False):
        super().__init__(parent)
        self.on_done, self.on_error = on_done, on_error
        self.done = self.cancelled = False
        self._thread = _Thread(work, self)
        self._thread.finished.connect(self._on_finished)
        self.dialog = QProgressDialog(label, "Cancel" if cancellable else None, 0, 0, parent)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(SHOW_AFTER_MS)
        self.dialog.setAutoClose(False)
        if cancellable:
            self.dialog.canceled.connect(self.cancel)

    def start(self) -> BackgroundTask:
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Drop the result when it comes (the work itself runs to its end)."""
        self.cancelled = True
        self.dialog.hide()

    def wait(self) -> None:
        """Block until the work has ended (closing the window: no thread may outlive it)."""
        self._thread.wait()

    def _on_finished(self) -> None:
        self.done = True
        self.dialog.reset()
        self.dialog.hide()
        t = self._thread
        if not self.cancelled:
            if t.error is not None:
                self.on_error(t.error)
            else:
                self.on_done(t.result)
        self.ended.emit()
        self.dialog.deleteLater()
