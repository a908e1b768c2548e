"""A sanity tool's work on a worker thread behind a progress dialog with Cancel and an ETA.

The work is ``work(progress, cancel)``: it reports ``progress(done, total)`` after each step
and stops between two steps once ``cancel.is_set()`` (``train.sanity.Cancelled``). The dialog
shows "step 12 of 100 · about 0:09 left", the time left from the mean time of the steps done;
Cancel sets the flag, so the work really stops, and its result is never shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from ...train.progress import format_duration
from ..shell.background import SHOW_AFTER_MS


def eta_text(done: int, total: int, elapsed: float) -> str:
    """``step 12 of 100 · about 0:09 left``: the steps left at the mean time of those done."""
    if done <= 0:
        return f"step 0 of {total:,} · estimating the time left"
    left = elapsed / done * max(total - done, 0)
    return f"step {done:,} of {total:,} · about {format_duration(left)} left"


class _Worker(QThread):
    progressed = Signal(int, int)

    def __init__(self, work: Callable[[Callable[[int, int], None], Any], Any], parent: QObject):
        super().__init__(parent)
        self.work, self.cancel_flag = work, threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.work(self.progressed.emit, self.cancel_flag)
        except Exception as exc:  # handed to the GUI thread (Cancelled included)
            self.error = exc


class SanityTask(QObject):
    """``work`` off the GUI thread; then ``on_done(result)`` or ``on_error(exception)`` on the
    GUI thread — neither once cancelled. ``ended`` comes last, in every case."""

    ended = Signal()

    def __init__(self, work: Callable[..., Any], label: str, parent: QWidget,
                 on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.label, self.on_done, self.on_error, self.clock = label, on_done, on_error, clock
        self.done = self.cancelled = False
        self.began = 0.0
        self._shown = 0  # the last step shown
        self._thread = _Worker(work, self)
        self._thread.progressed.connect(self.show_progress)
        self._thread.finished.connect(self._on_finished)
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(SHOW_AFTER_MS)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)

    def start(self) -> SanityTask:
        self.began = self.clock()
        self._thread.start()
        return self

    def show_progress(self, done: int, total: int) -> None:
        # A window-modal dialog's setValue processes events, so the next steps' updates can
        # arrive inside it: the label is set first, and an update older than one shown is
        # dropped, so that the label never goes back.
        if self.cancelled or self.done or done <= self._shown:
            return
        self._shown = done
        eta = eta_text(done, total, self.clock() - self.began)
        self.dialog.setLabelText(f"{self.label}\n{eta}")
        self.dialog.setMaximum(total)
        self.dialog.setValue(done)

    def cancel(self) -> None:
        """Ask the work to stop after its current step; its result will be dropped."""
        if self.done:
            return
        self.cancelled = True
        self._thread.cancel_flag.set()
        self.dialog.setLabelText("Cancelling after the current step…")

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
