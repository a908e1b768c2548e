"""File → Export Trained Model and File → Import: the export package from the window.

Exports read a checkpoint (the current run's, else one the user picks) and are verified
against the trained network before they appear, exactly as ``resnet-studio export`` does.
Imports replace the project, after the usual unsaved-changes question.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from ..export import ExportResult
    from .main_window import MainWindow

FORMAT_TITLES = {"bundle": "Training &Bundle (folder)…", "onnx": "&ONNX…",
                 "pt2": "torch.&export Program (.pt2)…", "safetensors": "&safetensors…"}
CHECKPOINT_FILTER = "Checkpoints (*.pt);;All files (*)"


class Interop:
    """Adds the Export Trained Model and Import sub-menus to ``window``'s File menu."""

    def __init__(self, window: MainWindow):
        self.window = window

    def add_menus(self, file_menu: QMenu, before: QAction) -> None:
        export_menu = QMenu("Export &Trained Model", self.window)
        for fmt, title in FORMAT_TITLES.items():
            action = export_menu.addAction(title)
            action.triggered.connect(lambda _=False, f=fmt: self.export(f))
        import_menu = QMenu("&Import", self.window)
        import_menu.addAction("&torchvision ResNet…").triggered.connect(self.import_torchvision)
        import_menu.addAction("t&imm ResNet…").triggered.connect(self.import_timm)
        import_menu.addAction("Generated &model.py…").triggered.connect(self.import_model_source)
        file_menu.insertMenu(before, export_menu)
        file_menu.insertMenu(before, import_menu)
        file_menu.insertSeparator(before)

    # ----- export -------------------------------------------------------------------------------
    def export(self, fmt: str) -> ExportResult | None:
        """Export the current run's checkpoint (or a chosen one) as ``fmt``; None if cancelled
        or refused (the reason is shown)."""
        from ..export import FORMATS, export_checkpoint

        source = self._checkpoint_source()
        if source is None:
            return None
        suggested = str(source.parent / f"{self._stem()}{FORMATS[fmt][2]}")
        target = self.window.prompts.ask_save_path(f"Export as {fmt}", suggested, "All files (*)")
        if not target:
            return None
        with self._busy(f"Exporting {fmt}: writing and checking it against the trained network…"):
            try:  # the save dialog has already asked before replacing a file
                result = export_checkpoint(source, fmt, target, overwrite=True)
            except Exception as exc:  # noqa: BLE001 - any refusal is shown, none may crash
                self._fail("Export failed", exc)
                return None
        self.window.show_message(result.summary())
        return result

    def _checkpoint_source(self) -> Path | None:
        run = getattr(self.window.training, "current_run", None)
        if run is not None and any((run / name).is_file() for name in ("best.pt", "last.pt")):
            return Path(run)
        folder = str(run or Path.home())
        path = self.window.prompts.ask_open_file("Export which checkpoint?", folder,
                                                 CHECKPOINT_FILTER)
        return Path(path) if path else None

    def _stem(self) -> str:
        doc = self.window.document
        return doc.path.name.split(".")[0] if doc.path else (doc.graph.name or "network")

    # ----- import -------------------------------------------------------------------------------
    def import_torchvision(self) -> bool:
        from ..export import import_torchvision, resnet_family

        if not self.window.maybe_save():
            return False
        name = self.window.prompts.ask_item("Import a torchvision ResNet", "Model:",
                                            resnet_family())
        if not name:
            return False
        return self._load(lambda: import_torchvision(name), f"torchvision {name}")

    def import_timm(self) -> bool:
        """A ResNet-family model of timm (an optional extra; its absence is reported)."""
        from ..export import import_timm, timm_family

        if not self.window.maybe_save():
            return False
        try:
            names = timm_family()
        except Exception as exc:  # noqa: BLE001 - a missing timm is shown, not raised
            self._fail("Import failed", exc)
            return False
        name = self.window.prompts.ask_item("Import a timm ResNet", "Model:", names)
        if not name:
            return False
        return self._load(lambda: import_timm(name), f"timm {name}")

    def import_model_source(self) -> bool:
        from ..export import import_model_source

        if not self.window.maybe_save():
            return False
        path = self.window.prompts.ask_open_file("Open a model.py made by ResNet Studio",
                                                 str(Path.home()), "Python files (*.py)")
        if not path:
            return False
        return self._load(lambda: import_model_source(path), Path(path).name)

    def _load(self, make, what: str) -> bool:
        with self._busy(f"Importing {what}…"):
            try:
                graph = make()
            except Exception as exc:  # noqa: BLE001 - any refusal is shown, none may crash
                self._fail("Import failed", exc)
                return False
            self.window.document.load_graph(graph)
        self.window.show_message(f"Imported {what} as a new, unsaved project.")
        return True

    # ----- helpers ------------------------------------------------------------------------------
    @contextmanager
    def _busy(self, message: str) -> Iterator[None]:
        self.window.show_message(message)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            yield
        finally:
            QGuiApplication.restoreOverrideCursor()

    def _fail(self, title: str, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.window.prompts.show_error(title, message)
        self.window.show_message(f"{title}: {message.splitlines()[0]}")
