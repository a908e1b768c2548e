"""The training panel edits the project's training settings: undoable, saved, restored, and
checked on open; the run uses them."""

from __future__ import annotations

import json

from training_helpers import configure, tiny_net

from resnet_studio.presets import create
from resnet_studio.presets.recipes import DIGITS, SCRATCH
from resnet_studio.train.recipe import project_training
from resnet_studio.ui.data.wording import app_wording


def _settings(window):
    return window.training.panel.settings


def test_an_edit_is_an_undoable_change_of_the_project(make_window):
    window = make_window(tiny_net())
    s, doc = _settings(window), window.document
    before = project_training(doc.graph).config.epochs
    s.epochs.setValue(before + 3)
    assert doc.graph.training["config"]["epochs"] == before + 3
    assert doc.undo_stack.undoText() == "Change Epochs"
    assert window.windowTitle().startswith("*") or doc.is_modified()
    doc.undo_stack.undo()
    assert project_training(doc.graph).config.epochs == before
    assert s.epochs.value() == before  # the panel follows the document
    doc.undo_stack.redo()
    assert s.epochs.value() == before + 3


def test_consecutive_steps_of_one_setting_undo_at_once(make_window):
    window = make_window(tiny_net())
    s, doc = _settings(window), window.document
    start = s.batch_size.value()
    for size in (start + 1, start + 2, start + 3):
        s.batch_size.setValue(size)
    doc.undo_stack.undo()
    assert s.batch_size.value() == start


def test_init_is_a_setting(make_window):
    window = make_window(tiny_net())
    s, doc = _settings(window), window.document
    s.init.setCurrentIndex(s.init.findData("xavier"))
    s.zero_init_residual.setChecked(True)
    s.augment.setChecked(not s.augment.isChecked())
    config = project_training(doc.graph).config
    assert (config.init, config.zero_init_residual) == ("xavier", True)
    assert config.data.augment == s.augment.isChecked()
    _, run_config = window.training._configure(doc.graph.copy())
    assert run_config.init == "xavier" and run_config.zero_init_residual


def test_settings_survive_save_and_reopen(make_window, tmp_path):
    path = tmp_path / "net.rstudio.json"
    window = make_window(create("mnist_small_resnet"))
    _settings(window).epochs.setValue(3)
    window.document.save(path)
    assert json.loads(path.read_text())["training"]["config"]["epochs"] == 3
    _settings(window).epochs.setValue(7)
    window.document.undo_stack.setClean()
    assert window.open_project(path)
    assert _settings(window).epochs.value() == 3
    assert DIGITS.title in _settings(window).recipe.text()


def test_an_old_file_opens_with_its_presets_recipe(make_window, tmp_path):
    graph = create("mnist_small_resnet")
    assert graph.training is None
    window = make_window(graph)
    s = _settings(window)
    assert DIGITS.title in s.recipe.text() and "Loshchilov" in s.recipe.toolTip()
    assert (s.optimizer.currentData(), s.lr.value(), s.init.currentData()) == \
        ("adamw", DIGITS.settings["lr"], "pytorch")
    # kept with the document, so Save As (which renames the network) keeps the recipe
    assert window.document.graph.training["recipe"]["name"] == DIGITS.name


def test_reset_to_recipe_is_one_undoable_edit(make_window):
    window = make_window(tiny_net())
    s, doc = _settings(window), window.document
    recipe_lr = s.lr.value()
    assert "changed" not in s.recipe.text()
    s.lr.setValue(0.3)
    s.epochs.setValue(99)
    assert "settings changed" in s.recipe.text()
    s.reset_recipe.click()
    assert (s.lr.value(), s.epochs.value()) == (recipe_lr, SCRATCH.settings["epochs"])
    assert "changed" not in s.recipe.text()
    doc.undo_stack.undo()
    assert (s.lr.value(), s.epochs.value()) == (0.3, 99)


def test_bad_settings_in_a_file_name_the_field(make_window, prompts, tmp_path):
    path = tmp_path / "bad.rstudio.json"
    window = make_window(tiny_net())
    window.document.save(path)
    data = json.loads(path.read_text())
    data["training"]["config"]["lr"] = "fast"
    path.write_text(json.dumps(data))
    assert window.open_project(path)
    state = window.training.panel.state.text()
    assert "training.config.lr" in state and "Traceback" not in state
    # the panel shows the recipe's settings; training refuses with the same field named
    assert _settings(window).lr.value() == SCRATCH.settings["lr"]
    assert not window.training.start()
    assert "training.config.lr" in window.training.panel.state.text()


def test_data_choice_follows_the_fit_rule(make_window):
    window = make_window(tiny_net())
    s = _settings(window)
    assert s.fit.currentData() == "network"
    assert not s.image_size.isEnabled() and "converted to the network's input" in \
        s.fit_note.text()
    s.fit.setCurrentIndex(s.fit.findData("none"))
    s.adapt.setChecked(False)
    s.image_size.setValue(20)
    assert s.image_size.isEnabled()
    data = project_training(window.document.graph).config.data
    assert (data.fit, data.image_size) == ("none", 20)
    assert "20×20" in s.fit_note.text()


def test_engine_messages_name_the_apps_settings():
    message = ("the network takes 1×28×28 images but dataset ‘d’ is served at 3×32×32 with "
               "fitting off; pass --fit network (training field data.fit) to convert the "
               "images, or --image-size 28 --channels 1 (data.image_size, data.channels).")
    text = app_wording(message)
    assert "--" not in text
    assert "Fit to the network's input" in text and "Image size 28 and Channels 1" in text


def test_data_that_cannot_fit_names_the_apps_setting(trainer, qtbot):
    window, c, prompts = trainer
    configure(window, epochs=1)
    s = c.panel.settings
    s.fit.setCurrentIndex(s.fit.findData("none"))
    s.adapt.setChecked(False)
    s.image_size.setValue(s.image_size.value() + 4)  # not the network's input
    assert c.start()
    qtbot.waitUntil(lambda: not c.bridge.is_active(), timeout=60_000)
    assert c.bridge.last_end.status == "failed"
    message = c.panel.state.text()
    assert "Fit to the network's input" in message and "Image size" in message
    assert "--fit" not in message and "--image-size" not in message
    assert prompts.errors and "--" not in prompts.errors[-1][1]


def test_a_network_given_a_detection_head_is_offered_its_tasks_recipe(make_window):
    from resnet_studio.api import load_project
    from resnet_studio.examples import example
    from resnet_studio.presets.recipes import SHAPES_DETECTION, STARTER
    from resnet_studio.train.recipe import recipe_config, training_section

    graph = load_project(example("shapes_detector").path)
    graph.training = training_section(recipe_config(STARTER), STARTER)  # a classifier's
    window = make_window(graph)
    s, doc = _settings(window), window.document
    assert not s.task_recipe.isHidden()
    assert s.task_recipe.text() == f"Use {SHAPES_DETECTION.title}"
    s.task_recipe.click()
    training = project_training(doc.graph)
    assert training.recipe.name == SHAPES_DETECTION.name
    assert training.config.data.dataset == "shapes-detection"
    assert s.optimizer.currentData() == "adamw" and s.task_recipe.isHidden()
    assert doc.undo_stack.undoText() == f"Change Recipe: {SHAPES_DETECTION.title}"
    doc.undo_stack.undo()
    assert project_training(doc.graph).recipe.name == STARTER.name
    assert not s.task_recipe.isHidden()
    doc.graph.remove_node("detector")  # no head: a classifier again, nothing to offer
    assert s.task_recipe.isHidden()


def test_a_classifier_is_offered_no_other_recipe(make_window):
    window = make_window(tiny_net())
    assert _settings(window).task_recipe.isHidden()


def test_the_task_recipe_is_checked_again_only_when_a_head_comes_or_goes(make_window,
                                                                         monkeypatch):
    from resnet_studio.ui.train import recipe_sync

    window = make_window(tiny_net())
    s, graph = _settings(window), window.document.graph
    checks = []
    check = recipe_sync.task_recipe
    monkeypatch.setattr(recipe_sync, "task_recipe", lambda g: checks.append(1) or check(g))
    graph.add_node("conv2d", {"out_channels": 4}, (300.0, 0.0), "extra")
    graph.connect("relu1", "out", "extra", "in")
    graph.set_params("extra", {"out_channels": 8})
    graph.move_node("extra", (320.0, 10.0))
    graph.set_label("extra", "spare")
    graph.rename_node("extra", "spare")
    graph.remove_node("spare")
    assert checks == [] and s.task_recipe.isHidden()  # no edit of a non-head block checks
    graph.add_node("faster_rcnn", {}, (0.0, 900.0), "detector")
    assert len(checks) == 1 and not s.task_recipe.isHidden()  # a detector now
    graph.rename_node("detector", "boxes")
    graph.move_node("boxes", (10.0, 900.0))
    assert len(checks) == 1
    graph.remove_node("boxes")  # followed under its new id
    assert len(checks) == 2 and s.task_recipe.isHidden()
