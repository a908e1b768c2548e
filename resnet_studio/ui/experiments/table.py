"""The results tables: one row per run (``study.results`` rows) and one per configuration
(``summary_rows``: mean ± 95 % interval over its seeds), sortable by any column.

``ResultsModel`` shows the rows as text and gives the raw values under ``SORT_ROLE`` (an
estimate sorts by its mean); ``ResultsProxy`` sorts on them with missing values (None, NaN,
a run not trained yet) last in either direction, numbers as numbers and anything else as text.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtCore import QSortFilterProxyModel as _Proxy
from PySide6.QtGui import QColor

from ...study.aggregate import ConfigSummary
from ...study.stats import Estimate
from ...summary import human_count

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
HEADERS = {"label": "run", "status": "status", "params": "params", "macs": "MACs",
           "steps": "steps", "final_train_error": "train error", "final_val_error": "val error",
           "final_val_acc": "val acc", "best_val_acc": "best val acc",
           "steps_to_target": "steps to target", "seconds": "seconds", "error": "error",
           "train_error": "train error", "val_error": "val error", "seeds": "seeds",
           "failed": "failed"}
PERCENT = ("final_train_error", "final_val_error", "final_val_acc", "best_val_acc",
           "train_error", "val_error")
COUNTS = ("params", "macs")
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()


def missing(value: Any) -> bool:
    if isinstance(value, Estimate):
        return value.n == 0
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def summary_rows(summary: list[ConfigSummary]) -> list[dict[str, Any]]:
    """The per-configuration table: label, values, status, seeds with numbers / runs, failed
    runs, costs, and the estimates of training and validation error and best accuracy."""
    return [{"label": s.label, **s.values, "status": s.status,
             "seeds": f"{s.val_error.n}/{len(s.runs)}", "failed": s.failed, "params": s.params,
             "macs": s.macs, "train_error": s.train_error, "val_error": s.val_error,
             "best_val_acc": s.best_val_acc} for s in summary]


def sort_value(value: Any) -> Any:
    return value.mean if isinstance(value, Estimate) else value


def cell_text(column: str, value: Any) -> str:
    """How the table shows one value (an estimate as ``12.3 ± 1.1 %``)."""
    if missing(value):
        return "—"
    if isinstance(value, Estimate):
        return value.percent()
    if column in PERCENT:
        return f"{100 * value:.1f} %"
    if column in COUNTS:
        return human_count(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ResultsModel(QAbstractTableModel):
    """The rows of ``StudyResults`` (a list of dicts with the same keys)."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.columns: list[str] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.columns = list(rows[0]) if rows else []
        self.endResetModel()

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        value = self.rows[index.row()].get(column)
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(column, value)
        if role == SORT_ROLE:
            return sort_value(value)
        if role == Qt.ItemDataRole.ToolTipRole and column == "error" and value:
            return str(value)
        if role == Qt.ItemDataRole.ForegroundRole and self.rows[index.row()].get(
                "status") == "failed":
            return QColor("#cf222e")
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float, Estimate)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS.get(self.columns[section], self.columns[section])
        return None


class ResultsProxy(_Proxy):
    """Sorts by the raw values; missing ones last whichever way the column is sorted."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if missing(a) and missing(b):
            return False
        if missing(a) or missing(b):
            # Qt reverses the comparison for a descending sort; answer so that a missing
            # value ends up last both ways.
            descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
            return (missing(b) and not missing(a)) != descending
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)
