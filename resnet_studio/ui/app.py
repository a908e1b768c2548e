"""The desktop application's entry point: ``resnet-studio`` with no sub-command."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from .startup import ModuleLoader, StartupWindow, when_loaded

APP_NAME = "ResNet Studio"
ORGANISATION = "ResNet Studio"
SIGNAL_POLL_MS = 200
STARTUP_SIZE = (1400, 900)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="resnet-studio",
                                     description="Open the ResNet Studio editor.")
    parser.add_argument("project", nargs="?", help="a project file (*.rstudio.json) to open")
    return parser.parse_args(list(argv))


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
    from .clipboard import NODES_MIME  # loaded with the editor by now; kept off start-up

    board = QApplication.clipboard()
    mime = board.mimeData()
    if mime is not None and mime.hasFormat(NODES_MIME):
        board.clear()


def close_on_interrupt(window: QWidget) -> None:
    """Ctrl-C in the terminal closes the window as its close button does (the unsaved and
    still-training questions included) instead of raising KeyboardInterrupt inside whatever
    slot runs. Python handles signals only between bytecodes, so a timer wakes it up."""
    signal.signal(signal.SIGINT, lambda signum, frame: QTimer.singleShot(0, window.close))
    ticker = QTimer(window, interval=SIGNAL_POLL_MS)
    ticker.timeout.connect(_let_python_run)
    ticker.start()


def _let_python_run() -> None:
    """Nothing: returning to Python is the point (a pending signal handler runs now)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Show a window at once, open the editor on the default project (or the project named
    in ``argv``) once PyTorch has loaded in the background, and run until it closes; returns
    the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    startup = StartupWindow(APP_NAME, STARTUP_SIZE)
    startup.show()
    close_on_interrupt(startup)
    loader = ModuleLoader(parent=app)
    failure: list[str] = []

    def build(module) -> None:
        window = module.MainWindow(QSettings(ORGANISATION, APP_NAME))
        window.show()
        close_on_interrupt(window)
        startup.close()
        if args.project and not window.open_project(Path(args.project)):
            window.show_message(f"Could not open {args.project}")

    def fail(message: str) -> None:
        failure.append(message)
        QMessageBox.critical(startup, "ResNet Studio cannot start", message)
        startup.close()

    when_loaded(loader, build, fail)
    status = app.exec()
    loader.wait()
    return 1 if failure else status
