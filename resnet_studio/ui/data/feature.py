"""The Data workspace as a feature: the dataset's settings on the left (the recipe's
``data_form``, moved here from the training panel) and what they give on the right.

The samples load on a worker thread the first time the workspace is shown, and again a moment
after the data settings or the network's input change while it is shown (a dataset is loaded
only for someone looking at it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from ...graph import events
from ..shell.features import DockSpec, Feature, FeatureHost
from .view import DataView
from .wording import app_wording

if TYPE_CHECKING:
    from ..shell.context import StudioWindow

RELOAD_MS = 400  # after the last change of the settings
FORM_WIDTH = 420  # the dataset's settings column


class _Loader(QThread):
    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, ticket: int, config: Any, target: Any, parent: QObject):
        super().__init__(parent)
        self.ticket, self.config, self.target = ticket, config, target

    def run(self) -> None:
        from .samples import load_samples

        try:
            self.done.emit(self.ticket, load_samples(self.config, self.target))
        except Exception as exc:  # shown in the view, in one line
            self.failed.emit(self.ticket, str(exc).splitlines()[0] if str(exc) else
                             type(exc).__name__)


class DataFeature(QObject, Feature):
    """``settings`` is the training settings form (its ``data_form`` is shown here, its
    ``config(graph)`` gives the data to load and ``changed`` says when to load again)."""

    def __init__(self, window: StudioWindow, settings: Any):
        super().__init__(window)
        self.window, self.settings = window, settings
        self.view = DataView()
        self.ticket = 0
        self.loaded_key: Any = None
        self.loaders: list[_Loader] = []
        self.timer = QTimer(self, singleShot=True, interval=RELOAD_MS)
        self.timer.timeout.connect(self.refresh)

    def docks(self, actions: dict[str, QAction]) -> Sequence[DockSpec]:
        form = QWidget()
        column = QVBoxLayout(form)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.settings.data_form)
        column.addStretch(1)  # the rows stay together at the top
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form)
        self.form = scroll
        area = Qt.DockWidgetArea
        return [DockSpec("dataset", "Dataset", scroll, area.LeftDockWidgetArea,
                         workspace="data"),
                DockSpec("samples", "Samples, Classes and Input", self.view,
                         area.RightDockWidgetArea, workspace="data")]

    def installed(self, host: FeatureHost) -> None:
        host.docks["samples"].visibilityChanged.connect(self._on_visible)
        self.settings.changed.connect(self._soon)
        self.window.document.graph.events.subscribe(self._on_graph_event)
        self.window.document.reset.connect(self._soon)

    def default_dock_sizes(self) -> None:
        page, docks = self.window.workspace("data"), self.window.docks
        left = FORM_WIDTH
        page.resizeDocks([docks["dataset"], docks["samples"]],
                         [left, max(self.window.width() - left, left)],
                         Qt.Orientation.Horizontal)

    # ----- loading ----------------------------------------------------------------------------
    def _on_visible(self, visible: bool) -> None:
        if visible:
            self.refresh()

    def _on_graph_event(self, event: Any) -> None:
        if isinstance(event, events.InputSpecChanged):
            self._soon()

    def _soon(self, *args: Any) -> None:
        if self.window.docks["samples"].isVisible():
            self.timer.start()

    def _request(self) -> tuple[Any, Any] | str:
        graph = self.window.document.graph
        try:
            config = self.settings.config(graph).data
        except ValueError as exc:
            return str(exc).removeprefix("training setting ‘data.dataset’: ").capitalize()
        spec = graph.input_spec
        return config, (spec.channels, spec.height, spec.width)

    def refresh(self) -> bool:
        """Load the samples for the current settings unless they are shown already; False
        when the settings cannot be used (the view says why)."""
        request = self._request()
        if isinstance(request, str):
            self.view.clear()
            self.view.show_status(request, error=True)
            self.loaded_key = None
            return False
        if request == self.loaded_key:
            return True
        self.loaded_key = request
        self.ticket += 1
        self.view.clear()
        self.view.show_status(f"Loading {self.settings.dataset.currentText().rstrip('…')}…")
        loader = _Loader(self.ticket, *request, self)
        loader.done.connect(self._on_done)
        loader.failed.connect(self._on_failed)
        loader.finished.connect(lambda: self._forget(loader))
        self.loaders.append(loader)
        loader.start()
        return True

    def _forget(self, loader: _Loader) -> None:
        if loader in self.loaders:
            self.loaders.remove(loader)

    def _on_done(self, ticket: int, samples: Any) -> None:
        if ticket == self.ticket:
            self.view.show_samples(samples)

    def _on_failed(self, ticket: int, message: str) -> None:
        if ticket == self.ticket:
            self.loaded_key = None
            self.view.clear()
            self.view.show_status(f"Cannot load the data: {app_wording(message)}", error=True)

    def busy(self) -> bool:
        """A load is running or about to start (the settings changed a moment ago)."""
        return self.timer.isActive() or any(loader.isRunning() for loader in self.loaders)

    def shutdown(self) -> None:
        self.timer.stop()
        self.window.document.graph.events.unsubscribe(self._on_graph_event)
        for loader in list(self.loaders):
            loader.wait()
