"""A view with nothing to show yet says so in words instead of drawing empty axes: the hint
takes the view's place, centred, until the view has data (an empty 0…1 frame reads as a
result, and its default ticks rarely match the units its labels name)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QWidget

HINT_STYLE = "color: #5f6b76; font-size: 11pt; padding: 24px;"


class EmptyState(QStackedWidget):
    """``content``, or ``hint`` in its place while ``set_empty(True)``; a long hint (rich
    text allowed) is kept to ``max_width`` pixels, centred, for lines that read easily."""

    def __init__(self, content: QWidget, hint: str, parent: QWidget | None = None,
                 max_width: int = 640):
        super().__init__(parent)
        self.content = content
        self.hint = QLabel(hint, self, wordWrap=True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet(HINT_STYLE)
        self.hint.setMaximumWidth(max_width)
        self._hint_page = QWidget(self)
        row = QHBoxLayout(self._hint_page)
        row.addStretch(1)
        row.addWidget(self.hint, 3)
        row.addStretch(1)
        self.addWidget(self._hint_page)
        self.addWidget(content)
        self.set_empty(True)

    @property
    def empty(self) -> bool:
        return self.currentWidget() is self._hint_page

    def set_empty(self, empty: bool) -> None:
        self.setCurrentWidget(self._hint_page if empty else self.content)
