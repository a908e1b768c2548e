"""The training panel's warning area: what the run recognised as going wrong, and what to do.

Shows the run's ``DiagnosisRecord``s (``train/diagnose.py``) as they arrive, and those kept in
an opened run's ``diagnostics.jsonl``: each with its step, its message and its suggestion. It
stays hidden while there is nothing to say.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ...train.diagnose import read_diagnostics
from ...train.records import DiagnosisRecord

FRAME_STYLE = {"error": "background: #fdecea; border: 1px solid #f1aeb5; border-radius: 4px;",
               "warning": "background: #fff8e1; border: 1px solid #f0d48a; border-radius: 4px;"}
TITLE = {"error": ("Problem", "#b42318"), "warning": ("Warning", "#9a6700")}


class DiagnosisView(QFrame):
    """A list of diagnoses; ``add`` one as it happens, ``show_run`` those a run kept."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.records: list[DiagnosisRecord] = []
        self.label = QLabel(self, wordWrap=True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setStyleSheet("border: none; background: transparent;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label)
        self.hide()

    def clear(self) -> None:
        self.records = []
        self._render()

    def add(self, records: list[DiagnosisRecord]) -> None:
        self.records.extend(records)
        self._render()

    def show_run(self, run: Path | None) -> None:
        """The diagnoses kept in ``run``'s ``diagnostics.jsonl`` (none: hidden)."""
        try:
            kept = read_diagnostics(run) if run is not None else []
        except (OSError, ValueError):  # a damaged file: the run's curves still show
            kept = []
        self.records = [_record(d) for d in kept if isinstance(d, dict)]
        self._render()

    def text(self) -> str:
        """The diagnoses as plain lines (for the log and tests)."""
        return "\n".join(f"step {r.step}: {r.message}; {r.suggestion}" for r in self.records)

    def _render(self) -> None:
        if not self.records:
            self.label.clear()
            self.hide()
            return
        worst = "error" if any(r.severity == "error" for r in self.records) else "warning"
        self.setStyleSheet(f"DiagnosisView {{ {FRAME_STYLE[worst]} }}")
        self.label.setText("<br>".join(_html(r) for r in self.records))
        self.show()


def _html(r: DiagnosisRecord) -> str:
    title, colour = TITLE.get(r.severity, TITLE["warning"])
    return (f"<b style='color:{colour}'>{title} at step {r.step:,} (epoch {r.epoch}):</b> "
            f"{escape(r.message)}.<br>&nbsp;&nbsp;&nbsp;→ <i>{escape(r.suggestion)}</i>")


def _record(d: dict[str, Any]) -> DiagnosisRecord:
    return DiagnosisRecord(str(d.get("kind", "")), str(d.get("severity", "warning")),
                           int(d.get("step", 0)), int(d.get("epoch", 0)),
                           str(d.get("message", "")), str(d.get("suggestion", "")),
                           tuple(d.get("layers") or ()))
