"""A window at once, the editor when PyTorch has loaded.

Importing the editor loads PyTorch (the block catalogue builds ``nn.Module`` classes), which
takes several seconds on a cold start. The application shows this light window first, imports
the editor's modules on a worker thread while Qt keeps painting, then builds the main window
on the GUI thread and closes this one. Nothing here imports torch.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from types import ModuleType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

EDITOR_MODULE = "resnet_studio.ui.main_window"


class StartupWindow(QMainWindow):
    """The first window: the application's name and what it is waiting for."""

    def __init__(self, title: str, size: tuple[int, int], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startup_window")
        self.setWindowTitle(title)
        self.resize(*size)
        self.label = QLabel(f"<h2>{title}</h2><p>Loading PyTorch and the editor…</p>", self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(self.label)


class ModuleLoader(QObject):
    """Imports a module on a worker thread; ``loaded(module)`` or ``failed(message)`` arrive
    on the GUI thread (queued signals), with ``seconds`` the time the import took."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, name: str = EDITOR_MODULE, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._load, name="editor-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            module: ModuleType = importlib.import_module(self.name)
        except Exception as exc:  # any failure is shown; a thread must not die silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.seconds = time.perf_counter() - started
        self.loaded.emit(module)


def when_loaded(loader: ModuleLoader, build: Callable[[ModuleType], None],
                fail: Callable[[str], None]) -> None:
    """Connect ``build`` and ``fail`` and start loading."""
    loader.loaded.connect(build)
    loader.failed.connect(fail)
    loader.start()
