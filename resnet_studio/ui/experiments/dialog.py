"""The dialog that sets up a study, opened from the Experiments menu: the study form
(``form.StudyForm``, the same one the workspace's set-up column shows) with Start and Cancel.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from ...graph import Graph
from ...study.plan import Study
from ...train import TrainConfig
from ..shell.window_titles import fit_title
from .form import TITLES, StudyForm

__all__ = ["TITLES", "StudyDialog"]


class StudyDialog(QDialog):
    """Sets up one study of ``kind`` on ``graph`` from ``base`` in its ``form``; Start is
    enabled while the form holds a plan, and accepting re-plans first (a form changed a
    moment ago is planned before the dialog closes)."""

    def __init__(self, kind: str, graph: Graph, base: TrainConfig, project: str = "",
                 parent: QWidget | None = None, source: str = "the training settings"):
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle(f"{TITLES[kind]} — {graph.name or 'network'}")
        fit_title(self)  # a long project name
        self.form = StudyForm(kind, graph, base, project, self, source)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.start_button = self.buttons.addButton("Start",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.form.planned.connect(lambda study: self.start_button.setEnabled(study is not None))
        self.start_button.setEnabled(self.form.study is not None)
        self.resize(640, 620)

    @property
    def study(self) -> Study | None:
        return self.form.study

    def replan(self) -> Study | None:
        return self.form.replan()

    def estimates(self) -> dict[str, float | None] | None:
        return self.form.estimates()

    def done(self, result: int) -> None:
        """Closing waits for a timing in progress: no thread may outlive the dialog."""
        if result == QDialog.DialogCode.Accepted and self.replan() is None:
            return
        self.form.stop_timing()
        super().done(result)
