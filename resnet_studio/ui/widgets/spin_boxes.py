"""Number boxes and drop-downs that a mouse wheel only changes when they have the focus.

Qt's spin boxes and combo boxes take every wheel turn that passes over them, so scrolling a
settings panel silently changed the learning rate (0.1 → 1e-08) and weight decay (→ 0). Here
a wheel turn over an unfocused box is passed on to the panel, which scrolls; click or Tab into
the box first to change it with the wheel. ``NumberSpinBox`` also shows values as written
(``1e-05``, ``0.1``) and can step along 1-2-5 decades (0.1 → 0.2 / 0.05), which suits
learning rates and weight decays, whose sensible values span many orders of magnitude.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

MANTISSAS = (1, 2, 5)
LOG_FLOOR = 1e-6  # where a log-stepped box goes from 0 on the first step up


def _focused_wheel(widget: QWidget, event: QWheelEvent, handle) -> None:
    if widget.hasFocus():
        handle(event)
    else:
        event.ignore()  # the parent (a scroll area) scrolls instead


class IntSpinBox(QSpinBox):
    """A QSpinBox that takes the wheel only when focused."""

    def __init__(self, parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: a turn gives no focus

    def wheelEvent(self, event: QWheelEvent) -> None:
        _focused_wheel(self, event, super().wheelEvent)


class DoubleSpinBox(QDoubleSpinBox):
    """A QDoubleSpinBox that takes the wheel only when focused."""

    def __init__(self, parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _focused_wheel(self, event, super().wheelEvent)


class ComboBox(QComboBox):
    """A QComboBox that takes the wheel only when focused."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event: QWheelEvent) -> None:
        _focused_wheel(self, event, super().wheelEvent)


class NumberSpinBox(DoubleSpinBox):
    """A number box that shows and accepts ``1e-4`` as well as ``0.0001``.

    With ``log_steps`` each step moves along 1, 2, 5, 10, 20, … (0.1 → 0.2 up, → 0.05 down);
    otherwise steps adapt to the shown decimals.
    """

    def __init__(self, parent: QWidget | None = None, minimum: float = 0.0,
                 maximum: float = 100.0, value: float = 0.0, log_steps: bool = False):
        super().__init__(parent)
        self.log_steps = log_steps
        self.setDecimals(15)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setRange(minimum, maximum)
        self.setValue(value)
        self.setKeyboardTracking(False)  # one change per Enter or step, not per key typed

    def stepBy(self, steps: int) -> None:
        if not self.log_steps:
            super().stepBy(steps)
            return
        value = self.value()
        for _ in range(abs(steps)):
            value = log_step(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(self.suffix(), "").strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.replace(self.suffix(), "").strip()
        if stripped in ("", "-", "+", ".", "e", "-.", "+."):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            partial = stripped.endswith(("e", "e-", "e+", "E", "E-", "E+"))
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate), text, pos


def log_step(value: float, up: bool) -> float:
    """The next value of the 1-2-5 series above (or below) ``value``: 0.1 → 0.2 / 0.05,
    0.003 → 0.005 / 0.002. Up from zero goes to ``LOG_FLOOR``; down never reaches zero."""
    if value <= 0:
        return LOG_FLOOR if up else 0.0
    exponent = math.floor(math.log10(value))
    series = [float(f"{m}e{e}") for e in range(exponent - 1, exponent + 2) for m in MANTISSAS]
    tolerance = value * 1e-9
    if up:
        return min(v for v in series if v > value + tolerance)
    return max(v for v in series if v < value - tolerance)
