"""Find Largest… beside the batch size: ``train.largest_batch.search_project`` on a worker
thread behind a progress dialog with Cancel, for the project's network and the settings Start
would use (device, optimiser, amp); the answer fills the batch size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from ...train.config import ConfigError
from ..data.wording import app_wording
from ..shell.busy import ProgressTask

if TYPE_CHECKING:
    from ..shell.context import StudioWindow
    from .controller import TrainingController

LABEL = "Finding the largest batch…"


class Cancelled(Exception):
    """Raised between tries once Cancel was pressed (the dialog drops the outcome)."""


class BatchFinder(QObject):
    """Runs the search for ``training``'s panel; ``start``/``limit`` bound it."""

    def __init__(self, window: StudioWindow, training: TrainingController):
        super().__init__(training)
        self.window, self.training = window, training
        self.start, self.limit = 8, 4096
        self.task: ProgressTask | None = None
        training.panel.settings.find_batch.clicked.connect(self.find)

    def busy(self) -> bool:
        return self.task is not None and not self.task.done

    def find(self) -> bool:
        """Start the search; False when it cannot start (one is running, a run trains, or
        a setting is wrong: the panel says which)."""
        if self.busy() or self.training.bridge.is_active():
            return False
        try:
            config = self.training.project_settings(self.window.document.graph.copy())
        except ConfigError as exc:
            self._say(str(exc), error=True)
            return False
        graph, start, limit = self.window.document.graph.copy(), self.start, self.limit
        total = 2 * math.ceil(math.log2(max(limit / start, 1))) + 2  # tries, at most

        def work(progress: Any, cancel: Any) -> Any:
            from ...train.largest_batch import search_project

            def on_try(batch: int, fitted: bool) -> None:
                on_try.count += 1
                progress(on_try.count, total, f"batch {batch:,}: "
                                              f"{'fits' if fitted else 'out of memory'}")
                if cancel.is_set():
                    raise Cancelled

            on_try.count = 0
            return search_project(graph, config, start=start, limit=limit, on_try=on_try)

        self.task = ProgressTask(work, LABEL, self.window, self._found, self._failed)
        self.task.start()
        return True

    def _found(self, result: Any) -> None:
        search, device = result
        tries = f"{len(search.tries)} tries"
        if search.size == 0:
            self._say(f"Not even one image fits on {device}: a batch of 1 runs out of "
                      f"memory ({tries}).", error=True)
            return
        self.training.panel.settings.batch_size.setValue(search.size)
        bound = f"at least {search.size:,} (the limit tried)" if search.at_limit else \
            f"{search.size:,}"
        self._say(f"Largest batch size that fits on {device}: {bound}; {tries}. The batch "
                  f"size is now {search.size:,}.")

    def _failed(self, exc: BaseException) -> None:
        self._say(app_wording(str(exc)), error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.training.panel.set_state(text, error=error)
        self.window.show_message(text)

    def shutdown(self) -> None:
        if self.task is not None:
            self.task.cancel_flag.set()
            self.task.wait()
