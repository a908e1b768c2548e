"""File → Open Example: every shipped example, opened as an untitled copy after the
unsaved-changes question; saving asks for a file and never writes the package's file."""

from __future__ import annotations

import pytest

from resnet_studio.examples import EXAMPLES, Example, example
from resnet_studio.graph.project import dumps, load
from resnet_studio.ui.design.commands import SetParamsCommand
from resnet_studio.ui.shell.examples_menu import MENU, action_key
from resnet_studio.ui.shell.prompts import CANCEL, DISCARD


def test_the_file_menu_lists_every_example_with_its_description(window):
    menu = window.menu(MENU)
    assert [a.text() for a in menu.actions()] == [e.title for e in EXAMPLES]
    assert [a.statusTip() for a in menu.actions()] == [e.description for e in EXAMPLES]
    entry = next(a for a in window.menu("file").actions() if a.menu() is menu)
    assert entry.text() == "Open &Example"


@pytest.mark.parametrize("name", ["cifar_resnet20", "custom_residual_block"])
def test_an_example_opens_as_an_untitled_copy(window, name):
    window.actions[action_key(name)].trigger()
    doc, shipped = window.document, load(example(name).path, window.document.graph.lookup)
    assert doc.path is None and not doc.is_modified()
    assert dumps(doc.graph) == dumps(shipped)  # every node, block definition and setting
    assert window.windowTitle().startswith(f"Untitled ({name})[*]"), window.windowTitle()
    assert set(window.editor.scene.node_items) == set(shipped.nodes)
    assert doc.current_analysis().ok
    assert "Opened the example" in window.statusBar().currentMessage()


def test_saving_an_example_asks_for_a_file_and_leaves_the_package_file(window, prompts,
                                                                       tmp_path):
    entry = example("cifar_resnet20")
    shipped = entry.path.read_bytes()
    window.actions[action_key(entry.name)].trigger()
    window.document.push(SetParamsCommand(window.document.graph, ["conv1"],
                                          {"out_channels": 32}))
    prompts.save_path = str(tmp_path / "mine")
    window.actions["save"].trigger()
    assert prompts.asked[-1][0] == "save"
    assert window.document.path == (tmp_path / "mine.rstudio.json").resolve()
    assert entry.path.read_bytes() == shipped
    saved = load(tmp_path / "mine.rstudio.json", window.document.graph.lookup)
    assert saved.node("conv1").params["out_channels"] == 32 and saved.name == "mine"


def test_a_cancelled_save_keeps_the_package_file_and_the_untitled_copy(window, prompts):
    entry = example("mnist_small_resnet")
    shipped = entry.path.read_bytes()
    window.actions[action_key(entry.name)].trigger()
    prompts.save_path = None  # the user closes the file dialog
    assert not window.save()
    assert window.document.path is None and entry.path.read_bytes() == shipped


def test_unsaved_changes_are_asked_about_first(window, prompts):
    doc = window.document
    doc.push(SetParamsCommand(doc.graph, ["conv1"], {"out_channels": 12}))
    before = dumps(doc.graph)
    prompts.unsaved_answer = CANCEL
    assert not window.examples.open_example("small_convnext")
    assert prompts.asked[-1] == ("unsaved", doc.display_name())
    assert dumps(doc.graph) == before and doc.is_modified()
    prompts.unsaved_answer = DISCARD
    assert window.examples.open_example("small_convnext")
    assert doc.graph.name == "small_convnext" and not doc.is_modified()


def test_a_damaged_example_file_is_named_in_one_line_and_changes_nothing(window, prompts,
                                                                         tmp_path, monkeypatch):
    broken = tmp_path / "small_convnext.rstudio.json"
    broken.write_text('{"format_version": 1, "nodes": [', encoding="utf-8")
    monkeypatch.setattr(Example, "path", property(lambda self: broken))
    before = dumps(window.document.graph)
    assert not window.examples.open_example("small_convnext")
    title, message = prompts.errors[-1]
    assert title == "Cannot open example" and str(broken) in message and "\n" not in message
    assert dumps(window.document.graph) == before
