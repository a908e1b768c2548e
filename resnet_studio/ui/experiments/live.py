"""The curves of a study's running run, live: its telemetry records drawn as they arrive.

The study view draws every run from its run directory (``study.results``), which is read
again when a run ends; until then, the running run's records (drained from the queue's
sink on a timer by ``StudyWorker``, as the training views are fed) grow a ``RunHistory``
here, and its two lines — training error (moving average) and validation error — are set
on the view's plots in the run's own colour. When the results are read again the live lines
go: the run directory then holds the same points. Several runs may train at once, each with
its own lines. A run whose process died goes on from its checkpoint: its new start record
says from which step, and the line drops what came after it (those steps are trained again)
by reading the run directory up to that step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...study import figures
from ...study.results import StudyResults
from ...train.history import RunHistory
from ...train.records import RunStartRecord

ON_DISK = ("finished", "failed", "existing")


class LiveCurves:
    """Live lines of the runs in progress on ``curves`` (a ``view.StudyCurves``)."""

    def __init__(self, curves: Any):
        self.curves = curves
        self.results: StudyResults | None = None
        self.histories: dict[str, RunHistory] = {}
        self.items: dict[str, tuple[Any, Any]] = {}

    def reset(self, results: StudyResults) -> None:
        """The results were drawn again (the plots cleared): the live lines of the runs still
        in progress are drawn again from what they received, the others are dropped (their
        directories hold those points now)."""
        kept = {name: history for name, history in self.histories.items()
                if name in results.curves and results.curves[name].status not in ON_DISK}
        self.results, self.histories, self.items = results, kept, {}
        for name, history in kept.items():
            self._draw(name, history)

    def add(self, name: str, records: list[Any]) -> None:
        """Records of run ``name``, in order; a run whose results are already drawn from its
        directory (records drained after its end) is left alone. Records that come before
        the results are drawn are kept for them."""
        results = self.results
        if results is not None and (name not in results.curves
                                    or results.curves[name].status in ON_DISK):
            return
        history = self.histories.get(name)
        if history is None:
            history = self.histories[name] = RunHistory(smoothing=0.0)
        part: list[Any] = []
        for record in records:
            if _goes_back(record, history):
                history.append(part)
                part, history = [], self._cut(name, record)
            part.append(record)
        history.append(part)
        if results is not None:
            self._draw(name, history)

    def _cut(self, name: str, start: Any) -> RunHistory:
        """The line of ``name`` up to the step its restart goes on from."""
        from ...train.rundir import RunReadError

        try:
            history = RunHistory.load(Path(start.run_dir), start.resumed_step, smoothing=0.0)
        except (RunReadError, OSError, TypeError):
            history = RunHistory(smoothing=0.0)
        self.histories[name] = history
        return history

    def points(self, name: str) -> int:
        """Points of the live training line of ``name`` (0: none drawn)."""
        item = self.items.get(name)
        return 0 if item is None or item[0].xData is None else len(item[0].xData)

    def _draw(self, name: str, history: RunHistory) -> None:
        if not len(history):
            return
        train, val = self.items.get(name) or self._make(name)
        error = 100 * figures.smooth(1 - np.nan_to_num(history.accuracy.raw.y))
        train.setData(history.steps, error)
        if len(history.epoch_steps):
            val.setData(history.epoch_steps, 100 * (1 - history.val_acc.y))

    def _make(self, name: str) -> tuple[Any, Any]:
        from .view import pens

        results = self.results
        index = [r.name for r in results.study.runs].index(name)
        pen = pens(results)[index]
        curves = self.curves
        train = curves.train_plot.plot(pen=pen)
        val = curves.val_plot.plot(pen=pen, symbol="o", symbolSize=5, symbolPen=None,
                                   symbolBrush=pen.color())
        label = next((c.label for c in results.summary if name in c.runs),
                     results.study.runs[index].label)
        if label not in curves.labels:
            curves.legend.addItem(train, label)
            curves.labels.append(label)
        self.items[name] = (train, val)
        return train, val


def _goes_back(record: Any, history: RunHistory) -> bool:
    """A start record going on from before the last step the line holds (a restart)."""
    return (isinstance(record, RunStartRecord) and len(history) > 0
            and record.resumed_step < history.steps[-1])
