"""A busy dialog that reports progress: its label gives the time left once a unit is done,
and Cancel stops the work at its next check and drops the result."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QPushButton, QWidget

from resnet_studio.ui.shell.busy import ProgressTask, steps, time_left


class Clock:
    def __init__(self):
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_time_left_is_the_pace_so_far_times_the_units_left():
    assert time_left(10.0, 0, 4) == "estimating time left"
    assert time_left(10.0, 1, 4) == "about 0:30 left"
    assert time_left(130.0, 2, 3) == "about 1:05 left"


def test_the_label_shows_the_time_left_and_cancel_stops_the_work(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    clock, reached, outcome = Clock(), threading.Event(), {}

    def work(progress, cancel):
        progress(1, 4, "counting the MACs of one network")
        reached.set()
        outcome["stopped"] = cancel.wait(timeout=60)  # each unit checks the flag
        return "a result"

    task = ProgressTask(work, "Timing…", parent, lambda r: outcome.setdefault("done", r),
                        lambda e: outcome.setdefault("error", e), clock=clock)
    task.start()
    clock.now += 12.0  # one unit took 12 s: three more take 36 s
    assert reached.wait(timeout=60)
    qtbot.waitUntil(lambda: task.dialog.value() == 1, timeout=60_000)
    assert task.dialog.labelText() == "Counting the MACs of one network — about 0:36 left"
    assert task.dialog.maximum() == 4
    with qtbot.waitSignal(task.ended, timeout=60_000):
        task.dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    assert task.cancel_flag.is_set() and task.cancelled
    assert outcome == {"stopped": True}  # neither the result nor an error was handed on


def test_steps_name_the_work_and_count_its_steps():
    reports = []
    report = steps(lambda *args: reports.append(args), "Finding a learning rate…")
    report(12, 1000)
    assert reports == [(12, 1000, "Finding a learning rate: step 12 of 1,000")]


def test_a_late_report_never_takes_the_bar_or_the_label_back(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    clock = Clock()
    task = ProgressTask(lambda progress, cancel: None, "Training on one batch…", parent,
                        print, print, clock=clock)
    task.began = 50.0
    clock.now = 56.0
    task._show(3, 10, "step 3 of 10")
    task._show(2, 10, "step 2 of 10")  # delivered inside the modal dialog's setValue of 3
    assert task.dialog.value() == 3
    assert task.dialog.labelText() == "Step 3 of 10 — about 0:14 left"
    task._show(3, 10, "step 3 of 10, writing")  # the same unit, a newer text: shown
    assert task.dialog.labelText() == "Step 3 of 10, writing — about 0:14 left"
