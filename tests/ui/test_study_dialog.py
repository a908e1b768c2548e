"""The study dialogs: each kind plans the runs its form describes with the budget it shows,
refuses what cannot be planned with a sentence, and estimates the time before starting."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from study_helpers import StudyPrompts, budget, staged_net, study_window
from training_helpers import tiny_net

from resnet_studio.presets.recipes import HE_2016_CIFAR
from resnet_studio.train.recipe import project_training, recipe_config, training_section
from resnet_studio.ui.experiments.dialog import StudyDialog


@pytest.fixture
def studio(make_window, tmp_path):
    prompts = StudyPrompts()
    window = study_window(make_window, tmp_path, prompts, budget(epochs=3))
    return window, prompts


def _dialog(qtbot, kind: str) -> StudyDialog:
    dialog = StudyDialog(kind, staged_net(), budget(epochs=3), "tiny")
    qtbot.addWidget(dialog)
    return dialog


def test_the_menu_has_one_action_per_study_kind(studio):
    window, _ = studio
    texts = [a.text() for a in window.menu("experiments").actions() if a.text()]
    assert texts == ["Degradation study…", "Block variants…", "Sweep…", "Plain twin…",
                     "&Open Study…", "&Stop Study"]
    window.actions["study_sweep"].trigger()
    dialog = window.studies.dialog
    assert dialog is not None and dialog.kind == "sweep" and dialog.isVisible()
    assert dialog.form.epochs.value() == 3  # the training panel's settings are the defaults
    dialog.reject()


def test_degradation_plans_residual_and_plain_at_each_depth_with_the_budget(qtbot):
    dialog = _dialog(qtbot, "degradation")
    assert dialog.form.depths.text() == "6,10,14,18"  # the depths this network can reach
    dialog.form.depths.setText("10,6")
    dialog.form.epochs.setValue(1)
    dialog.form.train_size.setValue(40)
    study = dialog.replan()
    assert [r.name for r in study.runs] == ["residual-6", "plain-6", "residual-10", "plain-10"]
    assert {r.config["epochs"] for r in study.runs} == {1}
    assert {r.config["data"]["train_size"] for r in study.runs} == {40}
    assert dialog.form.table.rowCount() == 4 and dialog.form.table.item(1, 0).text() == "plain-6"
    assert dialog.start_button.isEnabled()


def test_a_depth_that_cannot_be_reached_is_refused_in_words(qtbot):
    dialog = _dialog(qtbot, "degradation")
    dialog.form.depths.setText("6,7")
    assert dialog.replan() is None
    assert "depth 7 cannot be reached" in dialog.form.error.text()
    assert not dialog.start_button.isEnabled() and dialog.form.table.rowCount() == 0
    dialog.form.depths.setText("6,x")
    assert dialog.replan() is None and "whole numbers" in dialog.form.error.text()


def test_a_network_without_stages_cannot_vary_its_depth(qtbot):
    dialog = StudyDialog("degradation", tiny_net(), budget(), "tiny")
    qtbot.addWidget(dialog)
    assert dialog.study is None and "has no stage nodes" in dialog.form.error.text()


def test_variants_plan_one_run_per_checked_block(qtbot):
    dialog = _dialog(qtbot, "variants")
    for i in range(dialog.form.blocks.count()):
        item = dialog.form.blocks.item(i)
        wanted = item.data(Qt.ItemDataRole.UserRole) in ("basicblock", "preactblock")
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    dialog.form.target.setValue(0.5)
    study = dialog.replan()
    assert [r.values["block"] for r in study.runs] == ["basicblock", "preactblock"]
    assert study.settings["target"] == 0.5


def test_a_sweep_of_two_settings_plans_every_combination(qtbot):
    dialog = _dialog(qtbot, "sweep")
    (_, first_values), (second, second_values) = dialog.form.vary
    first_values.setText("0.01,0.1")
    second.setCurrentIndex(second.findData("seed"))
    second_values.setText("1,2")
    study = dialog.replan()
    assert [r.values for r in study.runs] == [{"lr": 0.01, "seed": 1}, {"lr": 0.01, "seed": 2},
                                              {"lr": 0.1, "seed": 1}, {"lr": 0.1, "seed": 2}]
    assert [r.config["lr"] for r in study.runs] == [0.01, 0.01, 0.1, 0.1]
    second.setCurrentIndex(second.findData("lr"))
    assert dialog.replan() is None and "chosen twice" in dialog.form.error.text()


def test_the_twin_study_trains_the_network_and_its_plain_twin(qtbot, tmp_path):
    dialog = _dialog(qtbot, "twin")
    study = dialog.replan()
    assert [r.values["skip"] for r in study.runs] == [True, False]
    dialog.form.existing.setText(str(tmp_path / "no-run"))
    assert dialog.replan() is None and "no-run" in dialog.form.error.text()


def test_the_estimate_fills_in_every_run_before_starting(qtbot):
    dialog = _dialog(qtbot, "sweep")
    dialog.form.vary[0][1].setText("0.01,0.1")
    assert dialog.form.table.item(0, 2).text() == "—"
    with qtbot.waitSignal(dialog.form.estimated, timeout=60_000) as blocker:
        dialog.form.estimate_button.click()
    estimate = blocker.args[0]
    assert set(estimate.seconds) == {"lr-0.01", "lr-0.1"}
    assert estimate.total > 0 and dialog.estimates() == estimate.seconds
    assert dialog.form.table.item(0, 2).text() != "—"
    assert dialog.form.total.text().startswith("Estimate: about")
    qtbot.waitUntil(lambda: dialog.form.task is None)
    dialog.form.vary[0][1].setText("0.01,0.2")  # another plan: the estimate no longer applies
    dialog.replan()
    assert dialog.form.estimate is None and dialog.form.table.item(0, 2).text() == "—"


def _saved_settings_net():
    """The staged network with saved settings unlike the engine's defaults (He et al.'s
    recipe, weight decay 2e-4) on a synthetic set that fits it."""
    graph = staged_net()
    config = recipe_config(HE_2016_CIFAR)
    config = config.replace(weight_decay=2e-4, epochs=2, batch_size=8, device="cpu",
                            data=config.data.replace(dataset="synthetic", image_size=8,
                                                     classes=4, train_size=24, val_size=8))
    graph.training = training_section(config, HE_2016_CIFAR)
    return graph


def test_the_dialog_starts_from_the_open_projects_training_settings(make_window):
    window = make_window(_saved_settings_net(), StudyPrompts())
    window.actions["study_twin"].trigger()
    dialog = window.studies.dialog
    expected = project_training(window.document.graph).config
    assert expected.weight_decay == 2e-4 and expected.schedule == "multistep"
    study = dialog.replan()
    assert [r.config for r in study.runs] == [expected.to_dict()] * 2
    assert study.settings["settings_source"].startswith("the project's settings: He et al.")
    text = dialog.form.settings_line.text()
    assert "weight decay 0.0002" in text and "multistep ×0.1 at 50%, 75%" in text
    dialog.reject()


def test_repeats_train_every_configuration_from_consecutive_seeds(qtbot):
    dialog = _dialog(qtbot, "twin")
    dialog.form.repeats.setValue(3)
    study = dialog.replan()
    assert [r.name for r in study.runs] == ["residual-seed1", "residual-seed2",
                                            "residual-seed3", "plain-seed1", "plain-seed2",
                                            "plain-seed3"]
    assert study.settings["seeds"] == [1, 2, 3] and dialog.form.table.rowCount() == 6
    assert [r.config["seed"] for r in study.runs[:3]] == [1, 2, 3]


def test_runs_too_short_to_learn_are_pointed_out_before_start(qtbot):
    dialog = _dialog(qtbot, "twin")  # 3 epochs of 3 batches
    dialog.replan()
    assert not dialog.form.warning.isHidden()
    assert "3 epochs × 3 batches = 9 steps" in dialog.form.warning.text()
    dialog.form.train_size.setValue(8 * 34)  # 34 batches × 3 epochs = 102 steps
    dialog.replan()
    assert dialog.form.warning.isHidden() and dialog.start_button.isEnabled()


def test_the_cpu_budget_fills_the_form_and_the_form_still_wins(qtbot):
    dialog = _dialog(qtbot, "degradation")
    dialog.form.budget_choice.setCurrentIndex(dialog.form.budget_choice.findData("cpu"))
    assert dialog.form.depths.text() == "6,14,30"  # 1, 3 and 7 blocks per stage
    assert dialog.form.epochs.value() == 3 and dialog.form.dataset.currentData() == "mnist"
    dialog.form.epochs.setValue(1)
    study = dialog.replan()
    config = study.runs[0].config
    assert (config["epochs"], config["batch_size"], config["lr"], config["schedule"]) == (
        1, 64, 0.1, "multistep")
    assert config["data"]["augment"] is False and config["data"]["subset"] == 5000
    assert "‘cpu’ budget" in study.settings["settings_source"]
    assert _dialog(qtbot, "sweep").form.budget_choice.isHidden()  # degradation only


def test_the_estimate_shows_its_time_left_and_cancel_stops_it(qtbot, monkeypatch):
    from resnet_studio.study import estimate as estimate_module

    dialog = _dialog(qtbot, "sweep")
    real, heard = estimate_module.step_seconds, []

    def timed(graph, config, steps, on_step):
        def hear(step, of):  # the timing holds at its first step until it is cancelled
            heard.append(step)
            going = on_step(step, of)
            assert dialog.form.task.cancel_flag.wait(timeout=60), "never cancelled"
            return going and not dialog.form.task.cancel_flag.is_set()
        return real(graph, config, steps, hear)

    monkeypatch.setattr(estimate_module, "step_seconds", timed)
    task = dialog.form.estimate_time()
    assert task.dialog.findChild(QPushButton).text() == "Cancel"
    qtbot.waitUntil(lambda: task.label.startswith("Timing step 1 of 6 of lr="), timeout=60_000)
    assert task.label.endswith(" left") and "estimating" not in task.label
    with qtbot.waitSignal(task.ended, timeout=60_000):
        task.dialog.findChild(QPushButton).click()
    assert task.cancel_flag.is_set() and dialog.form.estimate is None
    assert heard == [1, 2]  # the engine stopped after the window it was in
    assert dialog.form.total.text() == "Estimate: cancelled; not timed."
    assert dialog.form.estimate_button.isEnabled()
