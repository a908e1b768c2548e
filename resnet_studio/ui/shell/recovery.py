"""Autosave: the unsaved project written to a recovery file every minute.

The file outlives a crash and is offered back on the next start; a clean save or a clean
close deletes it. A small side file remembers which project file (if any) it belongs to.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from ...graph import ProjectFileError
from ...graph.project import dumps, write_text_atomic
from ..design.document import Document
from .qt_app import APP_NAME

AUTOSAVE_MS = 60_000
RECOVERY_NAME = "recovery.rstudio.json"
META_NAME = "recovery.meta.json"


def default_directory() -> Path:
    """The application's data directory: "ResNet Studio" in the user's data folder, one
    level (``AppDataLocation`` nests organisation and application, both "ResNet Studio")."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(location) / APP_NAME if location else Path.home() / ".resnet-studio"


class Autosaver(QObject):
    """Writes ``document`` to ``directory`` every ``interval_ms`` while it has unsaved edits."""

    def __init__(self, document: Document, directory: Path, interval_ms: int = AUTOSAVE_MS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.directory = Path(directory)
        self.last_error = ""
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    @property
    def path(self) -> Path:
        return self.directory / RECOVERY_NAME

    @property
    def meta_path(self) -> Path:
        return self.directory / META_NAME

    def save_now(self) -> bool:
        """Write the recovery file if there is unsaved work; True if written."""
        if not self.document.is_modified():
            return False
        original = str(self.document.path.resolve()) if self.document.path else None
        meta = {"path": original, "saved": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            write_text_atomic(self.path, dumps(self.document.graph))
            write_text_atomic(self.meta_path, json.dumps(meta) + "\n")
        except (OSError, ValueError, RecursionError) as exc:
            # A timer slot must not raise: a full disk or a name UTF-8 cannot encode only
            # means no autosave this time; saving explicitly reports the cause.
            self.last_error = str(exc)
            return False
        self.last_error = ""
        return True

    def discard(self) -> None:
        """Forget the recovery file (after a clean save or close)."""
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    def stop(self) -> None:
        self.timer.stop()

    # ----- after a crash -----------------------------------------------------------------------
    def pending(self) -> bool:
        return self.path.exists()

    def describe(self) -> str:
        meta = self._meta()
        where = f"of {meta['path']}" if meta.get("path") else "of an unsaved project"
        when = f" from {meta['saved']}" if meta.get("saved") else ""
        return f"An autosave {where}{when} was found."

    def read(self) -> tuple[dict[str, Any], Path | None]:
        """The autosaved project and the file it belongs to; ProjectFileError if damaged."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            message = f"the autosave cannot be read ({exc})."
            raise ProjectFileError(str(self.path), message) from None
        original = self._meta().get("path")
        return data, Path(original) if original else None

    def _meta(self) -> dict[str, Any]:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return meta if isinstance(meta, dict) else {}
