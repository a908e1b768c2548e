"""Sanity tools from the Training menu, and diagnoses in the training panel."""

from __future__ import annotations

import json
import math

import pytest
from training_helpers import configure

from resnet_studio.train.records import DiagnosisRecord
from resnet_studio.train.sanity import RangeTest, suggest
from resnet_studio.ui.train.bridge import RunUpdate
from resnet_studio.ui.train.sanity_dialogs import LrFinderDialog, OverfitDialog, PreviewDialog


@pytest.fixture
def tools(trainer):
    window, _, prompts = trainer
    configure(window, epochs=1, train_size=64, val_size=16, batch_size=16, lr=0.05)
    sanity = window.sanity
    sanity.lr_steps, sanity.overfit_steps, sanity.preview_count = 30, 40, 8
    return window, sanity, prompts


def _wait_dialog(qtbot, sanity, kind):
    qtbot.waitUntil(lambda: not sanity.busy(), timeout=60_000)
    assert isinstance(sanity.dialog, kind)
    qtbot.addWidget(sanity.dialog)
    return sanity.dialog


def test_the_tools_are_in_the_training_menu(tools):
    window, _, _ = tools
    texts = [a.text() for a in window.menu("training").actions()]
    for text in ("Find &Learning Rate…", "&Overfit One Batch", "Preview &Augmentation…"):
        assert text in texts


def test_lr_finder_runs_from_the_menu_and_plots_its_curve(tools, qtbot):
    window, sanity, prompts = tools
    window.actions["find_lr"].trigger()
    dialog = _wait_dialog(qtbot, sanity, LrFinderDialog)
    assert not prompts.errors
    x, y = dialog.curve.getData()
    assert len(x) == len(dialog.result.lrs) >= 10 and len(y) == len(x)
    assert window.training.bridge.suggested_lr == dialog.result.suggested_lr
    assert dialog.apply_button.isEnabled() == (dialog.result.suggested_lr is not None)


def test_lr_finders_suggestion_applies_as_an_undoable_edit(trainer, qtbot):
    window, _, _ = trainer
    lrs = tuple(10 ** (-5 + i / 10) for i in range(40))
    losses = tuple(2.0 - 0.04 * i if i < 30 else 0.8 + 0.5 * (i - 30) for i in range(40))
    result = RangeTest(lrs, losses, suggest(list(lrs), list(losses)))
    applied = []
    dialog = LrFinderDialog(result, lambda lr: (applied.append(lr),
                                                 window.training.sync.apply_lr(lr)), window)
    qtbot.addWidget(dialog)
    suggested = result.suggested_lr
    assert suggested is not None and dialog.marker is not None
    assert dialog.marker.value() == pytest.approx(math.log10(suggested))
    assert f"{suggested:.2g}" in dialog.verdict.text()
    settings, doc = window.training.panel.settings, window.document
    before = settings.lr.value()
    dialog.apply_button.click()
    assert applied == [suggested] and not dialog.apply_button.isEnabled()
    assert settings.lr.value() == pytest.approx(suggested, rel=1e-3)
    assert doc.graph.training["config"]["lr"] == pytest.approx(suggested, rel=1e-3)
    doc.undo_stack.undo()
    assert settings.lr.value() == before


def test_lr_finder_without_a_suggestion_offers_nothing(trainer, qtbot):
    window, _, _ = trainer
    flat = RangeTest(tuple(10 ** (-5 + i / 10) for i in range(20)), (1.0,) * 20, None)
    dialog = LrFinderDialog(flat, lambda lr: None, window)
    qtbot.addWidget(dialog)
    assert dialog.marker is None and not dialog.apply_button.isEnabled()
    assert "no suggestion" in dialog.verdict.text()


def test_overfit_one_batch_shows_the_curve_and_the_verdict(tools, qtbot):
    window, sanity, _ = tools
    window.actions["overfit_batch"].trigger()
    dialog = _wait_dialog(qtbot, sanity, OverfitDialog)
    x, y = dialog.curve.getData()
    assert len(x) == 40 and y[0] == dialog.result.losses[0]
    assert ("can learn" in dialog.verdict.text()) == dialog.result.learned
    assert "could not fit" in dialog.verdict.text() or dialog.result.learned


def test_preview_shows_the_first_batch(tools, qtbot):
    window, sanity, _ = tools
    window.actions["preview_augment"].trigger()
    dialog = _wait_dialog(qtbot, sanity, PreviewDialog)
    assert dialog.count == 8 and not dialog.pixmap.isNull()
    assert dialog.pixmap.width() > dialog.pixmap.height()  # 8 images in one row of the grid


def test_bad_settings_stop_a_tool_before_it_starts(tools):
    window, sanity, _ = tools
    s = window.training.panel.settings
    s.dataset.setCurrentIndex(s.dataset.findData("folder"))
    s.folder.setText("")
    assert not window.sanity.find_lr()
    assert "folder" in window.training.panel.state.text() and not sanity.busy()


def test_a_diagnosis_appears_in_the_panel_as_it_happens(trainer):
    _, c, _ = trainer
    record = DiagnosisRecord("dead", "error", 40, 1, "layers conv1, conv2 receive no gradient "
                             "since step 40 — the network has died",
                             "lower the learning rate (try 0.01) or use batch norm",
                             ("conv1", "conv2"))
    assert c.panel.diagnoses.isHidden()
    c._on_update(RunUpdate(diagnoses=[record]))
    view = c.panel.diagnoses
    assert not view.isHidden()
    assert "receive no gradient since step 40" in view.label.text()
    assert "try 0.01" in view.label.text()


def test_an_opened_run_shows_its_diagnoses(trainer, qtbot, tmp_path):
    window, c, _ = trainer
    configure(window, epochs=1)
    assert c.start()
    qtbot.waitUntil(lambda: not c.bridge.is_active(), timeout=60_000)
    run = c.current_run
    (run / "diagnostics.jsonl").write_text(json.dumps(
        {"kind": "chance", "severity": "warning", "step": 3, "epoch": 1,
         "message": "the loss has stayed at chance level", "suggestion": "lower the rate",
         "layers": []}) + "\n")
    window.run_focus.set_run(None)
    assert c.panel.diagnoses.isHidden()
    assert window.runs.show_run(run)
    assert "stayed at chance level" in c.panel.diagnoses.text()
