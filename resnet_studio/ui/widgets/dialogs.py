"""Dialogs: the preset gallery with the empty project (File ▸ New) and "Make block from
selection"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from . import format as fmt

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
EMPTY_PROJECT = "<empty>"  # what the gallery answers for the blank project (no preset)


class PresetGallery(QDialog):
    """Lists the presets with their descriptions; ``chosen()`` is the selected name."""

    def __init__(self, presets: Mapping[str, Any], current: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New project from a preset")
        self.resize(760, 460)
        self.presets = presets
        self.list = QListWidget(self)
        self.details = QLabel(self, wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setMinimumWidth(360)
        empty = QListWidgetItem("Empty project (Input and Output)")
        empty.setData(NAME_ROLE, EMPTY_PROJECT)
        self.list.addItem(empty)
        if current == EMPTY_PROJECT:
            self.list.setCurrentItem(empty)
        family = None
        for name, preset in presets.items():
            if preset.family != family:
                family = preset.family
                header = QListWidgetItem(family.upper())
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                self.list.addItem(header)
            item = QListWidgetItem(f"   {preset.title}")
            item.setData(NAME_ROLE, name)
            item.setToolTip(preset.description)
            self.list.addItem(item)
            if name == current:
                self.list.setCurrentItem(item)
        self.list.currentItemChanged.connect(lambda item, _: self._describe(item))
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addWidget(self.details, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self._describe(self.list.currentItem())

    def _describe(self, item: QListWidgetItem | None) -> None:
        name = item.data(NAME_ROLE) if item is not None else None
        if name is None:
            self.details.setText("Choose a network to start from.")
            return
        if name == EMPTY_PROJECT:
            self.details.setText("<h3>Empty project</h3><p>An Input and an Output node: drag "
                                 "blocks from the palette in between.</p>")
            return
        p = self.presets[name]
        spec = p.default_input
        self.details.setText(
            f"<h3>{p.title}</h3><p>{p.description}</p>"
            f"<p style='color:#5f6b76'>Input {spec.channels}×{spec.height}×{spec.width}, "
            f"{spec.classes} classes · preset <code>{name}</code></p>")

    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None


class MakeBlockDialog(QDialog):
    """Asks for the new block's name and which parameters of the selection it exposes.

    Each row is one (node, parameter); ticked rows become block parameters named in the
    "Exposed as" column. Rows given the same name are bound together (one value sets both).
    """

    def __init__(self, rows: list[tuple[str, str, object]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Make block from selection")
        self.resize(560, 420)
        self.name = QLineEdit(self, placeholderText="e.g. Conv block")
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(("Parameter", "Value", "Exposed as"))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rows = rows
        for r, (node_id, param, value) in enumerate(rows):
            check = QTableWidgetItem(f"{node_id}.{param}")
            check.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            check.setCheckState(Qt.CheckState.Unchecked)
            shown = QTableWidgetItem(fmt.value(value))
            shown.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(r, 0, check)
            self.table.setItem(r, 1, shown)
            self.table.setItem(r, 2, QTableWidgetItem(param))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Block name", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Tick the parameters a user of the block may set:", self))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def answer(self) -> tuple[str, dict[str, list[tuple[str, str]]]]:
        exposed: dict[str, list[tuple[str, str]]] = {}
        for r, (node_id, param, _) in enumerate(self.rows):
            if self.table.item(r, 0).checkState() == Qt.CheckState.Checked:
                name = self.table.item(r, 2).text().strip() or param
                exposed.setdefault(name, []).append((node_id, param))
        return self.name.text().strip(), exposed
