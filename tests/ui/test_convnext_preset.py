"""ConvNeXt-T in the editor: its module paths leave the analysis clean, every node is drawn
without a problem, and deleting a node then undoing keeps its module path (and so the
torchvision state_dict keys)."""

from __future__ import annotations

from ui_helpers import saved_text

from resnet_studio import presets
from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec
from resnet_studio.ui.design.commands import remove_items_command

SPEC = InputSpec(3, 64, 64, classes=10)


def test_convnext_tiny_opens_without_problems(make_window):
    window = make_window(presets.create("convnext_tiny", SPEC))
    analysis = window.document.current_analysis()
    assert analysis.diagnostics == []
    assert analysis.nodes["stage4"].out_shape == (768, 2, 2)
    scene = window.editor.scene
    assert set(scene.node_items) == set(window.document.graph.nodes)
    assert all(item.problem is None for item in scene.node_items.values())


def test_undo_of_a_delete_keeps_the_module_path(make_window):
    window = make_window(presets.create("convnext_tiny", SPEC))
    graph, doc = window.document.graph, window.document
    before, keys = saved_text(graph), list(build(graph).state_dict())
    doc.push(remove_items_command(graph, ["downsample3"]))
    assert "downsample3" not in graph.nodes
    doc.undo_stack.undo()
    assert graph.node("downsample3").module == "features.4.1"
    assert saved_text(graph) == before
    assert list(build(graph).state_dict()) == keys
