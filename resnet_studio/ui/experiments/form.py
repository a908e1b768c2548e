"""The form that sets up a study: its budget, what it varies, the plan and its estimate.

One form serves every kind (``study.plan.KINDS``) and both places a study is set up: the
study dialog (``dialog``) and the Experiments workspace's set-up column (``setup``), so the
two plan the same study from the same inputs. The kind decides the middle group
(depths, block types, swept settings, an existing run). The budget starts from the open
project's training settings (what Train would use, as ``resnet-studio experiment`` does);
a degradation study may start from a named budget instead (``study.setup.BUDGETS``), and the
form's fields override either. Whatever the form holds is planned again a moment after each
change, so the run list, the settings line and the warning about runs too short to learn
always show what Start would train. The time estimate trains a few steps of one network
(``study.estimate``) on a worker thread, on request.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...data.config import TORCHVISION_SETS
from ...graph import Graph
from ...study import derive, kinds
from ...study.estimate import Estimate, budget_warning, run_steps
from ...study.plan import Study, StudyError
from ...study.setup import apply_budget, cpu_depths, describe, repeat
from ...train import TrainConfig
from ...train.progress import format_duration
from ..data.wording import app_wording
from ..shell.busy import ProgressTask
from ..train.defaults import synthetic_for
from ..train.settings import DATASET_TITLES
from .run_on import RunOnField

TITLES = {"degradation": "Degradation study", "variants": "Block variants",
          "sweep": "Sweep", "twin": "Plain twin"}
NONE = "(none)"
BUDGET_TITLES = {None: "The project's training settings",
                 "cpu": "CPU demo: MNIST, 3 epochs, depths 8, 20, 44",
                 "paper": "He et al. 2016: 164 epochs, ×0.1 at 50 % and 75 %"}
REPLAN_MS = 150
MAX_AT_ONCE = 64
MIN_COMBO_CHARS = 14


class StudyForm(QWidget):
    """The set-up of one study of ``kind`` on ``graph`` starting from ``base`` (a TrainConfig).

    ``source`` says where ``base`` came from (the plan records it). ``study`` is the
    current plan (None while the form holds an error, shown in red); ``estimate`` the last
    time estimate. ``planned(study or None)`` follows every new plan; ``estimated`` is
    emitted when an estimate arrives."""

    planned = Signal(object)
    estimated = Signal(object)

    def __init__(self, kind: str, graph: Graph, base: TrainConfig, project: str = "",
                 parent: QWidget | None = None, source: str = "the training settings"):
        super().__init__(parent)
        self.kind, self.graph, self.base_config, self.project = kind, graph, base, project
        self.source = source
        self.study: Study | None = None
        self.estimate: Estimate | None = None
        self.task: ProgressTask | None = None
        self._timer = QTimer(self, singleShot=True, interval=REPLAN_MS)
        self._timer.timeout.connect(self.replan)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._budget_group())
        layout.addWidget(self._kind_group())
        layout.addWidget(self._plan_group(), 1)
        self.replan()

    # ----- the form ---------------------------------------------------------------------------
    def _budget_group(self) -> QGroupBox:
        box = QGroupBox("Budget (every run)", self)
        form = QFormLayout(box)
        data = self.base_config.data
        self.epochs = self._watch(QSpinBox(box, minimum=1, maximum=10_000,
                                           value=self.base_config.epochs))
        self.dataset = _narrow(QComboBox(box))
        for key in ("synthetic", *TORCHVISION_SETS):
            self.dataset.addItem(DATASET_TITLES[key], key)
        if data.is_folder:
            self.dataset.addItem(f"Image folder {data.folder}", data.dataset)
        self.dataset.setCurrentIndex(max(0, self.dataset.findData(data.dataset)))
        self._watch(self.dataset)
        self.train_size = self._watch(QSpinBox(box, minimum=16, maximum=1_000_000,
                                               singleStep=500, value=data.train_size))
        self.train_size.setToolTip("Training images of the built-in synthetic set (the other "
                                   "datasets train on their whole training split).")
        self.repeats = self._watch(QSpinBox(box, minimum=1, maximum=20, value=1))
        self.repeats.setToolTip("Train every configuration this many times, from consecutive "
                                "seeds; the data and their split stay the same, so only the "
                                "initial weights and the batch order differ.")
        self.budget_choice = _narrow(QComboBox(box))
        for key, text in BUDGET_TITLES.items():
            if key is None or self.kind == "degradation":
                self.budget_choice.addItem(text, key)
        self.budget_choice.currentIndexChanged.connect(self._budget_chosen)
        if self.kind == "degradation":
            form.addRow("Start from", self.budget_choice)
        else:
            self.budget_choice.hide()  # only the degradation study has named budgets
        form.addRow("Epochs", self.epochs)
        form.addRow("Dataset", self.dataset)
        form.addRow("Training images", self.train_size)
        form.addRow("Repeats", self.repeats)
        self.at_once = QSpinBox(box, minimum=1, maximum=MAX_AT_ONCE, value=1)
        self.at_once.setToolTip("Runs trained at the same time, each in a process of its own "
                                "with its share of the CPU threads (on a GPU they share it); "
                                "1 trains them one after another. The results are the same.")
        self.at_once.valueChanged.connect(self._show_total)
        form.addRow("Run at once", self.at_once)
        self.run_on = RunOnField(box)
        form.addRow("Run on", self.run_on)
        return box

    def _budget_chosen(self) -> None:
        """Show the chosen budget's epochs, dataset (and the cpu budget's depths) in the form,
        which then override it like the options of ``experiment degradation --budget``."""
        chosen = apply_budget(self.base_config, self.budget_choice.currentData())
        self.epochs.setValue(chosen.epochs)
        self.dataset.setCurrentIndex(max(0, self.dataset.findData(chosen.data.dataset)))
        if self.budget_choice.currentData() == "cpu":
            _, step, reachable = derive.reachable_depths(self.graph, limit=7)
            if step:
                self.depths.setText(",".join(map(str, cpu_depths(reachable))))
        self._schedule()

    def _kind_group(self) -> QGroupBox:
        box = QGroupBox({"degradation": "Depths", "variants": "Residual blocks",
                         "sweep": "Settings to vary", "twin": "Residual side"}[self.kind], self)
        form = QFormLayout(box)
        getattr(self, f"_{self.kind}_fields")(box, form)
        return box

    def _degradation_fields(self, box: QWidget, form: QFormLayout) -> None:
        _, step, reachable = derive.reachable_depths(self.graph)
        # Without stages the depth cannot vary; the plan then says so in words.
        depths = reachable[:4] if step else list(kinds.DEFAULT_DEPTHS)
        self.depths = self._watch(QLineEdit(",".join(map(str, depths)), box))
        self.depths.setToolTip("Weighted layers on the main path, comma-separated; each "
                               "depth trains a residual network and its plain twin.")
        form.addRow("Depths", self.depths)

    def _variants_fields(self, box: QWidget, form: QFormLayout) -> None:
        self.blocks = QListWidget(box)
        chosen = kinds.default_variants(self.graph)
        for type_id in derive.residual_types(self.graph):
            spec = self.graph.spec(type_id)
            item = QListWidgetItem(f"{spec.title if spec else type_id}  ({type_id})")
            item.setData(Qt.ItemDataRole.UserRole, type_id)
            item.setToolTip(item.text())  # the list elides a long name rather than scroll
            item.setCheckState(Qt.CheckState.Checked if type_id in chosen
                               else Qt.CheckState.Unchecked)
            self.blocks.addItem(item)
        self.blocks.setMaximumHeight(170)
        self.blocks.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.blocks.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.blocks.itemChanged.connect(self._schedule)
        self.target = self._watch(QDoubleSpinBox(box, minimum=0.01, maximum=1.0,
                                                 singleStep=0.05, value=0.9, decimals=2))
        form.addRow("Blocks", self.blocks)
        form.addRow("Target accuracy", self.target)

    def _sweep_fields(self, box: QWidget, form: QFormLayout) -> None:
        self.vary: list[tuple[QComboBox, QLineEdit]] = []
        for first, (name, values) in enumerate((("lr", "0.01,0.03,0.1"), (NONE, ""))):
            setting = QComboBox(box)
            if first:
                setting.addItem(NONE, NONE)
            for key, text in kinds.SWEEPABLE.items():
                setting.addItem(key, key)
                setting.setItemData(setting.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
            setting.setCurrentIndex(setting.findData(name))
            edit = QLineEdit(values, box, placeholderText="values, comma-separated")
            row = QWidget(box)
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(setting)
            line.addWidget(edit, 1)
            self.vary.append((self._watch(setting), self._watch(edit)))
            form.addRow("Second setting" if first else "Setting", row)

    def _twin_fields(self, box: QWidget, form: QFormLayout) -> None:
        self.existing = self._watch(QLineEdit(box, placeholderText="train the network too"))
        self.existing.setToolTip("A finished run directory of this network: it stands for "
                                 "the residual side, and only the twin is trained.")
        form.addRow("Existing run", self.existing)

    def _plan_group(self) -> QGroupBox:
        box = QGroupBox("Plan", self)
        layout = QVBoxLayout(box)
        self.title = QLabel(box, wordWrap=True)
        self.error = QLabel(box, wordWrap=True)
        self.error.setStyleSheet("color: #cf222e;")
        self.settings_line = QLabel(box, wordWrap=True)
        self.settings_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel(box, wordWrap=True)
        self.warning.setStyleSheet("color: #9a6700;")
        self.table = QTableWidget(0, 3, box)
        self.table.setHorizontalHeaderLabels(["Run", "Varies", "Estimate"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.total = QLabel("Estimate: not timed yet.", box)
        self.estimate_button = QPushButton("Estimate Time", box)
        self.estimate_button.setToolTip("Train a few steps of one network to estimate every "
                                        "run's time")
        self.estimate_button.clicked.connect(self.estimate_time)
        self.total.setWordWrap(True)
        timing = QHBoxLayout()  # under the runs and steps: the plan's size, then its time
        timing.addWidget(self.total, 1)
        timing.addWidget(self.estimate_button)
        layout.addWidget(self.title)
        layout.addLayout(timing)
        for widget in (self.error, self.settings_line, self.warning, self.table):
            layout.addWidget(widget)
        return box

    def _watch(self, widget: Any) -> Any:
        """Plan again shortly after ``widget`` changes."""
        for name in ("valueChanged", "currentIndexChanged", "textChanged"):
            signal = getattr(widget, name, None)
            if signal is not None:
                signal.connect(self._schedule)
                break
        return widget

    def _schedule(self, *args: Any) -> None:
        self._timer.start()

    # ----- planning ---------------------------------------------------------------------------
    def budget(self) -> TrainConfig:
        """The base settings (with the chosen budget) and the dialog's epochs, dataset and
        training-set size over them."""
        key = self.dataset.currentData()
        base = apply_budget(self.base_config, self.budget_choice.currentData())
        data = base.data
        if key == "synthetic":
            data = synthetic_for(self.graph, data).replace(train_size=self.train_size.value())
        else:
            data = data.replace(dataset=key)
        return base.replace(epochs=self.epochs.value(), data=data)

    def plan(self) -> Study:
        """The study the form describes, repeated and with its settings stated (StudyError
        naming the field at fault)."""
        source = self.source
        if self.budget_choice.currentData():
            source += f"; with the ‘{self.budget_choice.currentData()}’ budget"
        seed = self.base_config.seed
        return describe(repeat(self._plan_kind(), self.repeats.value(), seed), source)

    def _plan_kind(self) -> Study:
        base, name = self.budget(), self.project
        if self.kind == "degradation":
            return kinds.plan_degradation(self.graph, base, _ints(self.depths.text()), name)
        if self.kind == "variants":
            chosen = [self.blocks.item(i).data(Qt.ItemDataRole.UserRole)
                      for i in range(self.blocks.count())
                      if self.blocks.item(i).checkState() == Qt.CheckState.Checked]
            return kinds.plan_variants(self.graph, base, chosen, self.target.value(), name)
        if self.kind == "sweep":
            return kinds.plan_sweep(self.graph, base, self._swept(), name)
        return kinds.plan_twin(self.graph, base, self.existing.text().strip() or None, name)

    def _swept(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for setting, edit in self.vary:
            name = setting.currentData()
            if name != NONE:
                if name in out:
                    raise StudyError(f"‘{name}’ is chosen twice; choose two different settings.")
                out[name] = kinds.parse_values(name, edit.text())
        return out

    def replan(self) -> Study | None:
        """Plan from the form now; show the runs, or the reason there is no plan."""
        self._timer.stop()
        self.train_size.setEnabled(self.dataset.currentData() == "synthetic")
        try:
            study = self.plan()
        except (StudyError, ValueError) as exc:
            study, message = None, app_wording(str(exc))
        else:
            message = ""
        if study is None or self.study is None or not study.same_plan(self.study):
            self.estimate = None
            self.total.setText("Estimate: not timed yet.")
        self.study = study
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.title.setText(plan_line(study) if study else "")
        self.title.setVisible(study is not None)
        self.settings_line.setVisible(study is not None)
        self.settings_line.setText(
            f"Settings from {study.settings['settings_source'].rstrip('.')}.\nEvery run: "
            f"{study.settings['effective']}" if study else "")
        warning = budget_warning(study) if study else None
        warning = (warning or "").removeprefix("warning: ")
        self.warning.setText(warning[:1].upper() + warning[1:])
        self.warning.setVisible(bool(warning))
        self.estimate_button.setEnabled(study is not None)
        self._fill_table()
        self.planned.emit(study)
        return study

    def _fill_table(self) -> None:
        runs = self.study.runs if self.study else []
        self.table.setRowCount(len(runs))
        for row, spec in enumerate(runs):
            values = ", ".join(f"{k}={v}" for k, v in spec.values.items())
            seconds = self.estimate.seconds.get(spec.name) if self.estimate else None
            when = ("existing run" if spec.existing else "—" if seconds is None
                    else format_duration(seconds))
            for column, text in enumerate((spec.label, values, when)):
                self.table.setItem(row, column, QTableWidgetItem(text))

    # ----- the estimate -----------------------------------------------------------------------
    def estimate_time(self) -> ProgressTask | None:
        """Time a few steps on a worker thread, in a busy dialog with the time left and
        Cancel; ``estimated`` when the estimate is in."""
        study = self.replan()
        if study is None or self.task is not None:
            return None
        from ...study.estimate import estimate

        self.estimate_button.setEnabled(False)
        self.total.setText("Timing a few training steps…")
        self.task = ProgressTask(
            lambda progress, cancel: estimate(study, progress=progress, cancel=cancel),
            "Timing a few training steps…", self,
            lambda result: self._show_estimate(study, result), self._estimate_failed)
        self.task.ended.connect(self._estimate_ended)
        return self.task.start()

    def _show_estimate(self, study: Study, estimate: Estimate) -> None:
        if self.study is None or not study.same_plan(self.study):
            return  # the form changed while timing: this estimate is of another plan
        self.estimate = estimate
        self._show_total()
        self._fill_table()
        self.estimated.emit(estimate)

    def _show_total(self) -> None:
        """The estimate's total, and how long with the runs trained at once."""
        estimate = self.estimate
        if estimate is None:
            return
        total, slots = estimate.total, self.at_once.value()
        at_once = (f"; {slots} at once: about {format_duration(estimate.wall(slots))}"
                   if slots > 1 and total is not None else "")
        self.total.setText("Estimate: " + ("unknown (the dataset's size is known only once "
                                           "loaded)" if total is None else
                                           f"about {format_duration(total)} in all "
                                           f"({estimate.step_seconds * 1000:.0f} ms per step"
                                           f"{at_once})"))

    def _estimate_failed(self, exc: BaseException) -> None:
        self.total.setText(f"Cannot estimate: {exc}")

    def _estimate_ended(self) -> None:
        if self.task is not None and self.task.cancelled:
            self.total.setText("Estimate: cancelled; not timed.")
        self.task = None
        self.estimate_button.setEnabled(self.study is not None)

    def estimates(self) -> dict[str, float | None] | None:
        """Seconds per run for the queue's whole-study ETA (None when not timed)."""
        return dict(self.estimate.seconds) if self.estimate else None

    def stop_timing(self) -> None:
        """Cancel a timing in progress and wait for its thread: none may outlive the form."""
        if self.task is not None:  # it stops at its next step
            self.task.cancel()
            self.task.wait()


def _narrow(combo: QComboBox) -> QComboBox:
    """A combo box whose width does not follow its longest entry (a named budget's line, an
    image folder's path), so that the form fits a narrow column; the list shows them whole."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(MIN_COMBO_CHARS)
    return combo


def plan_line(study: Study) -> str:
    """The study's title, its runs and their optimiser steps in all (the runs an existing
    run directory stands for train nothing)."""
    steps = [run_steps(spec.config) for spec in study.runs if not spec.existing]
    total = ("steps known once the data are loaded" if None in steps
             else f"{sum(steps):,} steps in all")
    return f"{study.title}: {len(study.runs)} runs, {total}"


def _ints(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise StudyError(f"depths ‘{text}’ are not comma-separated whole numbers.") from None

