"""File → Open Example: the example projects shipped with the package, one entry each.

An example opens as an untitled copy (the window title reads "Untitled (NAME)"), so Save asks
for a file and the package's own file is never written; the unsaved-changes question comes
first, as for New and Open. The list comes from ``resnet_studio.examples``, which imports
neither torch nor Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...examples import EXAMPLES, example
from ...graph import project as project_file
from .features import ActionSpec, Contributions, Feature, MenuSpec

if TYPE_CHECKING:
    from .context import StudioWindow

MENU = "file/examples"
MENU_ORDER = 3  # File section 0: New, Open, Open Recent, then this


def action_key(name: str) -> str:
    """The key of the example's action in ``window.actions``."""
    return f"example_{name}"


class ExamplesFeature(Feature):
    """Declares one action per example in the File → Open Example sub-menu of ``window``."""

    def __init__(self, window: StudioWindow):
        self.w = window

    def contributions(self) -> Contributions:
        actions = [ActionSpec(action_key(e.name), e.title,
                              lambda name=e.name: self.open_example(name),
                              tip=e.description, menu=MENU, order=i)
                   for i, e in enumerate(EXAMPLES)]
        return Contributions(actions, [MenuSpec(MENU, "Open &Example", 0, MENU_ORDER)])

    def open_example(self, name: str) -> bool:
        """Open a copy of example ``name`` as an untitled project, once the current one is
        saved or may be dropped; False when nothing was opened."""
        from .main_window import FILE_ERRORS, file_error_text  # the window imports this module

        w, entry = self.w, example(name)
        if not w.maybe_save():
            return False
        try:
            graph = project_file.load(entry.path, w.document.graph.lookup)
        except FILE_ERRORS as exc:
            w.prompts.show_error("Cannot open example", file_error_text(entry.path, exc))
            return False
        w.document.load_graph(graph)  # no path: Save asks where to keep the copy
        w.autosaver.discard()
        w.show_message(f"Opened the example ‘{entry.title}’; Save keeps your copy.")
        return True
