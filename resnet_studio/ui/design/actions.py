"""The editor as a feature: the File, Edit and View actions, its toolbar entries and its docks
(palette, inspector, problems and summary, model.py), declared as one table.

Standard operations use ``QKeySequence.StandardKey`` so each platform gets its own shortcuts.
Menu sections (see ``features``): File 0 new/open, 10 save/export model.py, 20 run exports,
30 trained-model export and import, 99 quit; Edit 0 undo, 10 clipboard, 20 selection;
View 0 zoom, 10 layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from ..shell.features import ActionSpec, Contributions, DockSpec, Feature, FeatureHost, MenuSpec
from .context_menus import CANVAS, EDGE, NODE

if TYPE_CHECKING:
    from ..shell.context import StudioWindow

Std = QKeySequence.StandardKey
FILE_QUIT_SECTION = 99
PALETTE_WIDTH = 240
# of the window's width, within these: at 1280 px the canvas shows a three-column network
# whole at the least legible zoom (Fit)
INSPECTOR_SHARE, INSPECTOR_WIDTHS = 0.22, (280, 440)
BOTTOM_SHARE = 0.3  # of the page's height: problems and summary, model.py under the canvas


class EditorFeature(Feature):
    """File handling, editing and viewing of the window ``w``'s document."""

    def __init__(self, window: StudioWindow):
        self.w = window

    def contributions(self) -> Contributions:
        return Contributions(self._file() + self._edit() + self._view(),
                             [MenuSpec("file/recent", "Open &Recent", 0, 2,
                                       lambda menu: self.w.fill_recent_menu())])

    def _file(self) -> list[ActionSpec]:
        w = self.w
        return [
            ActionSpec("new", "&New…", w.new_project, Std.New,
                       "Start a new project from a preset", "file", 0, 0, "New", 0,
                       icon="mdi6.file-plus-outline"),
            ActionSpec("open", "&Open…", w.open_project, Std.Open, "Open a project file",
                       "file", 0, 1, "Open", 0, icon="mdi6.folder-open-outline"),
            ActionSpec("save", "&Save", w.save, Std.Save, "Save the project", "file", 10, 0,
                       "Save", 0, icon="mdi6.content-save-outline"),
            ActionSpec("save_as", "Save &As…", w.save_as, Std.SaveAs,
                       "Save the project under a new name", "file", 10, 1,
                       icon="mdi6.content-save-edit-outline"),
            ActionSpec("export_source", "&Export model.py…", w.export_source, "Ctrl+Shift+E",
                       "Write the network as a standalone PyTorch model.py", "file", 10, 2,
                       icon="mdi6.language-python"),
            ActionSpec("quit", "&Quit", w.close, Std.Quit, "Close ResNet Studio", "file",
                       FILE_QUIT_SECTION, icon="mdi6.exit-to-app"),
        ]

    def _edit(self) -> list[ActionSpec]:
        e, stack = self.w.editor, self.w.document.undo_stack
        return [
            ActionSpec("inspect", "&Inspect", self.inspect,
                       tip="Show the node's parameters, shapes and costs in the inspector",
                       context=(NODE,)),
            ActionSpec("undo", "&Undo", shortcut=Std.Undo, menu="edit", order=0,
                       toolbar="Undo", toolbar_section=1,
                       make=lambda parent: stack.createUndoAction(parent, "&Undo"),
                       icon="mdi6.undo"),
            ActionSpec("redo", "&Redo", shortcut=Std.Redo, menu="edit", order=1,
                       toolbar="Redo", toolbar_section=1,
                       make=lambda parent: stack.createRedoAction(parent, "&Redo"),
                       extra_shortcuts=("Ctrl+Shift+Z",),  # Ctrl+Y alone on some platforms
                       icon="mdi6.redo"),
            ActionSpec("cut", "Cu&t", e.cut, Std.Cut, "Cut the selected nodes", "edit", 10, 0,
                       context=(NODE,), icon="mdi6.content-cut"),
            ActionSpec("copy", "&Copy", e.copy, Std.Copy, "Copy the selected nodes", "edit",
                       10, 1, context=(NODE,), icon="mdi6.content-copy"),
            ActionSpec("paste", "&Paste", e.paste, Std.Paste, "Paste nodes", "edit", 10, 2,
                       context=(CANVAS,), icon="mdi6.content-paste"),
            ActionSpec("duplicate", "D&uplicate", e.duplicate, "Ctrl+D",
                       "Copy the selected nodes beside them", "edit", 10, 3, context=(NODE,)),
            ActionSpec("delete", "&Delete", e.delete_selection, Std.Delete,
                       "Delete the selected nodes and connections", "edit", 10, 4, "Delete", 2,
                       context=(NODE, EDGE), extra_shortcuts=("Backspace",),
                       icon="mdi6.delete-outline"),
            ActionSpec("select_all", "Select &All", e.select_all, Std.SelectAll,
                       "Select every node", "edit", 20, 0, context=(CANVAS,)),
            ActionSpec("expand", "E&xpand Block", e.expand_selected, "Ctrl+E",
                       "Replace the selected block by the layers it is made of", "edit", 20, 1,
                       "Expand", 4, context=(NODE,), icon="mdi6.arrow-expand-vertical"),
            ActionSpec("collapse", "&Make Block from Selection…", e.collapse_selection, "Ctrl+G",
                       "Turn the selected nodes into a new reusable block", "edit", 20, 2,
                       "Make Block", 4, context=(NODE,), icon="mdi6.package-variant-closed"),
            ActionSpec("rename", "&Rename…", self.rename, "F2", "Rename the selected node",
                       "edit", 20, 3, context=(NODE,)),
        ]

    def _view(self) -> list[ActionSpec]:
        e = self.w.editor
        return [
            ActionSpec("zoom_in", "Zoom &In", e.view.zoom_in, Std.ZoomIn, "Zoom in", "view", 0,
                       0, "Zoom +", 3, icon="mdi6.magnify-plus-outline"),
            ActionSpec("zoom_out", "Zoom &Out", e.view.zoom_out, Std.ZoomOut, "Zoom out", "view",
                       0, 1, "Zoom −", 3, icon="mdi6.magnify-minus-outline"),
            ActionSpec("zoom_fit", "Zoom to &Fit", e.view.fit, "Ctrl+0", "Show the whole network",
                       "view", 0, 2, "Fit", 3, context=(CANVAS,),
                       icon="mdi6.fit-to-screen-outline"),
            ActionSpec("auto_layout", "Auto-&layout", e.auto_layout, "Ctrl+L",
                       "Arrange the network top to bottom", "view", 10, 0, "Auto-layout", 3,
                       context=(CANVAS,), icon="mdi6.sitemap-outline"),
            ActionSpec("edge_shapes", "Show Edge &Shapes", e.set_show_edge_shapes, None,
                       "Label every connection with the shape of the tensor it carries", "view",
                       10, 1, "Edge Shapes", 5, checkable=True, icon="mdi6.tag-outline"),
        ]

    def docks(self, actions: dict[str, QAction]) -> list[DockSpec]:
        w, area = self.w, Qt.DockWidgetArea
        # The palette keeps the full height on the left; the summary table and model.py go
        # under the canvas and the inspector, where their wide rows fit.
        page = w.workspace("design")
        page.setCorner(Qt.Corner.BottomLeftCorner, area.LeftDockWidgetArea)
        page.setCorner(Qt.Corner.BottomRightCorner, area.BottomDockWidgetArea)
        return [DockSpec("palette", "Blocks", w.palette, area.LeftDockWidgetArea),
                DockSpec("inspector", "Inspector", w.inspector, area.RightDockWidgetArea),
                DockSpec("summary", "Problems and Summary", w.summary, area.BottomDockWidgetArea),
                DockSpec("code", "model.py", w.code_view, area.BottomDockWidgetArea, "summary")]

    def installed(self, host: FeatureHost) -> None:
        host.docks["summary"].raise_()
        self.w.editor.menus.declared = host.context_groups

    # ----- node entries that show the inspector --------------------------------------------
    def inspect(self) -> None:
        """Show and raise the inspector (it already shows the selection)."""
        self.w.reveal("inspector")

    def rename(self) -> None:
        """Edit the selected node's name in the inspector; Enter renames (one undo step)."""
        if len(self.w.editor.selected_node_ids()) != 1:
            self.w.editor.report("Select one node to rename it.")
            return
        self.inspect()
        self.w.inspector.name_edit.setFocus()
        self.w.inspector.name_edit.selectAll()

    def default_dock_sizes(self) -> None:
        """The first start's layout (a saved one wins): the palette, a narrow inspector on
        the right, and under the canvas the summary table and model.py, as wide as the
        window less the palette (every column of the table and a PEP 8 line fit there) and
        about a third of its height, so the canvas keeps the most room."""
        w, d = self.w, self.w.docks
        page = w.workspace("design")
        low, high = INSPECTOR_WIDTHS
        inspector = min(max(round(w.width() * INSPECTOR_SHARE), low), high)
        page.resizeDocks([d["palette"], d["inspector"]], [PALETTE_WIDTH, inspector],
                         Qt.Orientation.Horizontal)
        page.resizeDocks([d["summary"]], [round(w.height() * BOTTOM_SHARE)],
                         Qt.Orientation.Vertical)
