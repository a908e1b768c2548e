"""Workspaces: the window shows one full-window layout at a time, chosen on the mode bar.

Each workspace is a page (a ``QMainWindow`` used as a widget) that owns its docks and, for the
Design workspace, the canvas in its middle; its layout is saved under its own settings key.
The mode bar under the toolbar switches pages (Ctrl+1 … Ctrl+5, also in the View menu); the
last workspace used comes back at the next start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from .features import ActionSpec, Contributions, Feature


@dataclass(frozen=True)
class WorkspaceSpec:
    key: str
    title: str
    tip: str


WORKSPACES = (
    WorkspaceSpec("design", "Design", "Draw the network: blocks, canvas, inspector, model.py"),
    WorkspaceSpec("data", "Data", "Choose the dataset and see what the network will be fed"),
    WorkspaceSpec("train", "Train", "The recipe, live curves, gradients and the runs"),
    WorkspaceSpec("experiments", "Experiments", "Studies: variants, depth, degradation"),
    WorkspaceSpec("analyze", "Analyze", "Signal, lesion, loss landscape and explanations"),
)
KEYS = tuple(spec.key for spec in WORKSPACES)
LAST_KEY = "window/workspace"
VIEW_WORKSPACES_SECTION = 80  # the View menu: zoom 0, layout 10, workspaces, docks 90


def state_key(key: str) -> str:
    """Where workspace ``key`` keeps its dock layout."""
    return f"workspace/{key}/state"


class Workspace(QMainWindow):
    """One page: its docks around an optional central widget. ``first_shown`` runs once, the
    first time the page is shown without a saved layout (to size its docks for the window)."""

    def __init__(self, spec: WorkspaceSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setObjectName(f"{spec.key}_workspace")
        self.setDockNestingEnabled(True)
        self.first_shown: Callable[[], None] | None = None
        self._restored = False
        self._pending: QByteArray | None = None

    def restore(self, state: QByteArray | None) -> None:
        """Keep ``state`` (a saved layout) to apply when the page is first shown: a page
        restored while hidden has no size of its own yet, and Qt squeezes its docks to fit."""
        self._pending = state

    def lay_out(self) -> None:
        """Apply the saved layout, or size the docks for the window (once)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._restored = self.restoreState(pending)
        if not self._restored and self.first_shown is not None:
            self._restored = True
            self.first_shown()

    def layout_state(self) -> QByteArray:
        """The layout to save: a page never shown since its restore keeps the saved one."""
        return self._pending if self._pending is not None else self.saveState()

    def showEvent(self, event) -> None:
        self.lay_out()
        super().showEvent(event)


class WorkspaceStack(QWidget):
    """The mode bar over the stack of workspace pages; ``switched(key)`` after a switch."""

    switched = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("workspaces")
        self.bar = QTabBar(self)
        self.bar.setObjectName("mode_bar")
        self.bar.setDocumentMode(True)
        self.bar.setExpanding(False)
        self.bar.setDrawBase(True)
        self.stack = QStackedWidget(self)
        self.pages: dict[str, Workspace] = {}
        for i, spec in enumerate(WORKSPACES):
            self.pages[spec.key] = page = Workspace(spec, self.stack)
            self.stack.addWidget(page)
            self.bar.addTab(spec.title)
            self.bar.setTabToolTip(i, f"{spec.tip} (Ctrl+{i + 1})")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)
        self.bar.currentChanged.connect(self._on_tab)

    @property
    def current(self) -> str:
        return KEYS[self.stack.currentIndex()]

    def show_workspace(self, key: str) -> None:
        self.bar.setCurrentIndex(KEYS.index(key))  # the stack follows in _on_tab

    def _on_tab(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.switched.emit(KEYS[index])

    def save(self, settings: QSettings) -> None:
        for key, page in self.pages.items():
            settings.setValue(state_key(key), page.layout_state())
        settings.setValue(LAST_KEY, self.current)

    def restore(self, settings: QSettings) -> None:
        """Each page's saved layout (a page without one sizes itself when first shown) and
        the last workspace used."""
        for key, page in self.pages.items():
            page.restore(settings.value(state_key(key)))
        last = settings.value(LAST_KEY)
        self.show_workspace(last if last in KEYS else KEYS[0])
        self.pages[self.current].lay_out()  # before the first paint, as the window is sized


class WorkspaceActions(Feature):
    """View → one entry per workspace, Ctrl+1 … Ctrl+5."""

    def __init__(self, show: Callable[[str], None]):
        self.show = show

    def contributions(self) -> Contributions:
        return Contributions([
            ActionSpec(f"workspace_{spec.key}", f"&{i + 1} {spec.title}",
                       lambda key=spec.key: self.show(key), f"Ctrl+{i + 1}",
                       f"Switch to the {spec.title} workspace: {spec.tip.lower()}", "view",
                       VIEW_WORKSPACES_SECTION, i)
            for i, spec in enumerate(WORKSPACES)])
