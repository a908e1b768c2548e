"""The Experiments workspace's set-up column: the study kind, its form, the plan's estimate
and Start (Ctrl+Return).

The form is the study dialog's own (``form.StudyForm``), so both plan the same study from
the same inputs. It fills with what was last set for the open project (``memory``), is
saved there on Start, and fills again when another project opens. What was typed and not
started yet survives a change of kind (the budget is shared by every kind, as in
``memory``) and a visit to another workspace: when the network or its training settings
changed meanwhile, the form is built again on them, and only the values typed are put
back (the others follow the new settings). A form is built only while the column shows:
planning derives networks (and imports torch), which the app's start-up does without.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...graph import Graph
from ...graph.project import to_dict
from ...study.plan import KINDS, Study
from ...train import TrainConfig
from . import memory
from .form import TITLES, StudyForm

ABOUT = {"degradation": "The network at several depths, with and without skip connections "
                        "(He et al., Fig. 1 and 6).",
         "variants": "The network's residual blocks swapped for each block type.",
         "sweep": "One or two training settings over lists of values.",
         "twin": "The residual network against its plain twin."}
START_KEYS = ("Ctrl+Return", "Ctrl+Enter")  # the main and the keypad Enter
MAX_WIDTH = 640  # a form gains nothing wider; the results take the rest of a large window


@dataclass(frozen=True)
class SetupInputs:
    """What a study form starts from: a copy of the network, its training settings (as
    Train would use them), the project's name and where those settings come from."""

    graph: Graph
    base: TrainConfig
    project: str
    source: str


class StudySetup(QWidget):
    """The set-up column. ``inputs()`` gives the open project's ``SetupInputs`` (ValueError
    with a sentence when its settings cannot be used); ``started(study, estimates)`` when
    Start finds a plan in the form."""

    started = Signal(object, object)

    def __init__(self, inputs: Callable[[], SetupInputs], settings: QSettings,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.inputs, self.settings = inputs, settings
        self.project: Path | None = None
        self.form: StudyForm | None = None
        self._built_from: tuple[Any, ...] | None = None
        # Typed and not started: the budget, and each kind's fields; what a new form held
        # before any of them were put in is ``_initial``.
        self._typed_budget: dict[str, Any] = {}
        self._edits: dict[str, dict[str, Any]] = {}
        self._initial: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        self._pending = False  # a form is due when the column shows
        self.kind_box = QComboBox(self)
        for kind in KINDS:
            self.kind_box.addItem(TITLES[kind], kind)
        self.kind_box.currentIndexChanged.connect(self._on_kind)
        self.about = QLabel(self, wordWrap=True)
        self.message = QLabel(self, wordWrap=True)
        self.message.setStyleSheet("color: #cf222e;")
        self.message.hide()
        self.start_button = QPushButton("Start Study", self)
        self.start_button.setToolTip("Train every run of the plan (Ctrl+Return)")
        self.start_button.clicked.connect(self.request_start)
        for keys in START_KEYS:
            shortcut = QShortcut(QKeySequence(keys), self, self.request_start)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.setMaximumWidth(MAX_WIDTH)
        self._lay_out()

    def _lay_out(self) -> None:
        top = QFormLayout()
        top.addRow("Study", self.kind_box)
        self.body = QWidget(self)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.about)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.start_button)

    @property
    def kind(self) -> str:
        return self.kind_box.currentData()

    # ----- filling ----------------------------------------------------------------------------
    def load(self, project: Path | None) -> None:
        """Another project is open: the kind of study last started for it, its remembered
        settings (or its training settings)."""
        self.project = project
        kind = memory.recall_kind(self.settings, project)
        index = self.kind_box.findData(kind) if kind else -1
        if index >= 0:
            self.kind_box.blockSignals(True)  # reload builds the form once, below
            self.kind_box.setCurrentIndex(index)
            self.kind_box.blockSignals(False)
        self.reload()

    def reload(self) -> None:
        """Fill again from what is remembered for the project (a dialog saved settings)."""
        self._typed_budget, self._edits = {}, {}
        self._build()

    def choose(self, kind: str) -> None:
        """Show the form of ``kind`` (the budget typed so far goes with it)."""
        self.kind_box.setCurrentIndex(self.kind_box.findData(kind))

    def fill(self, form: StudyForm) -> None:
        """Put what was typed into the column and not started yet into ``form`` (filled
        already with the project's remembered settings): the budget, and the fields of
        ``form``'s kind."""
        self._collect()
        fields = self._edits.get(form.kind)
        if self._typed_budget or fields:
            memory.apply_form(form, self._typed_budget, fields or {})
            form.replan()

    def refresh(self) -> bool:
        """Build the form again, with the values it holds, when the network or its training
        settings changed since it was built; True when it was."""
        try:
            current = self._key(self.inputs())
        except ValueError:
            current = None
        if self.form is not None and current == self._built_from:
            return False
        self._collect()
        self._build()
        return True

    def _on_kind(self) -> None:
        self._collect()
        self._build()

    def _collect(self) -> None:
        """Note what was typed into the form: the values that differ from its first ones."""
        if self.form is None:
            return
        budget, fields = memory.read_form(self.form)
        first_budget, first_fields = self._initial
        self._typed_budget = {k: v for k, v in budget.items() if first_budget.get(k) != v}
        self._edits[self.form.kind] = {k: v for k, v in fields.items()
                                       if first_fields.get(k) != v}

    def _build(self) -> None:
        """A new form of the chosen kind on the project's inputs: its training settings,
        what is remembered for the project over them, and what was typed over that (when
        the column shows; else when it is next shown)."""
        self._drop_form()
        self._pending = not self.isVisible()
        if self._pending:
            return
        self.about.setText(ABOUT[self.kind])
        try:
            inputs = self.inputs()
        except ValueError as exc:  # ConfigError: the training panel holds an unusable setting
            self._built_from = None
            self._say(f"Cannot plan a study: {exc}")
            return
        form = StudyForm(self.kind, inputs.graph, inputs.base, inputs.project, self.body,
                         inputs.source)
        memory.recall(self.settings, self.project, form)
        self._initial = memory.read_form(form)
        fields = self._edits.get(self.kind)
        if self._typed_budget or fields:
            memory.apply_form(form, self._typed_budget, fields or {})
            form.replan()
        self.form, self._built_from = form, self._key(inputs)
        self.body_layout.addWidget(form)
        form.planned.connect(lambda _study: self._say(""))
        self._say("")

    def _drop_form(self) -> None:
        if self.form is not None:
            self.form.stop_timing()
            self.body_layout.removeWidget(self.form)
            self.form.hide()  # at once: the deletion waits for the event loop
            self.form.deleteLater()
            self.form = None

    @staticmethod
    def _key(inputs: SetupInputs) -> tuple[Any, ...]:
        return to_dict(inputs.graph), inputs.base, inputs.source

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ----- starting ---------------------------------------------------------------------------
    def request_start(self) -> Study | None:
        """Start what the form plans; with nothing to plan, say why and start nothing."""
        if not self.isEnabled():
            return None
        self.refresh()  # never train a network edited since the form was built
        form = self.form
        if form is None:
            return None  # the message says why there is no form
        study = form.replan()
        if study is None:
            self._say(f"Cannot start: {form.error.text()}")
            return None
        memory.remember(self.settings, self.project, form)
        memory.remember_kind(self.settings, self.project, form.kind)
        self._typed_budget, self._initial = {}, memory.read_form(form)  # remembered now
        self._edits.pop(form.kind, None)
        self.started.emit(study, form.estimates())
        return study

    def at_once(self) -> int:
        """Runs to train at once: the form's, else what was last set for the project."""
        if self.form is not None:
            return self.form.at_once.value()
        return memory.recall_at_once(self.settings, self.project)

    def cluster(self) -> str | None:
        """The Ray cluster to run on (its address), or None for this machine: the form's,
        else what was last set for the project."""
        if self.form is not None:
            return self.form.run_on.cluster()
        return memory.recall_cluster(self.settings, self.project)

    def set_running(self, running: bool) -> None:
        """While a study runs the form cannot change (Stop and Resume are the view's)."""
        self.setEnabled(not running)

    def shutdown(self) -> None:
        if self.form is not None:
            self.form.stop_timing()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._pending:
            self._build()
        else:
            self.refresh()  # the network may have been edited in Design meanwhile
