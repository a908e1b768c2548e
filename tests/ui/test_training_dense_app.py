"""A dense example opened in the app trains from the Train button with its saved settings
(the shapes at a test's size) and its validation predictions reach the Predictions tab."""

from __future__ import annotations

import pytest
from training_helpers import TrainingPrompts, wait_finished

from resnet_studio.ui.shell.examples_menu import action_key
from resnet_studio.ui.train.views import TAB_PREDICTIONS


@pytest.mark.parametrize(("name", "task"), [("shapes_segmenter", "segmentation"),
                                            ("shapes_detector", "detection")])
def test_a_dense_example_trains_from_the_train_button(make_window, qtbot, tmp_path, name,
                                                      task):
    window = make_window(None, TrainingPrompts())
    window.training.runner.unsaved_runs_dir = tmp_path / "runs"
    window.actions[action_key(name)].trigger()
    s = window.training.panel.settings
    recipe = s.config(window.document.graph)  # the example's own settings
    assert recipe.data.task == task
    s.train_size.setValue(16)  # a test's size: the saved recipe otherwise
    s.val_size.setValue(8)
    s.epochs.setValue(1)
    s.device.setCurrentIndex(s.device.findData("cpu"))
    s.changed.emit()
    config = s.config(window.document.graph)
    assert (config.optimizer, config.lr, config.batch_size) == \
        (recipe.optimizer, recipe.lr, recipe.batch_size)
    window.actions["train_start"].trigger()
    controller = window.training
    assert controller.bridge.is_active()
    end = wait_finished(qtbot, controller, timeout=240_000)
    assert end is not None and end.status == "finished", end
    history = controller.views.history
    assert history.task == task
    assert set(history.task_metrics) == ({"map", "map_50"} if task == "detection"
                                         else {"miou", "pixel_acc"})
    view = controller.views.predictions
    assert view.record is not None and view.record.task == task
    assert len(view.record.images) == 8
    controller.views.tabs.setCurrentIndex(TAB_PREDICTIONS)
    assert not view.empty
