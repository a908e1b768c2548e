"""Renders the editor to PNG files, for documentation and for looking at the UI without a
display: ``QT_QPA_PLATFORM=offscreen python -m resnet_studio.ui.shell.screenshot OUT_DIR``.

Three pictures at 1400×900: the default project and ResNet-50 with edge shapes shown, and a
network with a problem (the classifier's width does not match the class count).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ... import presets
from ..design.commands import SetParamsCommand
from .app import application
from .main_window import MainWindow

SIZE = (1400, 900)


class _Declining:
    """Answers every question of the window with "no" (nothing to recover, discard)."""

    def ask_restore(self, description: str) -> bool:
        return False

    def ask_unsaved(self, name: str) -> str:
        return "discard"

    def show_error(self, title: str, message: str) -> None:
        print(f"{title}: {message}", file=sys.stderr)


def _settle(app: QApplication, rounds: int = 8) -> None:
    for _ in range(rounds):  # layouts settle over a few posted-event rounds
        app.processEvents()


def shoot(window: MainWindow, path: Path, prepare: Callable[[MainWindow], None]) -> Path:
    app = QApplication.instance()
    window.resize(*SIZE)
    window.show()
    _settle(app)
    prepare(window)
    window.document.analyze_now()
    _settle(app)
    window.grab().save(str(path))
    return path


def _default(window: MainWindow) -> None:
    window.actions["edge_shapes"].setChecked(True)
    window.editor.select_node("conv1", centre=False)


def _resnet50(window: MainWindow) -> None:
    window.document.load_graph(presets.create("resnet50"))
    window.actions["edge_shapes"].setChecked(True)
    window.editor.select_node("layer3", centre=False)


def _problem(window: MainWindow) -> None:
    doc = window.document
    doc.push(SetParamsCommand(doc.graph, ["fc"], {"out_features": 7}))
    window.editor.select_node("fc", centre=False)


def render(out_dir: Path) -> list[Path]:
    """Write ``editor_default.png``, ``editor_resnet50.png`` and ``editor_problem.png``."""
    app = application()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, prepare in (("default", _default), ("resnet50", _resnet50),
                              ("problem", _problem)):
            settings = QSettings(str(Path(scratch) / f"{name}.ini"), QSettings.Format.IniFormat)
            window = MainWindow(settings, _Declining(), Path(scratch) / name)
            written.append(shoot(window, out_dir / f"editor_{name}.png", prepare))
            window.close()
            window.deleteLater()
            _settle(app)
    return written


if __name__ == "__main__":
    for written_path in render(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(written_path)
