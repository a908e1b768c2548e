"""The Help menu as a feature: block help (F1), the guides, the keyboard shortcuts, the tour
and About.

F1 explains what has the user's attention: the palette entry under the cursor when the palette
has the focus, else the block of the (first) selected canvas node, else it opens the guides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QDialog

from ..design.context_menus import NODE
from ..design.palette import TYPE_ROLE
from ..shell.features import ActionSpec, Contributions, Feature, MenuSpec
from .dialogs import AboutDialog, BlockHelpDialog, GuidesDialog
from .shortcuts import ShortcutsDialog
from .texts import block_help_html
from .tour import TourDialog

if TYPE_CHECKING:
    from ..shell.main_window import MainWindow

HELP_MENU = "help"
ABOUT_SECTION = 10


class HelpFeature(Feature):
    """Help for the window ``w``; each dialog is made on first use and then reused."""

    def __init__(self, window: MainWindow):
        self.w = window
        self.dialogs: dict[str, QDialog] = {}

    def contributions(self) -> Contributions:
        return Contributions([
            ActionSpec("help_block", "Help on &Block", self.help_for_focus, "F1",
                       "The selected block's documentation and paper", HELP_MENU, 0, 0,
                       context=(NODE,), icon="mdi6.help-circle-outline"),
            ActionSpec("help_guides", "&Guides…", self.show_guides,
                       tip="The README's guides, offline", menu=HELP_MENU, order=1,
                       icon="mdi6.book-open-variant"),
            ActionSpec("help_shortcuts", "&Keyboard Shortcuts…", self.show_shortcuts,
                       tip="Every shortcut of the window", menu=HELP_MENU, order=2,
                       icon="mdi6.keyboard-outline"),
            ActionSpec("help_tour", "&Tour of the Workspaces…", self.show_tour,
                       tip="A few pages on what each workspace is for", menu=HELP_MENU,
                       order=3),
            ActionSpec("help_about", "&About ResNet Studio…", self.show_about,
                       tip="Version and what it runs on", menu=HELP_MENU,
                       section=ABOUT_SECTION),
        ], [MenuSpec(HELP_MENU, "&Help")])

    # ----- what F1 explains -------------------------------------------------------------------
    def focused_block(self) -> str | None:
        """The block type F1 explains: the palette's current entry while the palette has the
        focus, else the first selected node's type; None when neither applies."""
        palette, focus = self.w.palette, QApplication.focusWidget()
        if focus is not None and (focus is palette or palette.isAncestorOf(focus)):
            type_id = palette.tree.currentIndex().data(TYPE_ROLE)
            if type_id:
                return type_id
        ids = self.w.editor.selected_node_ids()
        return self.w.document.graph.node(ids[0]).type_id if ids else None

    def help_for_focus(self) -> None:
        type_id = self.focused_block()
        if type_id is None:
            self.show_guides()
        else:
            self.show_block(type_id)

    def show_block(self, type_id: str) -> BlockHelpDialog:
        graph = self.w.document.graph
        spec = graph.spec(type_id)
        dialog = self._dialog("block", BlockHelpDialog)
        dialog.show_block(spec.title, block_help_html(spec, custom=type_id in graph.definitions))
        return dialog

    # ----- the other windows ------------------------------------------------------------------
    def show_guides(self) -> GuidesDialog:
        return self._dialog("guides", GuidesDialog)

    def show_shortcuts(self) -> ShortcutsDialog:
        self._forget("shortcuts")  # built afresh: the window's actions are what it lists
        return self._dialog("shortcuts", lambda parent: ShortcutsDialog(self.w))

    def show_tour(self) -> TourDialog:
        dialog = self._dialog("tour", TourDialog)
        dialog.show_page(0)
        return dialog

    def show_about(self) -> AboutDialog:
        return self._dialog("about", AboutDialog)

    def _dialog(self, key: str, make) -> QDialog:
        dialog = self.dialogs.get(key)
        if dialog is None:
            dialog = self.dialogs[key] = make(self.w)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _forget(self, key: str) -> None:
        old = self.dialogs.pop(key, None)
        if old is not None:
            old.close()
            old.deleteLater()

    def shutdown(self) -> None:
        for key in list(self.dialogs):
            self._forget(key)


