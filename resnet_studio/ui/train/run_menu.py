"""The context menu of a run in the runs list: open, compare, resume, export, reveal, delete.

Its entries are the runs feature's actions declared for the ``"run"`` context menu
(``features.ActionSpec.context``); the menu is built from ``FeatureHost.context_actions``
when it opens, so another feature can add entries of its own (an analysis of the run). The
actions act on the run that was right-clicked (``RunMenu.run``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMenu

from ...train.rundir import is_run_dir
from ..run_focus import checkpoint_choices
from ..shell.features import ActionSpec

if TYPE_CHECKING:
    from .run_actions import RunActions

RUN_CONTEXT = "run"


class RunMenu:
    """The actions of the run context menu and the run they act on."""

    def __init__(self, runs: RunActions):
        self.runs = runs
        self.run: Path | None = None
        self.open_url = QDesktopServices.openUrl  # the file manager (tests replace it)
        self.menu: QMenu | None = None

    def contributions(self) -> list[ActionSpec]:
        entries = [("run_open", "&Open", self.open, "Show this run's curves"),
                   ("run_compare", "&Compare with Selected", self.compare,
                    "Overlay this run's curves with those of the selected runs"),
                   ("run_resume", "&Resume", self.resume, "Go on training from its last.pt"),
                   ("run_export", "&Export Checkpoint…", self.export,
                    "Save this run's best or latest checkpoint under a new name"),
                   ("run_reveal", "Reveal &Folder", self.reveal,
                    "Show the run directory in the file manager"),
                   ("run_delete", "&Delete Run…", self.delete,
                    "Delete the run directory and everything in it")]
        return [ActionSpec(key, text, slot, tip=tip, context=(RUN_CONTEXT,))
                for key, text, slot, tip in entries]

    # ----- the menu ---------------------------------------------------------------------------
    def popup(self, run: Path, at: Any) -> QMenu:
        """Show the menu for ``run`` at the global point ``at`` (returns it at once)."""
        self.run = run
        self._update(run)
        self.menu = QMenu(self.runs.window)
        for action in self.runs.host.context_actions(RUN_CONTEXT):
            self.menu.addAction(action)
        self.menu.popup(at)
        return self.menu

    def _update(self, run: Path) -> None:
        actions = self.runs.host.actions
        summary = self.runs.training.views.runs.summaries.get(run)
        running = self.runs.training.bridge.is_active()
        this_running = summary is not None and summary.status == "running"
        actions["run_open"].setEnabled(not running)
        actions["run_compare"].setEnabled(len(self._compared(run)) >= 2)
        actions["run_resume"].setEnabled(not running and summary is not None
                                         and summary.has_checkpoint)
        actions["run_export"].setEnabled(bool(checkpoint_choices(run)))
        actions["run_delete"].setEnabled(not this_running)

    def _compared(self, run: Path) -> list[Path]:
        selected = self.runs.training.views.runs.selected_paths()
        return selected + [run] if run not in selected else selected

    # ----- what the entries do ----------------------------------------------------------------
    def open(self) -> None:
        if self.run is not None:
            self.runs.show_run(self.run)

    def compare(self) -> None:
        if self.run is not None:
            self.runs.training.show_comparison(self._compared(self.run))

    def resume(self) -> None:
        if self.run is not None:
            self.runs.resume_run(self.run)

    def export(self) -> None:
        if self.run is not None:
            self.runs.export_ckpt(run=self.run)

    def reveal(self) -> None:
        if self.run is not None:
            self.open_url(QUrl.fromLocalFile(str(self.run)))

    def delete(self) -> bool:
        """Delete the run directory after the user confirms (never the run that trains)."""
        run, training = self.run, self.runs.training
        if run is None or not self.runs.prompts.ask_delete_run(run.name):
            return False
        if training.bridge.is_active() and run == training.current_run:
            return self.runs.fail("Cannot delete the run", "It is training; stop it first.")
        if not is_run_dir(run):  # never remove a folder that is not a run
            return self.runs.fail("Cannot delete the run", f"{run} is not a run directory.")
        try:
            shutil.rmtree(run)
        except OSError as exc:
            return self.runs.fail("Cannot delete the run", f"{run}: {exc.strerror or exc}")
        self._forget(run)
        self.runs.window.show_message(f"Deleted the run {run.name}")
        return True

    def _forget(self, run: Path) -> None:
        panel = self.runs.training.views.runs
        if run in panel.extra:
            panel.extra.remove(run)
        panel.refresh()
        if self.runs.window.run_focus.run == run:
            self.runs.window.run_focus.set_run(None)
        self.run = None
