"""The sanity tools' busy dialogs (``shell.busy.ProgressTask``, tested in test_busy_task.py):
the LR finder's label counts its steps and never goes back, Cancel stops the work, and the
augmentation preview says what it shows."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton
from training_helpers import configure

from resnet_studio.ui.shell import busy
from resnet_studio.ui.train.sanity_dialogs import PreviewDialog


@pytest.fixture
def tools(trainer):
    window = trainer[0]
    configure(window, epochs=1, train_size=64, val_size=16, batch_size=16, lr=0.05)
    window.sanity.preview_count = 8
    return window, window.sanity


def _preview(qtbot, window, sanity) -> PreviewDialog:
    window.actions["preview_augment"].trigger()
    qtbot.waitUntil(lambda: not sanity.busy(), timeout=60_000)
    assert isinstance(sanity.dialog, PreviewDialog)
    qtbot.addWidget(sanity.dialog)
    return sanity.dialog


def test_the_preview_says_augmented_only_when_it_is(tools, qtbot):
    window, sanity = tools
    shown = _preview(qtbot, window, sanity).caption.text()
    assert "augmented: random crop (padding 4), horizontal flip" in shown
    window.training.panel.settings.augment.setChecked(False)
    shown = _preview(qtbot, window, sanity).caption.text()
    assert "no augmentation: it is off" in shown and "augmented" not in shown


def test_the_lr_finder_dialog_shows_steps_and_the_time_left(tools, qtbot, monkeypatch):
    window, sanity = tools
    sanity.lr_steps = 12
    labels = []
    original = busy.time_left

    def recorded(elapsed, done, total):
        labels.append((done, total))
        return original(elapsed, done, total)

    monkeypatch.setattr(busy, "time_left", recorded)
    window.actions["find_lr"].trigger()
    qtbot.waitUntil(lambda: not sanity.busy(), timeout=60_000)
    steps = [done for done, _ in labels]
    assert steps and steps == sorted(set(steps))  # the label never goes back
    assert all(total == 12 for _, total in labels)
    assert sanity.task.label == "Finding a learning rate: step 12 of 12 — about 0:00 left"


def test_cancel_stops_the_lr_finder_and_shows_nothing(tools, qtbot):
    window, sanity = tools
    sanity.lr_steps = 100_000  # it would run for minutes: only Cancel ends it
    window.actions["find_lr"].trigger()
    task = sanity.task
    qtbot.waitUntil(lambda: task.dialog.value() >= 1, timeout=60_000)
    with qtbot.waitSignal(task.ended, timeout=60_000):
        next(b for b in task.dialog.findChildren(QPushButton) if b.text() == "Cancel").click()
    assert task.cancel_flag.is_set() and not sanity.busy()
    assert sanity.dialog is None  # neither the result nor the Cancelled error was shown
