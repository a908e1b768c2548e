"""Help: F1 on a block, the shortcuts table, the guides offline, the tour and About."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from resnet_studio import __version__, guides
from resnet_studio.ui.help.shortcuts import NATIVE, plain
from resnet_studio.ui.help.tour import TOUR, TourDialog, show_tour_once


def _shortcut_actions(window) -> list[QAction]:
    return [a for a in window.findChildren(QAction)
            if any(not k.isEmpty() for k in a.shortcuts())]


def _press_f1(qtbot, widget) -> None:
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_F1)


def test_help_menu_lists_its_entries_last_on_the_menu_bar(window):
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus[-1] == "&Help"
    texts = [plain(a.text()) for a in window.menu("help").actions() if not a.isSeparator()]
    assert texts == ["Help on Block", "Guides", "Keyboard Shortcuts", "Tour of the Workspaces",
                     "About ResNet Studio"]
    assert window.actions["help_block"].shortcut() == QKeySequence("F1")


def test_f1_on_a_selected_node_shows_its_block_and_paper(window, qtbot):
    window.editor.select_node("block")
    _press_f1(qtbot, window.editor.view)
    dialog = window.help.dialogs["block"]
    text = dialog.browser.toPlainText()
    assert dialog.isVisible() and dialog.windowTitle() == "BasicBlock — Block Help"
    assert "Deep Residual Learning for Image Recognition" in text
    assert "https://arxiv.org/abs/1512.03385" in dialog.browser.toHtml()
    assert "planes" in text  # the parameters table
    window.editor.select_node("bn1")
    _press_f1(qtbot, window.editor.view)
    assert "Batch Normalization" in dialog.browser.toPlainText()


def test_f1_in_the_palette_explains_its_current_entry_not_the_canvas_selection(window, qtbot):
    window.editor.select_node("block")
    palette = window.palette
    palette.tree.setCurrentIndex(palette.index_of("preactblock"))
    _press_f1(qtbot, palette.tree)
    text = window.help.dialogs["block"].browser.toPlainText()
    assert "Identity Mappings in Deep Residual Networks" in text
    assert "Deep Residual Learning" not in text


def test_f1_with_nothing_selected_opens_the_guides(window, qtbot):
    window.editor.select_nodes([])
    _press_f1(qtbot, window.editor.view)
    assert "block" not in window.help.dialogs
    assert window.help.dialogs["guides"].isVisible()


def test_a_block_without_a_paper_says_so(window):
    dialog = window.help.show_block("conv2d")
    assert "No single paper introduced this block." in dialog.browser.toPlainText()
    assert "arxiv" not in dialog.browser.toHtml()


def test_every_action_with_a_shortcut_is_in_the_table(window):
    table = window.help.show_shortcuts().table
    rows = {(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())}
    actions = _shortcut_actions(window)
    assert len(actions) >= 20 and table.rowCount() == len(actions)
    for action in actions:
        keys = [k.toString(NATIVE) for k in action.shortcuts() if not k.isEmpty()]
        assert (plain(action.text()), ", ".join(keys)) in rows, action.text()
    assert ("Start Training", "F5") in rows and ("Help on Block", "F1") in rows


def test_no_two_actions_share_a_shortcut(window):
    keys = Counter(k.toString() for a in _shortcut_actions(window) for k in a.shortcuts()
                   if not k.isEmpty())
    shared = {key: n for key, n in keys.items() if n > 1}
    assert not shared, f"shortcuts used by several actions: {shared}"


def test_the_guides_show_the_readme_text(window):
    dialog = window.help.show_guides()
    assert dialog.list.count() == len(guides.GUIDES)
    dialog.show_guide("command_line")
    shown = dialog.browser.toPlainText()
    assert "Exit status: 0 success, 1 the network has errors" in shown
    assert "resnet-studio validate net.rstudio.json" in shown  # code blocks as they are
    dialog.list.setCurrentRow(0)
    assert dialog.browser.toPlainText().startswith("Quick start")


def test_the_tour_pages_through_the_workspaces(qtbot):
    dialog = TourDialog()
    qtbot.addWidget(dialog)
    titles = [p.title for p in TOUR]
    for name in ("Design", "Data", "Train", "Experiments", "Analyze"):
        assert name in titles
    seen = [dialog.heading.text()]
    while dialog.next.text() == "Next":
        dialog.next.click()
        seen.append(dialog.heading.text())
    assert seen == titles and dialog.counter.text() == f"{len(TOUR)} of {len(TOUR)}"
    dialog.back.click()
    assert dialog.heading.text() == titles[-2] and dialog.next.text() == "Next"
    dialog.next.click()
    dialog.next.click()  # "Done"
    assert dialog.result() == TourDialog.DialogCode.Accepted


def test_the_tour_opens_on_the_first_start_only(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = show_tour_once(None, settings)
    assert first is not None and first.isVisible() and first.index == 0
    first.close()
    assert show_tour_once(None, settings) is None
    again = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert show_tour_once(None, again) is None


def test_the_tour_waits_for_a_shown_window_and_closes_with_it(window, tmp_path):
    """Ctrl-C before the first paint's callbacks: no tour for a closed window (it would keep
    the application running); a tour left open closes with the window."""
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window.hide()
    assert show_tour_once(window, settings) is None
    window.show()
    tour = show_tour_once(window, settings)
    assert tour is not None and tour.isVisible()
    assert window.close()
    assert not tour.isVisible()


def test_about_names_the_version(window):
    text = window.help.show_about().text.text()
    assert __version__ in text and "PySide6" in text


def test_help_windows_close_with_the_window(window):
    guides_dialog = window.help.show_guides()
    window.help.shutdown()
    QApplication.processEvents()
    assert not guides_dialog.isVisible() and not window.help.dialogs


def test_the_tour_keeps_one_size_that_fits_its_longest_page(qtbot):
    """Every page's text fits the body without clipping, and the body is not much taller
    than the longest text (no empty band under it)."""
    dialog = TourDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    sizes = set()
    needed = []
    for index in range(len(TOUR)):
        dialog.show_page(index)
        qtbot.wait(1)
        sizes.add((dialog.width(), dialog.height()))
        needed.append(dialog.body.heightForWidth(dialog.body.width()))
        assert dialog.body.height() >= needed[-1], TOUR[index].title
    assert len(sizes) == 1
    assert dialog.body.height() <= max(needed) + 2 * dialog.body.fontMetrics().height()
