"""The desktop application's entry point: ``resnet-studio`` with no sub-command."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from .qt_app import APP_NAME, ORGANISATION, application, release_clipboard  # noqa: F401 (API)
from .startup import BackgroundLoader, when_painted

SIGNAL_POLL_MS = 200

# What the editor needs next: shape inference (meta-device runs and cost counting) and
# model.py generation. The training engine, torchvision and torch._dynamo are not among them.
COMPILER_MODULES = ("resnet_studio.compiler.infer", "resnet_studio.compiler.source")


def load_compiler(modules: Sequence[str] = COMPILER_MODULES) -> Any:
    """Import the compiler and find the compute devices (run on the worker thread)."""
    for name in modules:
        importlib.import_module(name)
    from ..train.defaults import find_devices

    return find_devices()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="resnet-studio",
                                     description="Open the ResNet Studio editor.")
    parser.add_argument("project", nargs="?", help="a project file (*.rstudio.json) to open")
    return parser.parse_args(list(argv))


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
    """Open the editor on the default project (or the project named in ``argv``) at once,
    load the compiler and PyTorch in the background, and run until the window closes;
    returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    from .main_window import MainWindow  # here, so that importing this module stays light

    window = MainWindow(QSettings(ORGANISATION, APP_NAME), defer_compiler=True)
    window.show()
    from ..help.tour import show_tour_once

    when_painted(window, lambda: show_tour_once(window, window.settings))  # first start only
    close_on_interrupt(window)
    if args.project:
        open_named_project(window, Path(args.project))
    loader = BackgroundLoader(load_compiler, parent=app)
    loader.loaded.connect(window.attach_compiler)
    loader.failed.connect(lambda message: _compiler_failed(window, message))
    when_painted(window, loader.start)  # the import must not compete with the first paint
    status = app.exec()
    loader.wait()
    return status


def open_named_project(window: Any, path: Path) -> None:
    """Open the project named on the command line, unless the window shows it already: its
    autosave was just recovered, and opening the file again would ask to save or drop the
    work the user chose to recover."""
    current = window.document.path
    if current is not None and current.resolve() == path.resolve():
        return
    if not window.open_project(path):
        window.show_message(f"Could not open {path}")


def _compiler_failed(window: QWidget, message: str) -> None:
    """PyTorch or the compiler cannot be imported: the editor stays open (work can be saved),
    and the user learns what is missing."""
    from .window_titles import ask

    ask(window, QMessageBox.Icon.Critical, "PyTorch could not be loaded",
        f"{message}\n\nThe editor works, but shapes, costs, model.py and training need "
        "PyTorch. Reinstall it (see the README's Quick start) and start ResNet Studio again.",
        QMessageBox.StandardButton.Ok)
