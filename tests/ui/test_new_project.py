"""File ▸ New offers an empty project; a saved project is named after its file, not after the
preset it was drawn from."""

from __future__ import annotations

from PySide6.QtCore import Qt

from resnet_studio import presets
from resnet_studio.graph.project import load
from resnet_studio.ui.design.commands import SetParamsCommand
from resnet_studio.ui.shell.new_project import project_name
from resnet_studio.ui.widgets.dialogs import EMPTY_PROJECT, NAME_ROLE, PresetGallery


def test_new_offers_an_empty_project_with_input_and_output(window, prompts):
    prompts.preset = EMPTY_PROJECT
    assert window.new_project()
    graph = window.document.graph
    assert sorted(graph.node(n).type_id for n in graph.nodes) == ["input", "output"]
    assert not graph.edges
    assert set(window.editor.scene.node_items) == {"input", "output"}
    assert window.windowTitle().startswith("Untitled (untitled)[*]"), window.windowTitle()


def test_the_gallery_lists_the_empty_project_first(qtbot):
    gallery = PresetGallery(presets.PRESETS, EMPTY_PROJECT)
    qtbot.addWidget(gallery)
    first = gallery.list.item(0)
    assert first.data(NAME_ROLE) == EMPTY_PROJECT and "Empty" in first.text()
    assert gallery.chosen() == EMPTY_PROJECT
    assert "Input and an Output" in gallery.details.text()
    assert first.flags() & Qt.ItemFlag.ItemIsSelectable


def test_a_preset_design_saved_under_its_own_name_drops_the_preset_name(window, prompts,
                                                                        tmp_path):
    prompts.preset = "resnet20"
    assert window.new_project()
    assert window.document.graph.name == "resnet20"
    prompts.save_path = str(tmp_path / "my_net")
    assert window.save_as()
    assert window.document.graph.name == "my_net"
    assert load(tmp_path / "my_net.rstudio.json", window.document.graph.lookup).name == "my_net"
    assert "resnet20" not in window.windowTitle()
    source = window.code_view.regenerate()
    assert "my_net" in source and "resnet20" not in source.split('"""')[1]
    assert window.training.runner.new_run_dir(window.document.graph.name).name.startswith("my_net-")


def test_project_name_strips_the_project_suffix(tmp_path):
    assert project_name(tmp_path / "a.rstudio.json") == "a"
    assert project_name(tmp_path / "b.json") == "b"
    assert project_name(tmp_path / "c.txt") == "c"


def test_a_preset_redrawn_before_it_is_saved_no_longer_carries_the_preset_name(make_window):
    window = make_window(presets.create("resnet20"))
    doc, editor = window.document, window.editor
    assert doc.graph.name == "resnet20" and "resnet20" in window.windowTitle()
    node = next(n for n in doc.graph if n.type_id == "conv2d")
    doc.push(SetParamsCommand(doc.graph, [node.id], {"out_channels": 24}))
    assert doc.graph.name == "resnet20"
    editor.add_block("relu")  # a structural edit: the design is the user's own now
    assert doc.graph.name == "" and window.windowTitle().startswith("Untitled")
    assert "resnet20" not in window.windowTitle()
    assert "resnet20" not in window.code_view.regenerate()
    doc.undo_stack.undo()
    assert doc.graph.name == ""  # still edited (the width): not the preset as it came
    doc.undo_stack.undo()
    assert doc.graph.name == "resnet20" and "resnet20" in window.windowTitle()
    editor.add_block("relu")
    assert doc.graph.name == ""


def test_an_opened_project_keeps_its_name_through_structural_edits(make_window, tmp_path):
    window = make_window(presets.create("resnet20"))
    path = tmp_path / "mine.rstudio.json"
    window.document.save(path)
    window.document.open(path)
    name = window.document.graph.name
    window.editor.add_block("relu")
    assert window.document.graph.name == name and name
