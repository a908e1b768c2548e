"""The Qt application object and the names that decide where settings and the autosave live.

Kept apart from ``app`` (the entry point, which opens the main window) so that a workspace may
make the application without importing the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

APP_NAME = "ResNet Studio"
ORGANISATION = "ResNet Studio"


def application(argv: Sequence[str] = ()) -> QApplication:
    """The running QApplication, created with our organisation and name if there is none
    (they decide where QSettings and the autosave live)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "resnet-studio", *argv])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.aboutToQuit.connect(release_clipboard)
    return app


def release_clipboard() -> None:
    """Drop nodes we put on the clipboard before Qt tears down: a Python-made QMimeData still
    held by the clipboard at exit crashes PySide6 (seen with the offscreen platform). Another
    application's clipboard content is left alone."""
    from ..design.clipboard import NODES_MIME  # loaded with the editor by now; kept off start-up

    board = QApplication.clipboard()
    mime = board.mimeData()
    if mime is not None and mime.hasFormat(NODES_MIME):
        board.clear()
