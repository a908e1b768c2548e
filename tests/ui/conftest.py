"""Shared fixtures for the editor tests: a window on a small hand-made network, with scripted
answers to its questions, a temporary settings file and a temporary recovery directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from training_helpers import TrainingPrompts, tiny_net
from ui_helpers import ScriptedPrompts, small_graph

from resnet_studio.graph import Graph
from resnet_studio.ui.shell.main_window import MainWindow


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def recovery_dir(tmp_path: Path) -> Path:
    return tmp_path / "recovery"


@pytest.fixture
def make_window(qtbot, settings, prompts, recovery_dir) -> Callable[..., MainWindow]:
    """Opens a main window (on ``small_graph()`` unless told otherwise), shown at 1400×900."""

    def make(initial: Graph | None = None, answers: ScriptedPrompts | None = None) -> MainWindow:
        window = MainWindow(settings, answers or prompts, recovery_dir,
                            initial if initial is not None else small_graph())
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


@pytest.fixture
def trainer(make_window, tmp_path):
    """A window on the tiny training network with scripted answers; runs go to tmp_path/runs."""
    prompts = TrainingPrompts()
    window = make_window(tiny_net(), prompts)
    window.training.runner.unsaved_runs_dir = tmp_path / "runs"
    return window, window.training, prompts
