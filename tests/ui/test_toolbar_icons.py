"""Toolbar and menu icons: declared per action, made once the window has painted, legible on
the theme with a distinct disabled look, and never a reason for an action to lose its text."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QMainWindow, QToolButton
from ui_helpers import small_graph

from resnet_studio.ui.shell import icons, theme
from resnet_studio.ui.shell.features import ActionSpec, Contributions, Feature, FeatureHost
from resnet_studio.ui.shell.main_window import MainWindow
from resnet_studio.ui.shell.startup import when_painted


def _toolbar_actions(window):
    return [a for a in window.toolbar.actions() if not a.isSeparator()]


def _ink(icon: QIcon, mode: QIcon.Mode) -> QColor:
    """The mean colour of the icon's opaque pixels at toolbar size."""
    image = icon.pixmap(20, 20, mode).toImage()
    pixels = [image.pixelColor(x, y) for x in range(image.width())
              for y in range(image.height())]
    opaque = [p for p in pixels if p.alpha() > 200]
    assert opaque, "the icon draws nothing"
    return QColor(*(round(sum(getattr(p, c)() for p in opaque) / len(opaque))
                    for c in ("red", "green", "blue")))


def test_every_toolbar_action_gets_an_icon_after_the_first_paint(qtbot, settings, prompts,
                                                                 recovery_dir):
    window = MainWindow(settings, prompts, recovery_dir, small_graph())
    qtbot.addWidget(window)
    actions = _toolbar_actions(window)
    assert len(actions) >= 17
    # not made while the window is built: the fonts load after it first shows
    assert all(a.icon().isNull() for a in actions)
    window.show()
    qtbot.waitUntil(lambda: not any(a.icon().isNull() for a in actions))
    assert window.toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextUnderIcon
    assert all(a.iconText() for a in actions)  # the short label stays under the icon
    # icons are made once per name, so a shared icon would show as a shared cache key
    assert len({a.icon().cacheKey() for a in actions}) == len(actions), "two share an icon"


def test_menu_entries_show_the_same_icon_as_the_toolbar(window, qtbot):
    save = window.actions["save"]
    qtbot.waitUntil(lambda: not save.icon().isNull())
    assert save in window.menu("file").actions() and save in window.toolbar.actions()
    for key in ("save_as", "quit", "cut", "copy", "paste"):  # menu-only entries too
        assert not window.actions[key].icon().isNull(), key
    assert not window.actions["train_twin"].icon().isNull()


def test_menus_get_their_icons_with_the_toolbar_hidden(qtbot, settings, prompts, recovery_dir):
    window = MainWindow(settings, prompts, recovery_dir, small_graph())
    qtbot.addWidget(window)
    window.toolbar.hide()  # as a saved layout can have it
    window.show()
    qtbot.waitUntil(lambda: not window.actions["save"].icon().isNull())


def test_icons_are_legible_on_the_theme_and_look_disabled_when_disabled(window, qtbot):
    undo = window.actions["undo"]
    qtbot.waitUntil(lambda: not undo.icon().isNull())
    background = window.toolbar.palette().color(window.toolbar.backgroundRole())
    normal = _ink(undo.icon(), QIcon.Mode.Normal)
    disabled = _ink(undo.icon(), QIcon.Mode.Disabled)
    assert background.lightness() - normal.lightness() > 120  # dark ink on the light bar
    assert normal.lightness() < theme.TEXT.lightness() + 30
    assert disabled.lightness() - normal.lightness() > 60  # visibly greyed out
    assert disabled.lightness() < background.lightness()


class _Tools(Feature):
    def contributions(self):
        return Contributions([
            ActionSpec("good", "&Good", menu="file", toolbar="Good", icon="mdi6.content-save"),
            ActionSpec("bad", "&Bad", menu="file", toolbar="Bad", icon="mdi6.no-such-icon"),
            ActionSpec("odd", "&Odd", menu="file", toolbar="Odd", icon="nofont.anything"),
        ])


def _host(qtbot) -> FeatureHost:
    window = QMainWindow()
    qtbot.addWidget(window)
    host = FeatureHost(window)
    host.install(_Tools())
    host.build()
    return host


def _button_texts(host: FeatureHost) -> list[str]:
    return [b.text() for b in host.toolbar.findChildren(QToolButton) if b.defaultAction()]


def test_an_unknown_icon_name_leaves_the_action_its_text(qtbot, monkeypatch):
    monkeypatch.setattr(icons, "_cache", {})
    host = _host(qtbot)
    host.apply_icons()
    assert not host.actions["good"].icon().isNull()
    assert host.actions["bad"].icon().isNull() and host.actions["odd"].icon().isNull()
    assert icons.icon("mdi6.no-such-icon") is None
    assert {"Good", "Bad", "Odd"} <= set(_button_texts(host))
    assert [a.text() for a in host.menus["file"].actions()] == ["&Good", "&Bad", "&Odd"]


def test_without_qtawesome_every_action_keeps_its_text(qtbot, monkeypatch):
    monkeypatch.setattr(icons, "_cache", {})
    monkeypatch.setitem(sys.modules, "qtawesome", None)  # import qtawesome raises ImportError
    with pytest.raises(ImportError):
        import qtawesome  # noqa: F401
    host = _host(qtbot)
    host.window.show()
    qtbot.waitExposed(host.window)
    host.apply_icons()  # as the first paint does, whether or not it has yet
    assert all(a.icon().isNull() for a in host.actions.values())
    assert {"Good", "Bad", "Odd"} <= set(_button_texts(host))


def test_icons_wait_for_the_first_paint(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    called = []
    when_painted(window, lambda: called.append(1))
    qtbot.wait(20)
    assert called == []
    window.show()
    qtbot.waitUntil(lambda: called == [1])
    window.update()
    qtbot.wait(50)
    assert called == [1]  # once only


def test_the_icon_library_is_not_imported_with_the_window_modules():
    code = ("import sys, resnet_studio.ui.shell.features, resnet_studio.ui.shell.icons; "
            "print('qtawesome' in sys.modules, 'qtpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]
