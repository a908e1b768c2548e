"""The inspector: each accepted edit is one undo step; refused values leave the graph alone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from resnet_studio import presets
from resnet_studio.ui.design.commands import AddNodeCommand, SetParamsCommand


def select(window, *node_ids: str):
    window.editor.select_nodes(list(node_ids))
    return window.inspector


def type_into(qtbot, widget, text: str) -> None:
    """Replace the widget's text as a user would and press Enter."""
    line = widget.lineEdit() if hasattr(widget, "lineEdit") and widget.lineEdit() else widget
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_fields_follow_the_parameter_specs(window):
    inspector = select(window, "conv1")
    fields = inspector.fields
    assert isinstance(fields["out_channels"].typed, QSpinBox)
    assert fields["out_channels"].typed.minimum() == 1
    assert fields["out_channels"].typed.maximum() == 65536
    assert fields["out_channels"].typed.value() == 8
    assert isinstance(fields["bias"].typed, QCheckBox) and not fields["bias"].typed.isChecked()
    padding = fields["padding"].typed
    assert isinstance(padding, QComboBox) and padding.isEditable()
    assert padding.findText("same") >= 0 and padding.currentText() == "1"
    assert "Number of output channels" in fields["out_channels"].toolTip()
    eps = select(window, "bn1").fields["eps"].typed
    assert isinstance(eps, QDoubleSpinBox) and eps.text() == "1e-05"
    shortcut = select(window, "block").fields["shortcut"].typed
    assert isinstance(shortcut, QComboBox) and not shortcut.isEditable()


def test_a_valid_edit_changes_the_graph_in_one_undo_step(window, qtbot):
    graph, stack = window.document.graph, window.document.undo_stack
    inspector = select(window, "conv1")
    count = stack.count()
    type_into(qtbot, inspector.fields["out_channels"].typed, "12")
    assert graph.node("conv1").params["out_channels"] == 12
    assert stack.count() == count + 1
    stack.undo()
    assert graph.node("conv1").params["out_channels"] == 8
    assert inspector.fields["out_channels"].typed.value() == 8  # the field follows the undo


def test_the_shape_and_cost_section_follows_the_analysis(window, qtbot):
    inspector = select(window, "conv1")
    labels = inspector.info_labels
    assert labels["inputs"].text() == "3×16×16"
    assert labels["output"].text() == "8×16×16"
    assert labels["params"].text().startswith("216 ")  # 3·8·3·3 weights, no bias
    with qtbot.waitSignal(window.document.analysis_ready, timeout=5000):
        type_into(qtbot, inspector.fields["stride"].typed, "2")
    assert labels["output"].text() == "8×8×8"
    assert "MiB" in labels["memory"].text() or "KiB" in labels["memory"].text()


def test_an_invalid_value_is_refused_with_the_reason(window, qtbot):
    graph, stack = window.document.graph, window.document.undo_stack
    inspector = select(window, "conv1")
    count, before = stack.count(), dict(graph.node("conv1").params)
    type_into(qtbot, inspector.fields["padding"].typed, "-3")
    assert graph.node("conv1").params == before
    assert stack.count() == count
    assert not inspector.error.isHidden()
    assert "padding" in inspector.error.text() and "-3" in inspector.error.text()
    assert "padding" in window.statusBar().currentMessage()
    assert inspector.fields["padding"].typed.currentText() == "1"  # back to the node's value


def test_a_word_an_integer_parameter_accepts_is_set(window, qtbot):
    inspector = select(window, "conv1")
    type_into(qtbot, inspector.fields["padding"].typed, "same")
    assert window.document.graph.node("conv1").params["padding"] == "same"
    assert inspector.error.isHidden()


def test_checkbox_and_choice_edits(window, qtbot):
    graph = window.document.graph
    select(window, "conv1").fields["bias"].typed.click()
    assert graph.node("conv1").params["bias"] is True
    combo = select(window, "block").fields["shortcut"].typed
    combo.activated.emit(combo.findText("none"))
    assert graph.node("block").params["shortcut"] == "none"


def test_references_are_shown_and_edited_as_text(window, qtbot):
    graph = window.document.graph
    field = select(window, "fc").fields["out_features"]
    assert field.ref_button.isChecked()
    assert field.stack.currentWidget() is field.reference
    assert field.reference.text() == "$classes"
    type_into(qtbot, field.reference, "$channels")
    assert graph.node("fc").params["out_features"] == "$channels"
    field.ref_button.click()  # back to a literal value: the parameter's default
    assert graph.node("fc").params["out_features"] == 10
    field = select(window, "conv1").fields["out_channels"]
    field.ref_button.click()
    type_into(qtbot, field.reference, "sixteen")
    assert graph.node("conv1").params["out_channels"] == 8
    assert "out_channels" in window.inspector.error.text()


def test_several_nodes_of_one_type_are_edited_together(window, qtbot):
    graph, doc = window.document.graph, window.document
    doc.push(AddNodeCommand(graph, "conv2d", {"out_channels": 4}, (300.0, 0.0), "conv2"))
    inspector = select(window, "conv1", "conv2")
    assert inspector.name_row.isHidden() and not inspector.params_box.isHidden()
    count = doc.undo_stack.count()
    type_into(qtbot, inspector.fields["kernel_size"].typed, "5")
    assert graph.node("conv1").params["kernel_size"] == 5
    assert graph.node("conv2").params["kernel_size"] == 5
    assert graph.node("conv2").params["out_channels"] == 4
    assert doc.undo_stack.count() == count + 1


def test_nodes_of_different_types_are_not_edited_together(window):
    inspector = select(window, "conv1", "bn1")
    assert inspector.params_box.isHidden()
    assert "2 nodes" in inspector.heading.text()


def test_renaming_a_node_is_one_step_and_a_taken_name_is_refused(window, qtbot):
    graph, stack = window.document.graph, window.document.undo_stack
    inspector = select(window, "bn1")
    type_into(qtbot, inspector.name_edit, "norm1")
    assert "norm1" in graph.nodes and "bn1" not in graph.nodes
    assert inspector.node_ids == ["norm1"]
    assert stack.undoText() == "Rename bn1 to norm1"
    count = stack.count()
    type_into(qtbot, inspector.name_edit, "relu")
    assert "norm1" in graph.nodes and stack.count() == count
    assert "already exists" in inspector.error.text()
    assert inspector.name_edit.text() == "norm1"


def test_ctrl_z_in_a_field_undoes_the_document_unless_it_holds_typed_text(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    graph = window.document.graph
    field = select(window, "conv1").fields["out_channels"]
    field.typed.setFocus()
    type_into(qtbot, field.typed, "12")
    line = QApplication.focusWidget()
    assert graph.node("conv1").params["out_channels"] == 12 and field.isAncestorOf(line)
    qtbot.keyClick(line, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert graph.node("conv1").params["out_channels"] == 8  # the document's undo
    assert field.typed.value() == 8
    qtbot.keyClick(line, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert graph.node("conv1").params["out_channels"] == 12  # and its redo
    field.typed.selectAll()
    qtbot.keyClicks(line, "99")  # typed, not yet set: Ctrl+Z undoes the typing only
    assert field.has_uncommitted_text() and field.typed.text() == "99"
    qtbot.keyClick(line, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert graph.node("conv1").params["out_channels"] == 12
    assert field.typed.text() != "99"


def test_ctrl_z_in_the_name_field_undoes_a_rename(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    inspector = select(window, "fc")
    type_into(qtbot, inspector.name_edit, "head")
    assert "head" in window.document.graph.nodes
    qtbot.keyClick(inspector.name_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "fc" in window.document.graph.nodes and inspector.name_edit.text() == "fc"


def test_fields_the_selected_nodes_disagree_on_are_mixed_and_kept(window, qtbot):
    graph, doc = window.document.graph, window.document
    doc.push(AddNodeCommand(graph, "conv2d", {"out_channels": 4, "kernel_size": 3},
                            (300.0, 0.0), "conv2"))
    inspector = select(window, "conv1", "conv2")
    mixed = inspector.fields["out_channels"]
    assert mixed.is_mixed() and mixed.reference.placeholderText() == "mixed"
    assert mixed.stack.currentWidget() is mixed.reference and mixed.reference.text() == ""
    assert not inspector.fields["kernel_size"].is_mixed()
    assert inspector.fields["kernel_size"].typed.value() == 3
    mixed.reference.setFocus()
    mixed.reference.editingFinished.emit()  # leaving it untouched sets nothing
    assert [graph.node(n).params["out_channels"] for n in ("conv1", "conv2")] == [8, 4]
    type_into(qtbot, inspector.fields["stride"].typed, "2")
    assert [graph.node(n).params["out_channels"] for n in ("conv1", "conv2")] == [8, 4]
    assert inspector.fields["out_channels"].is_mixed()
    type_into(qtbot, inspector.fields["out_channels"].reference, "16")
    assert [graph.node(n).params["out_channels"] for n in ("conv1", "conv2")] == [16, 16]
    assert not inspector.fields["out_channels"].is_mixed()
    assert inspector.fields["out_channels"].typed.value() == 16
    doc.undo_stack.undo()
    assert inspector.fields["out_channels"].is_mixed()


def test_a_node_that_fails_shows_a_question_mark_not_its_input_shape(window, qtbot):
    graph, doc = window.document.graph, window.document
    with qtbot.waitSignal(doc.analysis_ready, timeout=5000):
        doc.push(SetParamsCommand(graph, ["conv1"], {"groups": 5}))
    item = window.editor.scene.node_items["conv1"]
    assert item.severity == "error"
    assert item.shape_text == "?"
    assert select(window, "conv1").info_labels["output"].text() == "?"
    with qtbot.waitSignal(doc.analysis_ready, timeout=5000):
        doc.undo_stack.undo()
    assert item.shape_text == "8×16×16"
    assert window.editor.scene.node_items["output"].shape_text == "10"  # what it receives


def test_terse_shortcut_options_are_shown_in_words_and_stored_as_letters(window, qtbot):
    graph = window.document.graph
    combo = select(window, "block").fields["shortcut"].typed
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert "A: zero-padded identity" in labels and "D: avg-pool + 1×1 conv" in labels
    combo.activated.emit(labels.index("A: zero-padded identity"))
    assert graph.node("block").params["shortcut"] == "A"
    assert combo.currentText() == "A: zero-padded identity"
    # the choice shown whole where a narrow inspector cuts it, above the parameter's help
    tip = combo.toolTip()
    assert tip.startswith("A: zero-padded identity\n\n") and "Allowed:" in tip, tip


def visible_fields(inspector) -> set[str]:
    return {name for name, field in inspector.fields.items()
            if inspector.params_form.isRowVisible(field)}


def choose(combo: QComboBox, value: str) -> None:
    """Pick the entry holding ``value`` as a user would (``activated`` commits it)."""
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_a_stage_shows_only_the_fields_its_block_type_uses(make_window):
    window = make_window(presets.create("small_resnet"))
    graph, stack = window.document.graph, window.document.undo_stack
    inspector = select(window, "layer2")
    assert graph.node("layer2").params["block"] == "basicblock"
    basic = visible_fields(inspector)
    assert {"block", "blocks", "planes", "stride", "groups", "shortcut"} <= basic
    assert not basic & {"expansion", "scale", "reduction", "dropout", "init", "kernel_size",
                        "layer_scale", "drop_path"}
    saved = dict(graph.node("layer2").params)
    choose(inspector.fields["block"].typed, "bottleneck")
    assert graph.node("layer2").params["block"] == "bottleneck"
    assert "expansion" in visible_fields(inspector)
    assert "scale" not in visible_fields(inspector)
    # hidden fields kept their values: only the block type changed
    assert graph.node("layer2").params == {**saved, "block": "bottleneck"}
    choose(inspector.fields["block"].typed, "convnextblock")
    assert {"kernel_size", "layer_scale", "drop_path"} <= visible_fields(inspector)
    assert "groups" not in visible_fields(inspector)
    stack.undo()
    stack.undo()
    assert graph.node("layer2").params == saved
    assert visible_fields(inspector) == basic


def test_stages_of_two_block_types_show_the_fields_either_uses(make_window):
    window = make_window(presets.create("small_resnet"))
    window.document.push(SetParamsCommand(window.document.graph, ["layer3"],
                                          {"block": "sebasicblock"}))
    inspector = select(window, "layer2", "layer3")
    assert inspector.fields["block"].is_mixed()
    assert {"groups", "reduction"} <= visible_fields(inspector)
    assert "expansion" not in visible_fields(inspector)
    assert visible_fields(select(window, "conv1")) == set(inspector.fields)  # not a stage
