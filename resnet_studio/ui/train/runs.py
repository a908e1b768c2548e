"""The runs list.

``RunsPanel`` lists every run directory of the project (and any opened by hand, such as one
written by ``resnet-studio train``) with its status, best validation score (accuracy, or a
dense task's main metric) and duration.
Selecting runs overlays their curves in ``compare_view.CompareView``. The list is made with
the window; it imports no plotting library (pyqtgraph loads with the plots, on first use).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...train.history import MAIN_METRIC, METRIC_LABELS
from ...train.progress import format_duration
from ...train.rundir import RunReadError, RunSummary, list_runs, summarise

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_NAME = re.compile(r"^(.*)-(\d{8})-(\d{6})(.*)$")  # as TrainingController.new_run_dir
COLUMNS = ("Run", "Status", "Best val.", "Epochs", "Duration")
BEST_TIP = ("The best validation score of the run: top-1 accuracy for a classifier, mAP@0.5 "
            "for a detector, mean IoU for a segmenter.")
STATUS_COLOURS = {"failed": "#b42318", "running": "#1a5fb4", "stopped": "#9a6700"}


def short_name(path: Path) -> str:
    """``resnet20 06:32:30`` for ``runs/resnet20-20261122-063230`` (legends have little
    room); other folder names are kept."""
    found = RUN_NAME.match(path.name)
    if found is None:
        return path.name
    name, _, clock, extra = found.groups()
    return f"{name}{extra} {clock[:2]}:{clock[2:4]}:{clock[4:]}"


class RunsPanel(QWidget):
    """The table of runs. ``selection_changed(paths)``; buttons ask the controller to act."""

    selection_changed = Signal(list)
    show_requested = Signal(object)     # Path: show this run's curves in the live plots
    resume_requested = Signal(object)   # Path: go on training from its last.pt
    open_requested = Signal()           # open a run directory from anywhere
    menu_requested = Signal(object, object)  # (Path, global QPoint): right-click on a run
    # The list was read again (``summaries`` holds it): other views of the project's runs,
    # such as the Analyze workspace's run picker, list from it instead of reading the folder.
    listed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.root: Path | None = None
        self.extra: list[Path] = []
        # Which runs of ``root`` belong to the open project (``ProjectSessions.owns``): an
        # untitled project shares the application's runs folder with every other one.
        self.scope: Callable[[Path], bool] = lambda path: True
        self._running: Path | None = None
        self.running_epoch: int | None = None  # the epoch the running run is in
        self.summaries: dict[Path, RunSummary] = {}
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(2).setToolTip(BEST_TIP)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.cellDoubleClicked.connect(lambda row, _: self._request(self.show_requested))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.buttons = {name: QPushButton(text, self) for name, text in (
            ("open", "Open Run…"), ("show", "Show Curves"), ("resume", "Resume"),
            ("refresh", "Refresh"))}
        self.buttons["open"].clicked.connect(self.open_requested)
        self.buttons["show"].clicked.connect(lambda: self._request(self.show_requested))
        self.buttons["resume"].clicked.connect(lambda: self._request(self.resume_requested))
        self.buttons["refresh"].clicked.connect(self.refresh)
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._update_buttons()

    @property
    def running(self) -> Path | None:
        """The run that trains now (its folder is listed before it has files)."""
        return self._running

    @running.setter
    def running(self, run: Path | None) -> None:
        self._running, self.running_epoch = run, None

    # ----- contents ---------------------------------------------------------------------------
    def set_root(self, root: Path | None) -> None:
        self.root = root
        self.refresh()

    def add_run(self, path: Path) -> RunSummary:
        """Add a run directory from anywhere (raises RunReadError if it is not one)."""
        summary = summarise(path)
        if path not in self.extra and (self.root is None or path.parent != self.root):
            self.extra.append(path)
        self.refresh()
        return summary

    def paths(self) -> list[Path]:
        found = list_runs(self.root) if self.root is not None else []
        found = [p for p in found if self.scope(p)]
        return found + [p for p in self.extra if p not in found]

    def refresh(self) -> None:
        selected = set(self.selected_paths())
        self.summaries = {}
        paths = self.paths()
        if self.running is not None and self.running not in paths:
            paths.append(self.running)  # its folder appears with its first record
        for path in paths:
            try:
                self.summaries[path] = summarise(path, running=path == self.running)
            except RunReadError:
                if path == self.running:
                    self.summaries[path] = RunSummary(path, "running")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.summaries))
        for row, summary in enumerate(self.summaries.values()):
            self._fill_row(row, summary)
        self.table.clearSelection()
        for row, path in enumerate(self.summaries):
            if path in selected:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._update_buttons()
        self.listed.emit()

    def refresh_running(self) -> None:
        """Read the running run's row again (after an epoch: its best accuracy so far),
        leaving the other runs' files alone; the whole list when its row is not there yet."""
        if self.running not in self.summaries:
            self.refresh()
            return
        try:
            summary = summarise(self.running, running=True)
        except RunReadError:
            return
        self.summaries[self.running] = summary
        self._fill_row(list(self.summaries).index(self.running), summary)
        self.listed.emit()  # its first checkpoint may have appeared

    def show_running_epoch(self, epoch: int) -> None:
        """The running run is in ``epoch`` (1-based): say so in its row (``metrics.csv``
        only counts the epochs it has finished)."""
        if epoch == self.running_epoch:
            return
        self.running_epoch = epoch
        if self.running in self.summaries:
            row = list(self.summaries).index(self.running)
            self._fill_row(row, self.summaries[self.running])

    def _fill_row(self, row: int, s: RunSummary) -> None:
        done = s.epochs_done
        if s.path == self.running and self.running_epoch is not None:
            done = max(done, self.running_epoch)  # the epoch in progress
        epochs = f"{done}/{s.epochs}" if s.epochs else str(done)
        best = f"{s.best_val_acc:.1%}" if s.best_val_acc is not None else "—"
        if s.best_val_acc is not None and s.task in MAIN_METRIC:
            best += f" {METRIC_LABELS[MAIN_METRIC[s.task]]}"
        started = datetime.fromtimestamp(s.started).strftime("%Y-%m-%d %H:%M") if s.started else ""
        cells = (short_name(s.path), s.status, best, epochs, format_duration(s.duration))
        tip = "\n".join(filter(None, (str(s.path), f"started {started}" if started else "",
                                      s.message)))
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column == 1 and s.status in STATUS_COLOURS:
                item.setForeground(QColor(STATUS_COLOURS[s.status]))
            if column in (2, 3, 4):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(tip)
            self.table.setItem(row, column, item)
        self.table.item(row, 0).setData(PATH_ROLE, str(s.path))

    # ----- selection --------------------------------------------------------------------------
    def selected_paths(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [Path(self.table.item(r, 0).data(PATH_ROLE)) for r in rows]

    def select_paths(self, paths: Sequence[Path]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if Path(self.table.item(row, 0).data(PATH_ROLE)) in paths:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _on_selection(self) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected_paths())

    def _update_buttons(self) -> None:
        paths = self.selected_paths()
        one = paths[0] if len(paths) == 1 else None
        self.buttons["show"].setEnabled(one is not None)
        summary = self.summaries.get(one) if one is not None else None
        self.buttons["resume"].setEnabled(
            summary is not None and summary.has_checkpoint and summary.status != "running"
            and summary.status != "finished")

    def _on_context_menu(self, pos) -> None:
        item = self.table.itemAt(pos)
        if item is not None:
            path = Path(self.table.item(item.row(), 0).data(PATH_ROLE))
            self.menu_requested.emit(path, self.table.viewport().mapToGlobal(pos))

    def _request(self, signal) -> None:
        paths = self.selected_paths()
        if len(paths) == 1:
            signal.emit(paths[0])
