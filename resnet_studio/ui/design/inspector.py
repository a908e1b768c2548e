"""The inspector: the selected node's name, parameters, shapes and costs.

Every change is one undoable command; a value the graph refuses (``ParameterError``) is not
applied, the field shows the node's value again and the reason appears under the form.
Several selected nodes of one type are edited together.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...graph import Graph, GraphError, Node, events
from ..widgets import format as fmt
from ..widgets.param_widgets import ParamField
from .commands import RenameNodeCommand, SetParamsCommand
from .document import Document

EMPTY_TEXT = "Select a node on the canvas to see and edit its parameters."
STAGE_TYPE = "stage"
# A stage declares the union of every block type's parameters but passes each block only
# those its type declares (blocks/stages.py, ``block_params``). These are the stage's own: the
# block type and count, and the width and stride it checks even for shape-keeping blocks.
STAGE_FIELDS = ("block", "blocks", "planes", "stride")


class Inspector(QScrollArea):
    """Edits the nodes in ``node_ids`` (set by the editor's selection)."""

    message = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.node_ids: list[str] = []
        self.fields: dict[str, ParamField] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._build()
        document.graph.events.subscribe(self._on_graph_event)
        document.analysis_ready.connect(self._on_analysis)
        self.show_nodes([])

    def close_inspector(self) -> None:
        self.document.graph.events.unsubscribe(self._on_graph_event)

    # ----- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.heading = QLabel(body, textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.description = QLabel(body, wordWrap=True)
        self.description.setStyleSheet("color: #5f6b76;")
        self.name_edit = QLineEdit(body)
        self.name_edit.setToolTip("The node's name: its PyTorch module name and state_dict key.")
        self.name_edit.editingFinished.connect(self._rename)
        self.name_edit.installEventFilter(self)
        self.name_row = QWidget(body)
        name_form = QFormLayout(self.name_row)
        name_form.setContentsMargins(0, 0, 0, 0)
        name_form.addRow("Name", self.name_edit)
        self.params_box = QGroupBox("Parameters", body)
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error = QLabel(body, wordWrap=True)
        self.error.setStyleSheet("color: #d93025;")
        self.info_box = QGroupBox("Shapes and cost", body)
        self.info_form = QFormLayout(self.info_box)
        self.info_labels = {key: QLabel(self.info_box, wordWrap=True) for key in
                            ("inputs", "output", "params", "macs", "memory", "problem")}
        for key, title in (("inputs", "Input"), ("output", "Output"), ("params", "Parameters"),
                           ("macs", "MACs"), ("memory", "Activations"), ("problem", "Problem")):
            self.info_labels[key].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_form.addRow(title, self.info_labels[key])
        self.info_labels["problem"].setStyleSheet("color: #d93025;")
        for widget in (self.heading, self.description, self.name_row, self.params_box,
                       self.error, self.info_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)

    # ----- which nodes ------------------------------------------------------------------------
    def show_nodes(self, node_ids: list[str]) -> None:
        """Show ``node_ids`` (the selection); editable together if all share one type."""
        self.node_ids = list(node_ids)
        self.error.clear()
        self.error.hide()
        types = {self.document.graph.node(n).type_id for n in self.node_ids}
        editable = len(types) == 1
        self._show_heading(types)
        self.name_row.setVisible(len(self.node_ids) == 1)
        self.params_box.setVisible(editable)
        self.info_box.setVisible(len(self.node_ids) == 1)
        self._build_fields(editable)
        self._refresh_values()
        self._show_info()

    def _show_heading(self, types: set[str]) -> None:
        count = len(self.node_ids)
        if count == 0:
            self.heading.setText(f"<span style='color:#5f6b76'>{EMPTY_TEXT}</span>")
            self.description.clear()
            return
        if len(types) > 1:
            self.heading.setText(f"<b>{count} nodes</b> of {len(types)} types")
            self.description.setText("Select nodes of one type to edit them together.")
            return
        spec = self.document.graph.node_spec(self.node_ids[0])
        many = f" — {count} nodes" if count > 1 else ""
        self.heading.setText(f"<span style='font-size:13pt'><b>{spec.title}</b></span>{many}"
                             f" <span style='color:#5f6b76'>({spec.type_id})</span>")
        self.description.setText(spec.description)

    def _build_fields(self, editable: bool) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.fields = {}
        if not editable:
            return
        spec = self.document.graph.node_spec(self.node_ids[0])
        for param in spec.params:
            field = ParamField(param, self.params_box)
            field.committed.connect(self._set_param)
            for edit in field.findChildren(QWidget):  # the line edits and their spin boxes
                edit.installEventFilter(self)
            label = QLabel(param.name, self.params_box)
            label.setToolTip(field.toolTip())
            self.params_form.addRow(label, field)
            self.fields[param.name] = field
        if not spec.params:
            self.params_form.addRow(QLabel("This block has no parameters.", self.params_box))

    def _refresh_values(self) -> None:
        """Show the nodes' values; a parameter the selected nodes disagree on is "mixed"."""
        if not self.node_ids:
            return
        nodes = [self.document.graph.node(n) for n in self.node_ids]
        self.name_edit.setText(nodes[0].id)
        for name, field in self.fields.items():
            values = [node.params.get(name, field.spec.default) for node in nodes]
            if all(_same(value, values[0]) for value in values[1:]):
                field.set_value(values[0])
            else:
                field.set_mixed()
        self._show_used_fields(nodes)

    def _show_used_fields(self, nodes: list) -> None:
        """Hide the fields the nodes do not use (a stage's other block types' parameters);
        hidden fields keep their values, so a saved file is the same either way."""
        used = used_params(self.document.graph, nodes)
        for name, field in self.fields.items():
            self.params_form.setRowVisible(field, used is None or name in used)

    def _on_analysis(self, analysis: object) -> None:
        self._show_info()

    def _show_info(self) -> None:
        analysis = self.document.analysis
        labels = self.info_labels
        if len(self.node_ids) != 1:
            return
        if analysis is None:  # the compiler is still loading
            for key in ("inputs", "output", "params", "macs", "memory"):
                labels[key].setText("…")
            self.info_form.setRowVisible(labels["problem"], False)
            return
        info = analysis.nodes.get(self.node_ids[0])
        problems = [d.message for d in analysis.diagnostics if d.node_id == self.node_ids[0]]
        labels["problem"].setText("\n".join(problems))
        labels["problem"].setVisible(bool(problems))
        self.info_form.setRowVisible(labels["problem"], bool(problems))
        if info is None:
            for key in ("inputs", "output", "params", "macs", "memory"):
                labels[key].setText("—")
            return
        labels["inputs"].setText(", ".join(fmt.shape(s) for s in info.in_shapes) or "—")
        outputs = self.document.graph.node_spec(self.node_ids[0]).outputs
        labels["output"].setText(fmt.shape(info.out_shape, outputs[0].kind if outputs else ""))
        labels["params"].setText(f"{info.params:,} ({fmt.count(info.params)})")
        labels["macs"].setText(f"{fmt.count(info.macs)}  (FLOPs {fmt.count(info.flops)})")
        labels["memory"].setText(f"{fmt.bytes_text(info.activation_bytes)} per image (float32)")

    # ----- edits ------------------------------------------------------------------------------
    def _set_param(self, name: str, value: Any) -> None:
        command = SetParamsCommand(self.document.graph, self.node_ids, {name: value})
        self._push(command)
        self._refresh_values()  # a refused value goes back to the node's own

    def _rename(self) -> None:
        if len(self.node_ids) != 1:
            return
        old, new = self.node_ids[0], self.name_edit.text().strip()
        if new == old:
            return
        if not self._push(RenameNodeCommand(self.document.graph, old, new)):
            self.name_edit.setText(old)

    def _push(self, command) -> bool:
        try:
            self.document.push(command)
        except GraphError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.message.emit(str(exc))
            return False
        self.error.clear()
        self.error.hide()
        return True

    # ----- undo and redo while a field has focus -------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Z / Ctrl+Shift+Z in a field undo the document's last edit (the window's Undo
        and Redo), unless the field holds typed text not yet set, which the field undoes
        itself. A line edit would otherwise take the keys for its own, usually empty, undo."""
        if (event.type() == QEvent.Type.ShortcutOverride and _is_undo_or_redo(event)
                and not self._uncommitted(watched)):
            return True  # not accepted as an override: the window's shortcut runs
        return super().eventFilter(watched, event)

    def _uncommitted(self, edit: QObject) -> bool:
        if edit is self.name_edit:
            return bool(self.node_ids) and self.name_edit.text().strip() != self.node_ids[0]
        field = next((f for f in self.fields.values() if f.isAncestorOf(edit)), None)
        return field is not None and field.has_uncommitted_text()

    # ----- following the document -------------------------------------------------------------
    def _on_graph_event(self, event: object) -> None:
        if isinstance(event, events.NodeRenamed) and event.old_id in self.node_ids:
            self.node_ids = [event.new_id if n == event.old_id else n for n in self.node_ids]
            self._refresh_values()
        elif isinstance(event, events.ParamsChanged) and event.node_id in self.node_ids:
            self._refresh_values()
        elif isinstance(event, events.NodeRemoved) and event.node_id in self.node_ids:
            self.show_nodes([n for n in self.node_ids if n != event.node_id])


def used_params(graph: Graph, nodes: list[Node]) -> set[str] | None:
    """The parameters ``nodes`` (all of one type) use, or None for all of them. Only a stage
    leaves some unused: those of the block types it was not given. Several stages use the
    union; a block given as a ``$reference`` (inside a custom block) may be any type."""
    used: set[str] = set()
    for node in nodes:
        block = node.params.get("block") if node.type_id == STAGE_TYPE else None
        spec = graph.spec(block) if isinstance(block, str) else None
        if spec is None:
            return None
        used.update(STAGE_FIELDS, (p.name for p in spec.params))
    return used


def _same(a: Any, b: Any) -> bool:
    """Equal values of one type (1 and True, or 1 and 1.0, are not the same setting)."""
    return type(a) is type(b) and a == b


def _is_undo_or_redo(event: QEvent) -> bool:
    pressed = QKeySequence(event.keyCombination())
    return any(pressed.matches(key) == QKeySequence.SequenceMatch.ExactMatch
               for standard in (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)
               for key in QKeySequence.keyBindings(standard))
