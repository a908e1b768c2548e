"""One editor widget per block parameter, chosen from its ParamSpec.

Integers get a spin box with the spec's bounds, numbers a spin box that shows ``1e-05`` as
written (both take the mouse wheel only when focused), booleans a check box, choices a combo
box; an integer that also accepts words (Conv2d padding ``"same"``) gets an editable combo
box. Any parameter can instead hold a ``"$name"`` reference, edited as text (the ``$`` button
switches). Widgets never change the graph: they emit ``committed(name, value)`` and the
inspector turns that into a command.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from ...graph import ParamSpec, reference_name
from .spin_boxes import ComboBox, IntSpinBox, NumberSpinBox

INT_LIMIT = 2_000_000_000
# Words beside terse stored choices; the stored value stays the same ("A", "D").
CHOICE_LABELS = {("shortcut", "A"): "A: zero-padded identity",
                 ("shortcut", "D"): "D: avg-pool + 1×1 conv"}
MIXED = object()  # the value of a field whose nodes hold different values
MIXED_TEXT = "mixed"
FLOAT_LIMIT = 1e15
COMBO_CHARS = 4  # a choice list is at least this many characters wide, more where there is room


def parse_text(spec: ParamSpec, text: str) -> Any:
    """A typed value from text: a ``$name`` reference, or a literal of the spec's kind.
    Text that is neither comes back unchanged, for the graph to refuse with its reason."""
    text = text.strip()
    if reference_name(text) is not None or (spec.kind == "int" and text in spec.choices):
        return text
    try:
        if spec.kind == "int":
            return int(text)
        if spec.kind == "float":
            return float(text)
    except ValueError:
        return text
    if spec.kind == "bool":
        return {"true": True, "false": False}.get(text.lower(), text)
    if spec.kind == "choice":
        return next((c for c in spec.choices if str(c) == text), text)
    return text


class ParamField(QWidget):
    """The editor of one parameter; ``committed(name, value)`` when the user sets a value."""

    committed = Signal(str, object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        self.typed = self._make_typed()
        self.reference = QLineEdit(self, placeholderText="$name")
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.typed)
        self.stack.addWidget(self.reference)
        self.ref_button = QToolButton(self, text="$", checkable=True)
        self.ref_button.setToolTip("Use a reference instead of a value: $classes, $channels, "
                                   "$height, $width, or a custom block's own parameter.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.ref_button)
        self.setToolTip(f"{spec.help}\nAllowed: {spec.bounds_text()}.".strip())
        self.reference.editingFinished.connect(self._commit_reference)
        self.ref_button.toggled.connect(self._toggle_reference)
        self.value: Any = spec.default

    # ----- building ---------------------------------------------------------------------------
    def _make_typed(self) -> QWidget:
        spec = self.spec
        if spec.kind == "bool":
            box = QCheckBox(self)
            box.toggled.connect(lambda on: self._commit(bool(on)))
            return box
        if spec.kind == "choice" or (spec.kind == "int" and spec.choices):
            return self._make_combo()
        box = IntSpinBox(self) if spec.kind == "int" else NumberSpinBox(self)
        limit = INT_LIMIT if spec.kind == "int" else FLOAT_LIMIT
        box.setRange(_bound(spec.minimum, -limit), _bound(spec.maximum, limit))
        box.setKeyboardTracking(False)  # one change per Enter or arrow step, not per key
        box.valueChanged.connect(self._commit)
        return box

    def _make_combo(self) -> QComboBox:
        combo = ComboBox(self)
        # its longest choice no longer sets the inspector's least width (the list shows it
        # whole): a narrow inspector leaves the canvas the room to show a network whole
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
        for choice in self.spec.choices:
            label = CHOICE_LABELS.get((self.spec.name, choice), str(choice))
            combo.addItem(label if self.spec.kind == "choice" else str(choice), choice)
        if self.spec.kind == "int":  # numbers typed in, or one of the words offered
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.lineEdit().editingFinished.connect(
                lambda: self._commit(parse_text(self.spec, combo.currentText())))
            combo.activated.connect(
                lambda i: self._commit(parse_text(self.spec, combo.itemText(i))))
        else:
            combo.activated.connect(lambda i: self._commit(combo.itemData(i)))
        return combo

    # ----- showing the model's value ----------------------------------------------------------
    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``committed``."""
        self.value = value
        self.reference.setPlaceholderText("$name")
        is_reference = reference_name(value) is not None
        for widget in (self.typed, self.reference, self.ref_button):
            widget.blockSignals(True)
        self.ref_button.setChecked(is_reference)
        self.stack.setCurrentWidget(self.reference if is_reference else self.typed)
        if is_reference:
            self.reference.setText(value)
        else:
            self._show_typed(value)
        for widget in (self.typed, self.reference, self.ref_button):
            widget.blockSignals(False)

    def _show_typed(self, value: Any) -> None:
        typed = self.typed
        if isinstance(typed, QCheckBox):
            typed.setChecked(bool(value))
        elif isinstance(typed, QComboBox):
            index = typed.findData(value)
            if index >= 0:
                typed.setCurrentIndex(index)
            elif typed.isEditable():
                typed.setEditText(str(value))
            # a narrow inspector may cut the shown choice: its tooltip names it whole
            typed.setToolTip(f"{typed.currentText()}\n\n{self.toolTip()}".strip())
        else:
            typed.setValue(value)

    def set_mixed(self) -> None:
        """The selected nodes differ here: show an empty text field marked "mixed"; any value
        typed in is set on every node (the other fields leave the nodes' own values alone)."""
        self.value = MIXED
        for widget in (self.reference, self.ref_button):
            widget.blockSignals(True)
        self.ref_button.setChecked(False)
        self.reference.clear()
        self.reference.setPlaceholderText(MIXED_TEXT)
        self.stack.setCurrentWidget(self.reference)
        for widget in (self.reference, self.ref_button):
            widget.blockSignals(False)

    def is_mixed(self) -> bool:
        return self.value is MIXED

    def has_uncommitted_text(self) -> bool:
        """Whether the field shows typed text not yet set on the node (no Enter yet)."""
        if self.stack.currentWidget() is self.reference:
            shown = "" if self.value is MIXED else str(self.value)
            return self.reference.text().strip() != shown
        typed = self.typed
        if isinstance(typed, QComboBox):
            return typed.isEditable() and typed.currentText().strip() != str(self.value)
        if isinstance(typed, QAbstractSpinBox):
            return typed.cleanText() != typed.textFromValue(typed.value())
        return False

    # ----- the user's edits -------------------------------------------------------------------
    def _commit(self, value: Any) -> None:
        if self.value is MIXED:
            if value != "":  # leaving an untouched "mixed" field sets nothing
                self.committed.emit(self.spec.name, value)
            return
        if value != self.value or type(value) is not type(self.value):
            self.committed.emit(self.spec.name, value)

    def _commit_reference(self) -> None:
        if self.ref_button.isChecked() or self.value is MIXED:
            self._commit(parse_text(self.spec, self.reference.text()))

    def _toggle_reference(self, on: bool) -> None:
        if on:
            self.stack.setCurrentWidget(self.reference)
            self.reference.setText("$")
            self.reference.setFocus()
            return
        if self.value is MIXED:  # still nothing chosen: stay "mixed", set nothing
            self.set_mixed()
            return
        self.stack.setCurrentWidget(self.typed)
        if reference_name(self.value) is not None:  # back to a literal: the spec's default
            self._commit(self.spec.default)


def _bound(value: float | None, fallback: float) -> Any:
    return fallback if value is None else value
