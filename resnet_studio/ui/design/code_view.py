"""The generated ``model.py``, read-only and syntax-highlighted, following every edit."""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...graph import Graph
from ..shell import theme

if TYPE_CHECKING:  # the compiler loads torch; the editor opens before it has
    from ...compiler import Analysis


def _format(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, numbers, decorators, strings and comments; triple-quoted strings
    may span lines (tracked with the block state)."""

    RULES = (
        (r"\b(" + "|".join(keyword.kwlist) + r")\b", _format("#8250df", bold=True)),
        (r"\b(self|super|len|range|isinstance|callable|getattr|int|float)\b", _format("#0550ae")),
        (r"\b\d+(\.\d+)?([eE][-+]?\d+)?\b", _format("#0a3069")),
        (r"@\w+(\.\w+)*", _format("#953800")),
        (r"(?<=\bdef\s)\w+|(?<=\bclass\s)\w+", _format("#6639ba", bold=True)),
        (r"'[^'\n]*'|\"[^\"\n]*\"", _format("#0a3069")),
        (r"#[^\n]*", _format("#6e7781", italic=True)),
    )
    TRIPLE = re.compile(r'"""')

    def __init__(self, document: QTextDocument):
        super().__init__(document)
        self.rules = [(QRegularExpression(p), f) for p, f in self.RULES]
        self.docstring = _format("#116329", italic=True)

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                m = matches.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), fmt)
        self._docstrings(text)

    def _docstrings(self, text: str) -> None:
        inside = self.previousBlockState() == 1
        start = 0
        for match in self.TRIPLE.finditer(text):
            if inside:
                self.setFormat(start, match.end() - start, self.docstring)
            else:
                start = match.start()
            inside = not inside
        if inside:
            self.setFormat(start, len(text) - start, self.docstring)
        self.setCurrentBlockState(1 if inside else 0)


CODE_COLUMNS = 79  # PEP 8's line length: the model.py pane shows this much without scrolling
CURSOR_WIDTH = 2  # a plain text edit keeps room for its cursor after the last character


class CodeView(QWidget):
    """Shows ``generate_source(graph)``; regenerates on ``refresh`` only while visible.

    While ``waiting`` (the window opened before PyTorch had loaded) it shows a note instead
    and generates nothing: generating imports torch, which would freeze the window.
    """

    export_requested = Signal()

    def __init__(self, graph: Graph, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self.source = ""
        self.stale = True
        self.waiting = False
        self.editor = QPlainTextEdit(self, readOnly=True)
        self.editor.setFont(theme.mono_font(9.5))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = PythonHighlighter(self.editor.document())
        self.status = QLabel(self)
        self.status.setStyleSheet("color: #5f6b76;")
        self.export_button = QPushButton("Export model.py…", self)
        self.export_button.clicked.connect(self.export_requested)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.editor, 1)

    def preferred_width(self) -> int:
        """The width that shows ``CODE_COLUMNS`` characters of code beside the scroll bar."""
        editor = self.editor
        text = editor.fontMetrics().horizontalAdvance("x" * CODE_COLUMNS)
        margins = self.layout().contentsMargins()
        scroll_bar = editor.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return (text + 2 * round(editor.document().documentMargin()) + 2 * editor.frameWidth()
                + scroll_bar + margins.left() + margins.right() + CURSOR_WIDTH)

    def refresh(self, analysis: Analysis | None = None) -> None:
        """The graph changed (``analysis`` is its fresh analysis, reused rather than redone):
        regenerate now if shown, else when next shown."""
        self.stale, self.waiting = True, False
        if self.isVisible():
            self.regenerate(analysis)

    def wait_for_compiler(self) -> None:
        """Show that the code comes once PyTorch has loaded; ``refresh`` ends the wait."""
        self.waiting = True
        self._show("# model.py appears here once PyTorch has loaded.", "Loading PyTorch…")

    def regenerate(self, analysis: Analysis | None = None) -> str:
        from ...compiler.source import generate_source  # torch: loaded after the window shows

        self.waiting = False
        try:
            self.source = generate_source(self.graph, analysis=analysis)
        except ValueError as exc:  # BuildError and SourceError: the network has problems
            self.source = ""
            self._show("# model.py cannot be generated yet:\n#\n"
                       + "\n".join(f"# {line}" for line in str(exc).splitlines()),
                       "Fix the problems listed to see the generated code.")
        else:
            lines = self.source.count("\n")
            self._show(self.source, f"model.py — {lines} lines, needs only PyTorch")
        self.stale = False
        return self.source

    def _show(self, text: str, status: str) -> None:
        bar = self.editor.verticalScrollBar()
        position = bar.value()
        self.editor.setPlainText(text)
        bar.setValue(position)
        self.status.setText(status)
        self.export_button.setEnabled(bool(self.source))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale and not self.waiting:
            self.regenerate()
