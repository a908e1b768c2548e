"""The Analyze workspace's run picker: which trained run the Lesion, Landscape and Explain
pages analyse.

It lists the open project's runs that hold a checkpoint, newest first, as the Train
workspace's runs table has read them (``RunsPanel.summaries``: one listing, not a second
reading of the folder), and shows the window's run in focus; choosing an entry asks for that
run to be put in focus (``chosen``), so Export Checkpoint and Check an Image follow too. With
no trained run it is disabled and says to train one first; Browse… opens a run directory
from anywhere (``browse_requested``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ...train.rundir import RunSummary, find_checkpoint
from ..shell import theme

NO_TRAINED_RUN = ("No trained run in this project yet: train one first "
                  "(Train workspace, Ctrl+3), or Browse… for a run folder.")
PICK_A_RUN = "Pick a run…"


def trained(summaries: Iterable[RunSummary]) -> list[RunSummary]:
    """The runs that hold a checkpoint (best.pt or last.pt), newest first."""
    found = [s for s in summaries if find_checkpoint(s.path) is not None]
    return sorted(found, key=lambda s: (s.started, s.path.name), reverse=True)


def run_label(summary: RunSummary) -> str:
    """``resnet20-20261122-063230 · finished · 91.2 %``: the folder's name (unique in the
    project), its status and best validation accuracy when known."""
    parts = [summary.path.name, summary.status]
    if summary.best_val_acc is not None:
        parts.append(f"{summary.best_val_acc:.1%}")
    return " · ".join(parts)


class RunPicker(QWidget):
    """``Run: [combo] [Browse…]`` and a note. ``show_runs`` fills it; ``chosen(Path)`` when
    the user picks another run; ``browse_requested`` for Browse…."""

    chosen = Signal(object)
    browse_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.combo.setToolTip("The trained run that Lesion, Landscape and Explain analyse; "
                              "it is the window's run in focus")
        self.combo.currentIndexChanged.connect(self._on_index)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setToolTip("Open a run folder from anywhere (as Training ▸ Open "
                                      "Run…, Ctrl+Shift+O) and analyse it")
        self.browse_button.clicked.connect(self.browse_requested)
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet(f"color: {theme.MUTED.name()};")
        label = QLabel("Run:")
        label.setFont(theme.ui_font(10.5, bold=True))
        label.setBuddy(self.combo)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 2)
        row.addWidget(label)
        row.addWidget(self.combo)
        row.addWidget(self.browse_button)
        row.addWidget(self.note, 1)
        self.show_runs([], None)

    def runs(self) -> list[Path]:
        """The runs listed, in their order."""
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def picked(self) -> Path | None:
        """The run shown as chosen (None when none of the listed runs is)."""
        index = self.combo.currentIndex()
        return self.combo.itemData(index) if index >= 0 else None

    def show_runs(self, summaries: Iterable[RunSummary], focus: Path | None) -> None:
        """List the trained runs of ``summaries`` and show ``focus`` as chosen (listed too
        when it holds a checkpoint: the run in focus belongs to the project)."""
        runs = trained(summaries)
        if focus is not None and focus not in [s.path for s in runs]:
            runs = trained(runs + [_summary(focus)])
        self.combo.blockSignals(True)
        self.combo.clear()
        for summary in runs:
            self.combo.addItem(run_label(summary), summary.path)
            self.combo.setItemData(self.combo.count() - 1, str(summary.path),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self.combo.setEnabled(bool(runs))
        self.follow(focus)

    def follow(self, focus: Path | None) -> None:
        """Show ``focus`` as the chosen run (no ``chosen`` signal: it is chosen already)."""
        runs = self.runs()  # (findData compares Python objects by identity, not by value)
        index = runs.index(focus) if focus in runs else -1
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        if not self.combo.count():
            self.combo.setPlaceholderText("no trained run")
            self.note.setText(NO_TRAINED_RUN)
        elif index < 0:
            self.combo.setPlaceholderText(PICK_A_RUN)
            self.note.setText(_not_listed(focus))
        else:
            self.note.setText("Export Checkpoint and Check an Image use it too.")
        self.combo.setToolTip(str(focus) if index >= 0 else self.note.text())

    def _on_index(self, index: int) -> None:
        if index >= 0:
            self.chosen.emit(self.combo.itemData(index))


def _summary(run: Path) -> RunSummary:
    """A run outside the listing (the run in focus), read for its label."""
    from ...train.rundir import RunReadError, summarise

    try:
        return summarise(run)
    except RunReadError:
        return RunSummary(run, "incomplete")


def _not_listed(focus: Path | None) -> str:
    if focus is None:
        return "Pick the run to analyse."
    return f"The run in focus, {focus.name}, holds no checkpoint yet: pick a trained run."

