"""The run the window is about: the one training, else the one trained or opened last.

Features share it instead of reaching into each other: training and the runs list set it;
exports, the image check and (later) analyses act on it. ``ask_checkpoint`` is how they ask
which of its checkpoints to use.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..train.rundir import BEST, LAST, read_metrics


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


ANOTHER = "Another run or checkpoint…"


def checkpoint_choices(run: Path) -> list[tuple[str, Path]]:
    """The checkpoints ``run`` holds, each with a label that says which weights it has:
    ``best.pt`` (the best validation epoch) and ``last.pt`` (the latest weights)."""
    metrics = read_metrics(run)
    scored = [m for m in metrics if math.isfinite(m.get("val_acc", math.nan))]
    choices = []
    if (run / BEST).is_file():
        best = max(scored, key=lambda m: m["val_acc"]) if scored else None
        what = (f"epoch {int(best['epoch'])}, {best['val_acc']:.1%} validation accuracy"
                if best else "the best validation accuracy")
        choices.append((f"{BEST}: best weights ({what})", run / BEST))
    if (run / LAST).is_file():
        what = f"after epoch {int(metrics[-1]['epoch'])}" if metrics else "when it stopped"
        choices.append((f"{LAST}: latest weights ({what})", run / LAST))
    return choices


def ask_checkpoint(prompts: Any, run: Path | None, title: str) -> Path | str | None:
    """Ask which checkpoint of ``run`` to use: its best or its last, or ``ANOTHER`` (another
    run, chosen explicitly). ``ANOTHER`` without asking when the run holds none; None when
    the user cancels."""
    choices = checkpoint_choices(run) if run is not None else []
    if not choices:
        return ANOTHER
    labels = [label for label, _ in choices] + [ANOTHER]
    answer = prompts.ask_item(title, f"Which weights of the run {run.name}?", labels)
    if answer is None or answer == ANOTHER:
        return answer
    return dict(choices)[answer]
