"""Help → Keyboard Shortcuts: a table built from the window's own actions, so it lists what
the keys really do and cannot fall behind a changed or added shortcut."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

NATIVE = QKeySequence.SequenceFormat.NativeText


@dataclass(frozen=True)
class ShortcutRow:
    menu: str      # the menu that lists the action ("" for one only in a context menu)
    action: str    # its text without mnemonics or the trailing ellipsis
    keys: str      # its shortcuts, as this platform writes them
    source: QAction


def plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _menu_of(action: QAction) -> str:
    menus = [o for o in action.associatedObjects() if isinstance(o, QMenu)]
    return plain(menus[0].title()) if menus else ""


def shortcut_rows(window: QWidget) -> list[ShortcutRow]:
    """Every action of ``window`` that has a shortcut, in menu order then by name."""
    rows = []
    for action in window.findChildren(QAction):
        keys = [k for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            rows.append(ShortcutRow(_menu_of(action), plain(action.text()),
                                    ", ".join(k.toString(NATIVE) for k in keys), action))
    order = {plain(m.title()): i for i, m in enumerate(_menu_bar_menus(window))}
    return sorted(rows, key=lambda r: (order.get(r.menu, len(order)), r.menu, r.action))


def _menu_bar_menus(window: QWidget) -> list[QMenu]:
    bar = window.menuBar() if hasattr(window, "menuBar") else None
    return [a.menu() for a in bar.actions() if a.menu() is not None] if bar else []


class ShortcutsDialog(QDialog):
    """The table of ``shortcut_rows``: menu, action, keys."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = shortcut_rows(window)
        self.table = QTableWidget(len(self.rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, entry in enumerate(self.rows):
            for column, text in enumerate((entry.menu, entry.action, entry.keys)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(560, 620)
