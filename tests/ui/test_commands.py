"""Every kind of edit is one undo step that undoes and redoes exactly, and the canvas follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPointF
from ui_helpers import nodes_by_id, saved_text

from resnet_studio.compiler import build
from resnet_studio.graph import CycleError, DuplicateNodeError, Edge, InvalidNodeIdError
from resnet_studio.ui.design.commands import (
    AddNodeCommand,
    ConnectCommand,
    MoveNodesCommand,
    RenameNodeCommand,
    SetParamsCommand,
    remove_items_command,
)


def assert_mirrors(window) -> None:
    """The scene shows exactly the document: one item per node at its position, one per edge."""
    graph, scene = window.document.graph, window.editor.scene
    assert set(scene.node_items) == set(graph.nodes)
    assert set(scene.edge_items) == set(graph.edges)
    for node_id, item in scene.node_items.items():
        assert item.node_id == node_id
        assert (item.pos().x(), item.pos().y()) == graph.node(node_id).position
    for edge, item in scene.edge_items.items():
        assert item.edge == edge
        assert item.source.node_item is scene.node_items[edge.src]
        assert item.target.node_item is scene.node_items[edge.dst]


def round_trip(window, edit: Callable[[], object]) -> dict:
    """Apply ``edit``; check it is one undo step that undoes and redoes exactly."""
    doc = window.document
    before, count = saved_text(doc.graph), doc.undo_stack.count()
    was_modified = doc.is_modified()
    edit()
    after = saved_text(doc.graph)
    assert after != before
    assert doc.undo_stack.count() == count + 1
    assert doc.is_modified()
    doc.undo_stack.undo()
    assert saved_text(doc.graph) == before
    assert_mirrors(window)
    assert doc.is_modified() == was_modified  # back at the clean state if it started there
    doc.undo_stack.redo()
    assert saved_text(doc.graph) == after
    assert_mirrors(window)
    return nodes_by_id(doc.graph)


def test_add_node(window):
    graph = window.document.graph
    after = round_trip(window, lambda: window.document.push(
        AddNodeCommand(graph, "dropout", {"p": 0.25}, (50.0, 60.0))))
    assert after["nodes"]["dropout"]["params"] == {"p": 0.25}
    assert after["nodes"]["dropout"]["position"] == [50.0, 60.0]


def test_remove_nodes_removes_their_edges_first(window):
    graph = window.document.graph
    after = round_trip(window, lambda: window.document.push(
        remove_items_command(graph, ["bn1", "relu"])))
    assert "bn1" not in after["nodes"] and "relu" not in after["nodes"]
    assert all("bn1" not in (e["from"][0], e["to"][0]) for e in after["edges"])


def test_undo_of_a_delete_puts_the_node_back_in_its_place(window):
    graph, doc = window.document.graph, window.document
    order, keys = graph.topological_order(), list(build(graph).state_dict())
    assert list(graph.nodes).index("bn1") < len(graph.nodes) - 1  # not the last node
    doc.push(remove_items_command(graph, ["bn1"]))
    doc.undo_stack.undo()
    assert graph.topological_order() == order
    assert list(build(graph).state_dict()) == keys


def test_connect(window):
    graph = window.document.graph
    window.document.push(AddNodeCommand(graph, "add", {}, (200.0, 400.0), "merge"))
    round_trip(window, lambda: window.document.push(
        ConnectCommand(graph, "relu", "out", "merge", "in")))
    assert Edge("relu", "out", "merge", "in") in graph.edges


def test_disconnect_restores_the_operand_order_of_a_merge(window):
    graph = window.document.graph
    doc = window.document
    doc.push(AddNodeCommand(graph, "add", {}, (200.0, 400.0), "merge"))
    doc.push(ConnectCommand(graph, "bn1", "out", "merge", "in"))
    doc.push(ConnectCommand(graph, "relu", "out", "merge", "in"))
    first = Edge("bn1", "out", "merge", "in")
    round_trip(window, lambda: doc.push(remove_items_command(graph, [], [first])))
    doc.undo_stack.undo()
    assert [e.src for e in graph.incoming("merge")] == ["bn1", "relu"]


def test_refused_connection_is_not_recorded(window):
    graph, doc = window.document.graph, window.document
    for node_id in ("merge", "merge2"):  # Add nodes: their input takes several edges
        doc.push(AddNodeCommand(graph, "add", {}, (200.0, 400.0), node_id))
    doc.push(ConnectCommand(graph, "relu", "out", "merge", "in"))
    doc.push(ConnectCommand(graph, "merge", "out", "merge2", "in"))
    count, edges = doc.undo_stack.count(), list(graph.edges)
    with pytest.raises(CycleError):
        doc.push(ConnectCommand(graph, "merge2", "out", "merge", "in"))
    assert doc.undo_stack.count() == count and graph.edges == edges


def test_move_of_several_nodes_is_one_step(window):
    graph = window.document.graph
    moves = {"conv1": (graph.node("conv1").position, (10.0, 20.0)),
             "bn1": (graph.node("bn1").position, (30.0, 40.0))}
    after = round_trip(window, lambda: window.document.push(MoveNodesCommand(graph, moves)))
    assert after["nodes"]["bn1"]["position"] == [30.0, 40.0]


def test_set_params_on_several_nodes_is_one_step(window):
    graph, doc = window.document.graph, window.document
    doc.push(AddNodeCommand(graph, "conv2d", {}, (300.0, 0.0), "conv2"))
    after = round_trip(window, lambda: doc.push(
        SetParamsCommand(graph, ["conv1", "conv2"], {"kernel_size": 5, "padding": 2})))
    assert after["nodes"]["conv1"]["params"]["kernel_size"] == 5
    assert after["nodes"]["conv2"]["params"]["padding"] == 2


def test_rename_renames_edges_too(window):
    graph = window.document.graph
    after = round_trip(window, lambda: window.document.push(
        RenameNodeCommand(graph, "bn1", "norm")))
    assert "norm" in after["nodes"] and Edge("norm", "out", "relu", "in") in graph.edges
    assert window.editor.scene.node_items["norm"].title == "norm"


@pytest.mark.parametrize("new_id, error", [("relu", DuplicateNodeError),
                                           ("2bad name", InvalidNodeIdError)])
def test_rename_to_a_bad_name_is_refused(window, new_id, error):
    with pytest.raises(error):
        window.document.push(RenameNodeCommand(window.document.graph, "bn1", new_id))
    assert "bn1" in window.document.graph.nodes


def test_auto_layout_is_one_step(window):
    graph, doc = window.document.graph, window.document
    doc.push(MoveNodesCommand(graph, {"bn1": (graph.node("bn1").position, (700.0, -300.0))}))
    after = round_trip(window, window.editor.auto_layout)
    assert after["nodes"]["bn1"]["position"][0] == after["nodes"]["conv1"]["position"][0]
    assert doc.undo_stack.undoText() == "Auto-layout"


def test_paste_adds_copies_with_fresh_names_and_their_edges(window):
    editor, graph = window.editor, window.document.graph
    editor.select_nodes(["conv1", "bn1"])
    assert editor.copy()
    pasted: list[str] = []
    selected: list[str] = []

    def paste() -> None:
        pasted.extend(editor.paste())
        selected.extend(editor.selected_node_ids())

    round_trip(window, paste)
    assert pasted == ["conv2", "bn2"] and selected == pasted
    assert Edge("conv2", "out", "bn2", "in") in graph.edges
    assert graph.node("conv2").params == graph.node("conv1").params
    x, y = graph.node("conv1").position
    assert graph.node("conv2").position == (x + 40.0, y + 40.0)


def test_cut_then_paste_brings_the_nodes_back(window):
    editor, graph = window.editor, window.document.graph
    editor.select_nodes(["bn1"])
    window.actions["cut"].trigger()
    assert "bn1" not in graph.nodes
    assert editor.paste() == ["bn1"]
    assert graph.node("bn1").type_id == "batchnorm2d"


def test_expand_replaces_a_block_by_its_layers_as_one_step(window):
    editor, graph, doc = window.editor, window.document.graph, window.document
    before = doc.current_analysis()
    editor.select_nodes(["block"])
    new_ids: list[str] = []
    selected: list[str] = []

    def expand() -> None:
        new_ids.extend(editor.expand_selected())
        selected.extend(editor.selected_node_ids())

    round_trip(window, expand)
    assert "block" not in graph.nodes
    assert {"block_conv1", "block_bn1", "block_conv2", "block_bn2"} <= set(new_ids)
    after = doc.analyze_now()
    assert after.ok, after.diagnostics
    assert after.total_params == before.total_params
    assert after.total_macs == before.total_macs
    assert after.output_shape() == before.output_shape()
    assert set(selected) == set(new_ids)


def test_expand_of_a_primitive_is_refused_with_the_reason(window):
    editor, graph = window.editor, window.document.graph
    editor.select_nodes(["conv1"])
    count = window.document.undo_stack.count()
    assert editor.expand_selected() == []
    assert "residual block" in editor.view.toast.text()
    assert window.document.undo_stack.count() == count and "conv1" in graph.nodes


def test_collapse_makes_a_palette_block_as_one_step(window, prompts):
    editor, graph = window.editor, window.document.graph
    editor.select_nodes(["conv1", "bn1", "relu"])
    prompts.block = ("Stem", {"width": [("conv1", "out_channels")]})
    results: list = []
    after = round_trip(window, lambda: results.append(editor.collapse_selection()))
    new_id = results[0]
    assert after["nodes"][new_id]["type"] == "custom.stem"
    assert after["nodes"][new_id]["params"] == {"width": 8}
    assert "custom.stem" in window.palette.type_ids()
    assert [e.src for e in graph.incoming("block")] == [new_id]
    window.document.undo_stack.undo()
    assert "custom.stem" not in window.palette.type_ids()


def test_collapse_cancelled_changes_nothing(window, prompts):
    editor = window.editor
    editor.select_nodes(["conv1", "bn1"])
    before = saved_text(window.document.graph)
    prompts.block = None
    assert editor.collapse_selection() is None
    assert saved_text(window.document.graph) == before
    assert ("block", ["conv1", "bn1"]) in prompts.asked


def test_expand_then_collapse_gives_an_equivalent_network(window, prompts):
    editor, doc = window.editor, window.document
    original = doc.current_analysis()
    editor.select_nodes(["block"])
    parts = editor.expand_selected()
    doc.analyze_now()
    editor.select_nodes(parts)
    prompts.block = ("My block", {"planes": [("block_conv1", "out_channels"),
                                             ("block_conv2", "out_channels")]})
    new_id = editor.collapse_selection()
    assert doc.graph.node(new_id).type_id == "custom.my_block"
    assert doc.graph.node(new_id).params == {"planes": 8}
    analysis = doc.analyze_now()
    assert analysis.ok, analysis.diagnostics
    assert analysis.total_params == original.total_params
    assert analysis.total_macs == original.total_macs
    # ... and the custom block expands back into its layers.
    editor.select_nodes([new_id])
    again = editor.expand_selected()
    assert len(again) == len(parts)
    assert doc.analyze_now().total_params == original.total_params
    for _ in range(3):
        doc.undo_stack.undo()
    assert doc.graph.node("block").type_id == "basicblock"
    assert_mirrors(window)


def test_dropping_at_a_point_and_undo_keep_the_scene_in_step(window):
    window.editor.add_block("gelu", QPointF(123.0, 456.0))
    (node_id,) = window.editor.selected_node_ids()
    assert window.document.graph.node(node_id).position == (123.0, 456.0)
    assert_mirrors(window)
