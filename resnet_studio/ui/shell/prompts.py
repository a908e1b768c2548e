"""Every question the window asks the user, behind one object so tests can answer instead.

``DialogPrompts`` asks with real dialogs; a test passes any object with the same methods.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox, QWidget

from ...graph import Graph
from ...graph.project import SUFFIX
from ..widgets.dialogs import MakeBlockDialog, PresetGallery
from .window_titles import ask, fit_title

PROJECT_FILTER = f"ResNet Studio projects (*{SUFFIX});;JSON files (*.json);;All files (*)"
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


class DialogPrompts:
    """Asks with message boxes and file dialogs parented to ``parent``."""

    def __init__(self, parent: QWidget | None = None):
        self.parent = parent

    def ask_unsaved(self, name: str) -> str:
        """SAVE, DISCARD or CANCEL for a project with unsaved changes."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"“{name}” has unsaved changes. Save them first?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self.parent)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        fit_title(box)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: SAVE,
                QMessageBox.StandardButton.Discard: DISCARD}.get(
                    QMessageBox.StandardButton(answer), CANCEL)

    def ask_restore(self, description: str) -> bool:
        answer = ask(
            self.parent, QMessageBox.Icon.Question, "Recover unsaved work?",
            f"ResNet Studio did not close cleanly last time. {description}\n\n"
            "Restore the autosaved project?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def ask_open_path(self, directory: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open project", directory,
                                              PROJECT_FILTER)
        return path or None

    def ask_save_path(self, title: str, suggested: str,
                      file_filter: str = PROJECT_FILTER) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, file_filter)
        return path or None

    def ask_preset(self, presets: Any, current: str | None) -> str | None:
        dialog = PresetGallery(presets, current, self.parent)
        return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_block(self, graph: Graph, node_ids: list[str],
                  rows: list[tuple[str, str, object]]) -> tuple[str, dict] | None:
        dialog = MakeBlockDialog(rows, self.parent)
        return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def ask_open_file(self, title: str, directory: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, directory, file_filter)
        return path or None

    def ask_directory(self, title: str, directory: str) -> str | None:
        path = QFileDialog.getExistingDirectory(self.parent, title, directory)
        return path or None

    def ask_stop_training(self) -> bool:
        """Closing while a network trains: stop the run (its last.pt is kept) and close?"""
        answer = ask(
            self.parent, QMessageBox.Icon.Question, "Training in progress",
            "A network is training. Stop it and close? Everything trained so far is saved "
            "in the run's last.pt, and the run can be resumed later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def ask_item(self, title: str, label: str, items: list[str]) -> str | None:
        """One of ``items``, or None when cancelled."""
        dialog = QInputDialog(self.parent)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setComboBoxItems(items)
        dialog.setComboBoxEditable(False)
        fit_title(dialog)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.textValue() or None

    def ask_delete_run(self, name: str) -> bool:
        """Delete the run directory ``name`` with its checkpoints? (No is the default.)"""
        answer = ask(
            self.parent, QMessageBox.Icon.Question, "Delete the run?",
            f"Delete the run “{name}”: its folder, checkpoints and curves? This cannot be "
            "undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def show_error(self, title: str, message: str) -> None:
        ask(self.parent, QMessageBox.Icon.Critical, title, message,
            QMessageBox.StandardButton.Ok)
