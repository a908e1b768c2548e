"""Every dialog is wide enough for its title: the title text (bold, as title bars draw it)
plus room for the title bar's icon and buttons. Message boxes and item pickers size themselves
to their text, so a short message under a long title used to lose the middle of the title."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMessageBox
from study_helpers import budget, staged_net
from ui_helpers import small_graph

from resnet_studio import presets
from resnet_studio.compiler.structure import exposable
from resnet_studio.ui.analyze.dialogs import SignalDialog
from resnet_studio.ui.analyze.install import InstallDialog
from resnet_studio.ui.experiments.dialog import StudyDialog
from resnet_studio.ui.shell.prompts import DialogPrompts
from resnet_studio.ui.shell.window_titles import MAX_TITLE_WIDTH, ask, fit_title
from resnet_studio.ui.train.sanity_dialogs import OverfitDialog
from resnet_studio.ui.widgets.dialogs import MakeBlockDialog, PresetGallery

# openbox draws its window icon and three 18-px buttons beside the title (about 90 px with
# padding, measured in screenshots); other window managers draw larger buttons
TITLE_BAR_CONTROLS = 100


def needed_width(title: str) -> int:
    bold = QFont(QApplication.font())
    bold.setBold(True)
    return min(QFontMetrics(bold).horizontalAdvance(title) + TITLE_BAR_CONTROLS,
               MAX_TITLE_WIDTH)


def shown_modal(qtbot, call: Callable[[], object]) -> tuple[str, int]:
    """Run ``call`` (it opens a modal dialog); report the dialog's title and width as shown,
    then dismiss it."""
    seen: list[tuple[str, int]] = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(10, look)
            return
        seen.append((dialog.windowTitle(), dialog.width()))
        dialog.reject()

    QTimer.singleShot(0, look)
    call()
    assert seen, "no dialog was shown"
    return seen[0]


@pytest.fixture
def prompts(qtbot) -> DialogPrompts:
    parent = QMainWindow()
    qtbot.addWidget(parent)
    return DialogPrompts(parent)


ERRORS = ["Cannot export the checkpoint", "Cannot export the figures", "Cannot start the study",
          "Cannot resume the run", "Sanity check failed", "Cannot recover", "Nothing to export"]


@pytest.mark.parametrize("title", ERRORS)
def test_an_error_with_a_short_message_shows_its_whole_title(qtbot, prompts, title):
    shown_title, width = shown_modal(qtbot, lambda: prompts.show_error(title, "no runs"))
    assert shown_title == title
    assert width >= needed_width(title)


@pytest.mark.parametrize("title", ["Import a torchvision ResNet", "Import a timm ResNet"])
def test_an_item_picker_shows_its_whole_title(qtbot, prompts, title):
    shown_title, width = shown_modal(
        qtbot, lambda: prompts.ask_item(title, "Model:", ["resnet18", "resnet50"]))
    assert shown_title == title
    assert width >= needed_width(title)


@pytest.mark.parametrize("ask_it", [
    lambda p: p.ask_unsaved("n"), lambda p: p.ask_restore("An autosave."),
    lambda p: p.ask_stop_training(), lambda p: p.ask_delete_run("r"),
])
def test_questions_show_their_whole_titles(qtbot, prompts, ask_it):
    title, width = shown_modal(qtbot, lambda: ask_it(prompts))
    assert title and width >= needed_width(title)


def test_the_item_picker_still_answers_with_the_chosen_item(qtbot, prompts):
    def choose() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, choose)
            return
        dialog.setTextValue("resnet50")
        dialog.accept()

    QTimer.singleShot(0, choose)
    assert prompts.ask_item("Import a timm ResNet", "Model:", ["resnet18", "resnet50"]) == \
        "resnet50"
    QTimer.singleShot(0, lambda: QApplication.activeModalWidget().reject())
    assert prompts.ask_item("Import a timm ResNet", "Model:", ["resnet18"]) is None


def test_a_title_longer_than_the_screen_allows_is_cut_not_the_dialog_widened(qtbot):
    title = "Cannot " + "export " * 80
    dialog = QDialog()
    qtbot.addWidget(dialog)
    dialog.setWindowTitle(title)
    fit_title(dialog)
    assert dialog.minimumWidth() == MAX_TITLE_WIDTH
    _, width = shown_modal(qtbot, lambda: ask(None, QMessageBox.Icon.Critical, title, "x",
                                              QMessageBox.StandardButton.Ok))
    assert width <= MAX_TITLE_WIDTH


def _dialogs() -> list[Callable[[], QDialog]]:
    long_name = staged_net()
    long_name.name = "a_project_with_a_rather_long_descriptive_name_v2"
    return [
        lambda: PresetGallery(presets.PRESETS, presets.DEFAULT_PRESET),
        lambda: MakeBlockDialog(exposable(small_graph(), ["conv1"])),
        lambda: SignalDialog(),
        lambda: InstallDialog(None, "python", ["-c", "pass"]),
        lambda: StudyDialog("degradation", long_name, budget(epochs=1), "tiny"),
        lambda: OverfitDialog(SimpleNamespace(losses=[2.3, 0.1], learned=True,
                                              verdict=lambda: "it learned the batch")),
    ]


@pytest.mark.parametrize("make", _dialogs())
def test_the_application_dialogs_fit_their_titles(qtbot, make):
    dialog = make()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.width() >= needed_width(dialog.windowTitle()), dialog.windowTitle()


@pytest.mark.parametrize("title", ["Nothing to export", "No run to export"])
def test_the_title_bar_s_application_name_is_measured_too(qtbot, prompts, title):
    """Qt shows "Nothing to export — ResNet Studio" in the title bar (xcb, Windows): the box
    is wide enough for that, not only for its own title ("Nothing to ex… ResNet Studio")."""
    app = QApplication.instance()
    before = app.applicationDisplayName()
    app.setApplicationDisplayName("ResNet Studio")
    try:
        shown_title, width = shown_modal(qtbot, lambda: prompts.show_error(title, "no runs"))
    finally:
        app.setApplicationDisplayName(before)
    assert shown_title == title
    assert width >= needed_width(f"{title} \u2014 ResNet Studio")
