"""The sanity tools' busy dialogs: Cancel stops the work, the label gives the time left, and
the augmentation preview says what it shows."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QPushButton, QWidget
from training_helpers import configure

from resnet_studio.train.sanity import Cancelled
from resnet_studio.ui.train import sanity_task
from resnet_studio.ui.train.sanity_dialogs import PreviewDialog
from resnet_studio.ui.train.sanity_task import SanityTask, eta_text


def test_eta_text_is_the_mean_step_time_times_the_steps_left():
    assert eta_text(10, 100, 5.0) == "step 10 of 100 · about 0:45 left"
    assert eta_text(1, 3, 30.0) == "step 1 of 3 · about 1:00 left"
    assert eta_text(0, 50, 0.0) == "step 0 of 50 · estimating the time left"
    assert eta_text(50, 50, 9.0).endswith("about 0:00 left")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cancel_sets_the_flag_the_work_stops_on_and_drops_its_result(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    reported, stepped = [], threading.Event()
    done, errors = [], []

    def work(progress, cancel):
        progress(1, 10)
        stepped.set()
        assert cancel.wait(30), "never cancelled"
        raise Cancelled("cancelled")  # as the tools do between two steps

    clock = _Clock()
    task = SanityTask(work, "Finding a learning rate…", parent, done.append, errors.append,
                      clock=clock)
    task.dialog.canceled.connect(lambda: reported.append("canceled"))
    task.start()
    clock.now = 104.0  # one step of ten took 4 s: 36 s left
    qtbot.waitUntil(lambda: task.dialog.value() == 1, timeout=30_000)
    assert task.dialog.maximum() == 10
    assert task.dialog.labelText().endswith("step 1 of 10 · about 0:36 left")
    cancel = next(b for b in task.dialog.findChildren(QPushButton) if b.text() == "Cancel")
    with qtbot.waitSignal(task.ended, timeout=30_000):
        cancel.click()
    assert task.cancelled and task.done and reported == ["canceled"]
    assert done == [] and errors == []  # neither the result nor the Cancelled error is shown


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
    original = sanity_task.eta_text

    def recorded(done, total, elapsed):
        labels.append((done, total))
        return original(done, total, elapsed)

    monkeypatch.setattr(sanity_task, "eta_text", recorded)
    window.actions["find_lr"].trigger()
    qtbot.waitUntil(lambda: not sanity.busy(), timeout=60_000)
    steps = [done for done, _ in labels]
    assert steps and steps == sorted(set(steps))  # the label never goes back
    assert all(total == 12 for _, total in labels)


def test_a_late_update_never_takes_the_label_back(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    clock = _Clock()
    task = SanityTask(lambda progress, cancel: None, "Training on one batch…", parent,
                      print, print, clock=clock)
    task.began = 100.0
    clock.now = 106.0
    task.show_progress(3, 10)
    task.show_progress(2, 10)  # delivered inside the modal dialog's setValue of step 3
    assert task.dialog.value() == 3
    assert task.dialog.labelText() == "Training on one batch…\nstep 3 of 10 · about 0:14 left"
