"""Slow work that says how far it is and can be stopped: a busy dialog with a bar, the time
left and Cancel.

``ProgressTask`` is a ``background.BackgroundTask`` whose work is ``work(progress, cancel)``:
it calls ``progress(done, total, text)`` after each unit (on its worker thread; the report
reaches the dialog as a queued signal) and checks ``cancel`` (a ``threading.Event``) between
units. The dialog's label says what is being done and the time left — the time per unit so
far times the units left — once a unit is done. Cancel sets the flag, so the work ends at
its next check, and drops its result. ``steps(progress, label)`` adapts work that reports
``progress(done, total)`` only ("Finding a learning rate: step 12 of 100").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ...train.progress import format_duration
from .background import BackgroundTask

Work = Callable[[Callable[[int, int, str], None], threading.Event], Any]


def steps(progress: Callable[[int, int, str], None], label: str) -> Callable[[int, int], None]:
    """``progress(done, total)`` for work that counts steps: the text names the work and
    the step (``"Finding a learning rate: step 12 of 100"`` for the label "Finding a learning
    rate…")."""
    name = label.rstrip(".…")
    return lambda done, total: progress(done, total, f"{name}: step {done:,} of {total:,}")


def time_left(elapsed: float, done: int, total: int) -> str:
    """“about 1:05 left” from the pace so far; “estimating time left” before the first unit."""
    if done <= 0:
        return "estimating time left"
    return f"about {format_duration(elapsed / done * max(total - done, 0))} left"


class ProgressTask(BackgroundTask):
    """``work(progress, cancel)`` on a worker thread with a busy dialog that shows progress,
    the time left and Cancel; then ``on_done(result)`` or ``on_error(exception)`` as for
    ``BackgroundTask`` (neither once cancelled). ``clock`` is for tests."""

    progressed = Signal(int, int, str)

    def __init__(self, work: Work, label: str, parent: QWidget,
                 on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(lambda: work(self.progressed.emit, self.cancel_flag), label, parent,
                         on_done, on_error, cancellable=True)
        self.cancel_flag = threading.Event()
        self.clock, self.began, self.label = clock, 0.0, label
        self._shown = 0  # the last unit shown
        self.dialog.setAutoReset(False)  # the last unit done: it shows until the work ends
        self.progressed.connect(self._show)

    def start(self) -> ProgressTask:
        self.began = self.clock()
        super().start()
        return self

    def cancel(self) -> None:
        """Stop the work at its next check and drop its result."""
        self.cancel_flag.set()
        super().cancel()

    def _show(self, done: int, total: int, text: str) -> None:
        # A window-modal dialog's setValue processes events, so the next units' reports can
        # arrive inside it: the label is set first, and a report older than the one shown is
        # dropped, so that neither the bar nor the label goes back.
        if self.done or self.cancelled or done < self._shown:
            return
        self._shown = done
        self.label = f"{text[:1].upper()}{text[1:]} — " \
                     f"{time_left(self.clock() - self.began, done, total)}"
        self.dialog.setLabelText(self.label)
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, max(total, 1)))
