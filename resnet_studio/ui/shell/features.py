"""Features declare what they add to the main window; the window installs them.

A feature (the editor, training, runs, import/export, later studies and analyses) is an
object with ``contributions()``: the actions it offers — each with its menu id, section and
order, its toolbar label, its icon and the context menus it belongs to — and the sub-menus it
opens; then ``docks(actions)``: the docks it shows. ``FeatureHost`` makes the ``QAction`` and
``QDockWidget`` objects at once (so a feature can enable them and connect to them) and
builds the menu bar and the toolbar once every feature is in, sorted by the declared places;
nothing finds a menu by its position or reaches into another feature's widgets. This follows
napari's app-model in spirit: an action is declared with where it goes, and the window is only
the place where it is shown.

Menu ids are paths: ``"file"`` is the File menu, ``"file/import"`` a sub-menu of it; a feature
adds a menu of its own to the menu bar with a ``MenuSpec`` whose id has no "/". Entries of one
menu are sorted by (section, order); a separator stands between sections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar, QWidget

from . import icons
from .startup import when_painted

MENU_BAR = (("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("training", "&Training"))
VIEW_DOCKS_SECTION = 90  # the View menu lists every dock's show/hide toggle last
TOOLBAR_ICON_SIZE = 20  # the label goes under it: text beside 17 icons overflows 1400 px


@dataclass(frozen=True)
class ActionSpec:
    """One action and where it goes. ``shortcut`` is a key string or a ``StandardKey``;
    ``make`` builds an action Qt provides (undo and redo come from the undo stack);
    ``checkable`` actions call ``slot(checked)``. ``icon`` appears once the window has
    painted (see ``icons``); until then, or if it cannot be made, the text stands alone."""

    key: str
    text: str
    slot: Callable[..., Any] | None = None
    shortcut: Any = None
    tip: str = ""
    menu: str | None = None
    section: int = 0
    order: int = 0
    toolbar: str | None = None      # the toolbar's short label, when on the toolbar
    toolbar_section: int = 0
    context: tuple[str, ...] = ()   # ids of context menus that list it (e.g. "canvas")
    checkable: bool = False
    make: Callable[[QWidget], QAction] | None = None
    extra_shortcuts: tuple[Any, ...] = ()
    icon: str | None = None         # a qtawesome name ("mdi6.content-save"), menu and toolbar


@dataclass(frozen=True)
class MenuSpec:
    """A sub-menu ``id`` ("file/import") in its parent menu; ``about_to_show(menu)`` lets a
    feature fill it when it opens (the recent files)."""

    id: str
    title: str
    section: int = 0
    order: int = 0
    about_to_show: Callable[[QMenu], None] | None = None


@dataclass(frozen=True)
class DockSpec:
    """A dock: ``key`` names it in ``host.docks`` and, as ``<key>_dock``, in the saved
    layout. ``tabify_with`` puts it behind an installed dock; ``hidden`` docks wait to be
    shown."""

    key: str
    title: str
    widget: QWidget
    area: Qt.DockWidgetArea
    tabify_with: str | None = None
    hidden: bool = False
    workspace: str = "design"       # the workspace page it belongs to (see ``workspaces``)


@dataclass
class Contributions:
    actions: Sequence[ActionSpec] = ()
    menus: Sequence[MenuSpec] = ()


class Feature:
    """What the window asks of a feature; each hook has a harmless default."""

    def contributions(self) -> Contributions:
        return Contributions()

    def docks(self, actions: dict[str, QAction]) -> Sequence[DockSpec]:
        """The feature's docks, asked once its actions exist (a dock's buttons use them)."""
        return ()

    def installed(self, host: FeatureHost) -> None:
        """Its actions and docks exist (in ``host``): connect to them, arrange the docks."""

    def default_dock_sizes(self) -> None:
        """Sizes of this feature's docks when no saved layout applies (called when their
        workspace is first shown)."""

    def may_close(self) -> bool:
        """False keeps the window open (a question the user answered with no)."""
        return True

    def shutdown(self) -> None:
        """The window closes: stop threads and timers."""


@dataclass
class _Placed:
    menu: str
    section: int
    order: int
    index: int
    action: QAction | None = None
    submenu: str | None = None


class FeatureHost:
    """Installs features into ``window``: its ``actions`` and ``docks`` dictionaries, its menu
    bar (``menus`` by id) and its toolbar. Docks go into their workspace's page,
    ``window.workspace(key)``."""

    def __init__(self, window: QMainWindow):
        self.window = window
        self.dock_workspace: dict[str, str] = {}
        self._feature_workspaces: dict[int, set[str]] = {}
        self.features: list[Feature] = []
        self.actions: dict[str, QAction] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.menus: dict[str, QMenu] = {}
        self.toolbar: QToolBar | None = None
        self._placed: list[_Placed] = []
        self._menu_specs: dict[str, MenuSpec] = {}
        self._toolbar_entries: list[tuple[int, int, QAction]] = []
        self._icons: list[tuple[QAction, str]] = []
        self._context: dict[str, list[tuple[str, int, int, int, QAction]]] = {}

    # ----- installing -------------------------------------------------------------------------
    def install(self, feature: Feature) -> Feature:
        """Make the feature's actions and docks now; they join the menus in ``build``."""
        made = feature.contributions()
        for spec in made.actions:
            self.add_action(spec)
        for menu in made.menus:
            self._menu_specs[menu.id] = menu
            if "/" in menu.id:  # a top-level menu is placed on the menu bar by ``build``
                self._place(menu.id.rsplit("/", 1)[0], menu.section, menu.order,
                            submenu=menu.id)
        for dock in feature.docks(self.actions):
            self.add_dock(dock)
            self._feature_workspaces.setdefault(id(feature), set()).add(dock.workspace)
        self.features.append(feature)
        feature.installed(self)
        return feature

    def add_dock(self, spec: DockSpec) -> QDockWidget:
        if spec.key in self.docks:
            raise ValueError(f"two docks are called ‘{spec.key}’")
        # a window with workspaces puts the dock on its workspace's page; a plain one holds it
        workspace = getattr(self.window, "workspace", None)
        page = workspace(spec.workspace) if workspace is not None else self.window
        dock = QDockWidget(spec.title, page)
        dock.setObjectName(f"{spec.key}_dock")  # saveState/restoreState find docks by name
        dock.setWidget(spec.widget)
        page.addDockWidget(spec.area, dock)
        if spec.tabify_with is not None:
            page.tabifyDockWidget(self.docks[spec.tabify_with], dock)
        if spec.hidden:
            dock.hide()
        self.docks[spec.key] = dock
        self.dock_workspace[spec.key] = spec.workspace
        return dock

    def reveal(self, dock_key: str) -> QDockWidget:
        """Show the dock's workspace, and the dock in front of any it is tabbed with."""
        if hasattr(self.window, "show_workspace"):
            self.window.show_workspace(self.dock_workspace[dock_key])
        dock = self.docks[dock_key]
        dock.show()
        dock.raise_()
        return dock

    def add_action(self, spec: ActionSpec) -> QAction:
        if spec.key in self.actions:
            raise ValueError(f"two actions are called ‘{spec.key}’")
        action = spec.make(self.window) if spec.make is not None else self._action(spec)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.extra_shortcuts:
            keys = [action.shortcut(), *map(QKeySequence, spec.extra_shortcuts)]
            # once each: a platform whose standard key is one of the extras would otherwise
            # hold the same key twice, an ambiguous shortcut that never fires
            action.setShortcuts([k for i, k in enumerate(keys) if k not in keys[:i]])
        self.actions[spec.key] = action
        if spec.icon is not None:
            self._icons.append((action, spec.icon))
        if spec.menu is not None:
            self._place(spec.menu, spec.section, spec.order, action=action)
        if spec.toolbar is not None:
            action.setIconText(spec.toolbar)  # short and fixed ("Undo", not "Undo Move")
            self._toolbar_entries.append((spec.toolbar_section, len(self._toolbar_entries),
                                          action))
        for context in spec.context:
            entries = self._context.setdefault(context, [])
            entries.append((spec.menu or "", spec.section, spec.order, len(entries), action))
        return action

    def _action(self, spec: ActionSpec) -> QAction:
        action = QAction(spec.text, self.window, checkable=spec.checkable)
        action.setStatusTip(spec.tip)
        if spec.shortcut is not None:
            shortcut = QKeySequence(spec.shortcut).toString()
            action.setToolTip(f"{spec.text.replace('&', '').rstrip('…')} ({shortcut})")
        elif spec.tip:
            action.setToolTip(spec.tip)
        if spec.slot is not None and spec.checkable:
            action.toggled.connect(spec.slot)
        elif spec.slot is not None:
            action.triggered.connect(lambda checked=False, s=spec.slot: s())
        return action

    def _place(self, menu: str, section: int, order: int, **what: Any) -> None:
        self._placed.append(_Placed(menu, section, order, len(self._placed), **what))

    # ----- building ---------------------------------------------------------------------------
    def build(self) -> None:
        """The menu bar and the toolbar, from everything installed so far."""
        for dock in self.docks.values():
            self._place("view", VIEW_DOCKS_SECTION, 0, action=dock.toggleViewAction())
        bar = self.window.menuBar()
        titles = dict(MENU_BAR) | {k: m.title for k, m in self._menu_specs.items()
                                   if "/" not in k}
        used = {p.menu for p in self._placed}
        for top in titles:  # the standard menus first, then the features' own in their order
            if top in used:
                self.menus[top] = bar.addMenu(titles[top])
                self._fill(top)
        self._build_toolbar()

    def _fill(self, menu_id: str) -> None:
        menu = self.menus[menu_id]
        entries = sorted((p for p in self._placed if p.menu == menu_id),
                         key=lambda p: (p.section, p.order, p.index))
        for i, entry in enumerate(entries):
            if i and entry.section != entries[i - 1].section:
                menu.addSeparator()
            if entry.action is not None:
                menu.addAction(entry.action)
                continue
            spec = self._menu_specs[entry.submenu]
            sub = self.menus[spec.id] = menu.addMenu(spec.title)
            if spec.about_to_show is not None:
                sub.aboutToShow.connect(lambda s=sub, f=spec.about_to_show: f(s))
            self._fill(spec.id)

    def _build_toolbar(self) -> None:
        bar = self.toolbar = QToolBar("Main toolbar", self.window)
        bar.setObjectName("main_toolbar")
        bar.setMovable(True)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        bar.setIconSize(QSize(TOOLBAR_ICON_SIZE, TOOLBAR_ICON_SIZE))
        entries = sorted(self._toolbar_entries, key=lambda e: e[:2])
        for i, (section, _, action) in enumerate(entries):
            if i and section != entries[i - 1][0]:
                bar.addSeparator()
            bar.addAction(action)
        self.window.addToolBar(bar)
        when_painted(self.window, self.apply_icons)  # the toolbar may be hidden

    def apply_icons(self) -> None:
        """Give the actions their declared icons (those that can be made; see ``icons``)."""
        for action, name in self._icons:
            made = icons.icon(name)
            if made is not None:
                action.setIcon(made)

    # ----- asking -----------------------------------------------------------------------------
    def context_actions(self, context: str) -> list[QAction]:
        """The actions features declared for the context menu ``context``, in menu order."""
        return [action for group in self.context_groups(context) for action in group]

    def context_groups(self, context: str) -> list[list[QAction]]:
        """The context menu's actions grouped by the menu they also sit in (groups in the
        order their first action was installed; inside a group by section and order), so a
        context menu can put a separator between Edit and View entries."""
        groups: dict[str, list[tuple[int, int, int, QAction]]] = {}
        for menu, section, order, index, action in self._context.get(context, ()):
            groups.setdefault(menu, []).append((section, order, index, action))
        return [[entry[-1] for entry in sorted(group, key=lambda e: e[:3])]
                for group in groups.values()]

    def default_dock_sizes(self, workspace: str | None = None) -> None:
        """The default sizes of the docks in ``workspace`` (of every workspace if None)."""
        for feature in self.features:
            if workspace is None or workspace in self._feature_workspaces.get(id(feature), ()):
                feature.default_dock_sizes()

    def may_close(self) -> bool:
        return all(feature.may_close() for feature in self.features)

    def shutdown(self) -> None:
        for feature in self.features:
            feature.shutdown()

