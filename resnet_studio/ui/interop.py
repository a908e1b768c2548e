"""File → Export Trained Model and File → Import: the export package from the window.

Exports read a checkpoint (the current run's, else one the user picks) and are verified
against the trained network before they appear, exactly as ``resnet-studio export`` does.
Imports replace the project, after the usual unsaved-changes question.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from ..train.rundir import find_checkpoint
from .features import ActionSpec, Contributions, Feature, MenuSpec

if TYPE_CHECKING:
    from ..export import ExportResult
    from .main_window import MainWindow

FORMAT_TITLES = {"bundle": "Training &Bundle (folder)…", "onnx": "&ONNX…",
                 "pt2": "torch.&export Program (.pt2)…", "safetensors": "&safetensors…"}
EXPORT_MENU, IMPORT_MENU = "file/export_trained", "file/import"
MENU_SECTION = 30  # in the File menu: after the run exports, before Quit
CHECKPOINT_FILTER = "Checkpoints (*.pt);;All files (*)"


class Interop(Feature):
    """The Export Trained Model and Import sub-menus of the File menu."""

    def __init__(self, window: MainWindow):
        self.window = window

    def contributions(self) -> Contributions:
        exports = [ActionSpec(f"export_{fmt}", title, partial(self.export, fmt),
                              tip=f"Export the trained network as {fmt}", menu=EXPORT_MENU,
                              order=i)
                   for i, (fmt, title) in enumerate(FORMAT_TITLES.items())]
        imports = [ActionSpec("import_torchvision", "&torchvision ResNet…",
                              self.import_torchvision, tip="Import a torchvision ResNet",
                              menu=IMPORT_MENU, order=0),
                   ActionSpec("import_model_source", "Generated &model.py…",
                              self.import_model_source,
                              tip="Import a model.py ResNet Studio generated", menu=IMPORT_MENU,
                              order=1)]
        return Contributions(exports + imports,
                             [MenuSpec(EXPORT_MENU, "Export &Trained Model", MENU_SECTION, 0),
                              MenuSpec(IMPORT_MENU, "&Import", MENU_SECTION, 1)])

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
        run = self.window.run_focus.run
        if run is not None and find_checkpoint(run) is not None:
            return run
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
