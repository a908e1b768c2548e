"""The Analyses dock: the run picker, one tab per analysis under it and, below them, the
progress of the one running (a bar, what it is doing with the time left, and Cancel)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .base import AnalysisView
from .explain_view import ExplainView
from .landscape_view import LandscapeView
from .lesion_view import LesionView
from .run_picker import RunPicker
from .signal_view import SignalView


class AnalysisDock(QWidget):
    """``views`` by key ("signal", "lesion", "landscape", "explain")."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.picker = RunPicker()
        self.signal, self.lesion = SignalView(), LesionView()
        self.landscape, self.explain = LandscapeView(), ExplainView()
        self.views: dict[str, AnalysisView] = {
            v.key: v for v in (self.signal, self.lesion, self.landscape, self.explain)}
        self.tabs = QTabWidget()
        for title, view in zip(("Signal at Init", "Lesion", "Landscape", "Explain"),
                               self.views.values()):
            self.tabs.addTab(view, title)
        self.bar = QProgressBar(maximum=1, value=0, textVisible=False)
        self.bar.setMaximumHeight(10)
        self.status = QLabel()
        self.cancel_button = QPushButton("Cancel")
        row = QHBoxLayout()
        row.setContentsMargins(8, 0, 8, 4)
        row.addWidget(self.bar, 1)
        row.addWidget(self.status, 2)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(row)
        self.set_idle("")

    def show_runs(self, summaries, focus) -> None:
        """List the project's runs (``RunSummary``s) in the picker, ``focus`` chosen, and
        tell every page which run is picked."""
        self.picker.show_runs(summaries, focus)
        self.follow(focus)

    def follow(self, focus) -> None:
        """The run in focus is now ``focus``: the picker and the pages show it."""
        self.picker.follow(focus)
        picked, any_run = self.picker.picked(), bool(self.picker.runs())
        for view in self.views.values():
            view.set_picked(picked, any_run)

    def show_view(self, key: str) -> None:
        self.tabs.setCurrentWidget(self.views[key])

    def set_busy(self, text: str) -> None:
        self.bar.setMaximum(0)  # busy until the first progress report gives a total
        self.status.setText(text)
        for widget in (self.bar, self.cancel_button):
            widget.show()
        self.cancel_button.setEnabled(True)

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))
        self.status.setText(text)

    def set_idle(self, text: str) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.status.setText(text)
