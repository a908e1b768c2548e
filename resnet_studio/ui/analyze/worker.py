"""Running one analysis off the UI thread, with progress, a time estimate and cancelling.

An analysis is a plain function ``job(progress, cancel) -> result`` (see
``resnet_studio.analysis.common``); the worker calls it on a ``QThread`` and reports back
through queued signals, so the window stays responsive and a Cancel takes effect between two
units of work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from ..shell.busy import time_left

Job = Callable[[Callable[[int, int, str], None], Any], Any]


class AnalysisWorker(QThread):
    """Runs ``job`` once. Emits ``progressed(done, total, text)`` (text holds the ETA), then
    exactly one of ``succeeded(result)``, ``failed(message)`` or ``cancelled()``."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, name: str, job: Job, parent: Any = None):
        super().__init__(parent)
        self.name, self.job = name, job
        self.cancel_flag = threading.Event()
        self.began = 0.0

    def cancel(self) -> None:
        self.cancel_flag.set()

    def run(self) -> None:
        from ...analysis.common import AnalysisError, Cancelled

        self.began = time.monotonic()
        try:
            result = self.job(self._progress, self.cancel_flag)
        except Cancelled:
            self.cancelled.emit()
        except AnalysisError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # any failure becomes a message, not a crash
            self.failed.emit(_failure_text(exc))
        else:
            if self.cancel_flag.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)

    def _progress(self, done: int, total: int, message: str) -> None:
        """The time left is the pace since the job began times the units left, written as
        every busy dialog writes it (``busy.time_left``)."""
        left = "finishing" if done >= total else time_left(time.monotonic() - self.began,
                                                           done, total)
        self.progressed.emit(done, total, f"{message} — {left}")


def _failure_text(exc: BaseException) -> str:
    """One line for an unexpected failure (a network that cannot be built, out of memory)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no details'}"
