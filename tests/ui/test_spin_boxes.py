"""Spin boxes and drop-downs change on the mouse wheel only when focused; learning rate and
weight decay step along 1-2-5 decades."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox

from resnet_studio.ui.widgets.spin_boxes import NumberSpinBox, log_step


def wheel(widget, notches: int = -1) -> QWheelEvent:
    """Send a wheel turn (negative: towards the user, "down") to the middle of ``widget``."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event


def value_of(widget):
    return widget.currentIndex() if isinstance(widget, QComboBox) else widget.value()


def test_no_box_of_the_main_window_changes_on_a_wheel_turn_without_focus(window):
    window.training.show_docks()
    window.editor.select_nodes(["conv1"])
    window.setFocus()
    boxes = [w for w in window.findChildren(QAbstractSpinBox) + window.findChildren(QComboBox)
             if w.isEnabled()]
    assert len(boxes) >= 13
    for box in boxes:
        before = value_of(box)
        for notches in (-1, 1):
            wheel(box, notches)
        assert value_of(box) == before, box.objectName() or type(box).__name__


def test_a_focused_box_takes_the_wheel(window, qtbot):
    lr = window.training.panel.settings.lr
    window.reveal("training")
    qtbot.waitUntil(lr.isVisible)
    lr.setValue(0.1)
    lr.setFocus()
    qtbot.waitUntil(lr.hasFocus)
    wheel(lr, 1)
    assert lr.value() == pytest.approx(0.2)


def test_an_unfocused_box_passes_the_wheel_on(qtbot):
    """An ignored wheel event goes on to the parent, so the panel around the box scrolls."""
    box = NumberSpinBox(minimum=1e-8, maximum=100.0, value=0.1, log_steps=True)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    assert not wheel(box, -3).isAccepted()
    assert box.value() == 0.1
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    assert wheel(box, -1).isAccepted()
    assert box.value() == pytest.approx(0.05)


def test_learning_rate_and_weight_decay_step_along_decades(window):
    settings = window.training.panel.settings
    lr, decay = settings.lr, settings.weight_decay
    lr.setValue(0.1)
    lr.stepBy(1)
    assert lr.value() == pytest.approx(0.2) and lr.text() == "0.2"
    lr.setValue(0.1)
    lr.stepBy(-1)
    assert lr.value() == pytest.approx(0.05)
    lr.stepBy(-3)
    assert lr.value() == pytest.approx(0.005)
    decay.setValue(5e-4)
    decay.stepBy(1)
    assert decay.value() == pytest.approx(1e-3)
    decay.setValue(0.0)
    decay.stepBy(1)
    assert decay.value() > 0


@pytest.mark.parametrize(("value", "up", "down"), [
    (0.1, 0.2, 0.05), (1.0, 2.0, 0.5), (0.003, 0.005, 0.002), (5e-4, 1e-3, 2e-4),
    (0.5, 1.0, 0.2), (30.0, 50.0, 20.0)])
def test_log_step(value, up, down):
    assert log_step(value, up=True) == pytest.approx(up)
    assert log_step(value, up=False) == pytest.approx(down)
