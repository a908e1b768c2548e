"""Dialogs wide enough for the window manager to show their whole title.

A message box or an item picker sizes itself to its text and controls, never to its title, so
a short message under a long title ("Cannot export the checkpoint") came out as "Cannot e…
eckpoint" under openbox. ``fit_title`` gives a dialog the width its title needs: the title as
most title bars draw it (bold) plus the bar's icon and its three buttons. The title bar shows
more than ``windowTitle()``: Qt appends " — " and the application's display name on X11 and
Windows ("Nothing to export — ResNet Studio"), and that suffix is measured too (without it the
box came out as "Nothing to ex… ResNet Studio").
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGridLayout,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QSizePolicy,
    QSpacerItem,
    QStyle,
    QWidget,
)

TITLE_SEPARATOR = " \u2014 "  # QPlatformWindow::formatWindowTitle's, on xcb and Windows
DECORATION = 140  # a title bar's icon, minimise / maximise / close buttons and padding
MAX_TITLE_WIDTH = 900  # a title longer than this is cut rather than the dialog made huger


def shown_title(title: str) -> str:
    """``title`` as the title bar shows it: with the application's display name after it,
    as Qt adds it (unless the title already ends with it)."""
    name = QApplication.applicationDisplayName()
    if not name or title.endswith(name):
        return title or name
    return f"{title}{TITLE_SEPARATOR}{name}" if title else name


def title_width(title: str) -> int:
    """The width a window needs for its title bar to show ``title`` whole."""
    bold = QFont(QApplication.font())
    bold.setBold(True)
    text = shown_title(title)
    return min(QFontMetrics(bold).horizontalAdvance(text) + DECORATION, MAX_TITLE_WIDTH)


def fit_title(dialog: QWidget) -> None:
    """Make ``dialog`` at least as wide as its title needs (call after setting the title and,
    for an input dialog, its items).

    A QMessageBox fixes its size from its layout's minimum whenever it is shown, and a
    QInputDialog builds its layout on show with the minimum size taken from it: the first gets
    a spacer row of that width, the second a minimum width on its input field."""
    needed = title_width(dialog.windowTitle())
    if isinstance(dialog, QMessageBox) and isinstance(dialog.layout(), QGridLayout):
        layout = dialog.layout()
        margins = layout.contentsMargins()
        spacer = QSpacerItem(needed - margins.left() - margins.right(), 0,
                             QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        layout.addItem(spacer, layout.rowCount(), 0, 1, layout.columnCount())
    elif isinstance(dialog, QInputDialog):
        field = (dialog.findChildren(QComboBox) or dialog.findChildren(QLineEdit) or [None])[0]
        if field is not None:
            margin = dialog.style().pixelMetric(QStyle.PixelMetric.PM_LayoutLeftMargin)
            field.setMinimumWidth(needed - 2 * margin)
    dialog.setMinimumWidth(max(dialog.minimumWidth(), needed))


def ask(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str,
        buttons: QMessageBox.StandardButton,
        default: QMessageBox.StandardButton = QMessageBox.StandardButton.NoButton,
        ) -> QMessageBox.StandardButton:
    """``QMessageBox.question`` / ``critical`` with the title shown whole: the button pressed."""
    box = QMessageBox(icon, title, text, buttons, parent)
    if default != QMessageBox.StandardButton.NoButton:
        box.setDefaultButton(default)
    fit_title(box)
    return QMessageBox.StandardButton(box.exec())
