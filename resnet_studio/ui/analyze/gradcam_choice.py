"""The Explain dialog's choice of the Grad-CAM layer, and its memory per project.

The choice lists the stages the analysis accepts for the chosen run's network
(``analysis.explain.gradcam_layers``, read from the run's graph.json, measured on torch's meta
device so nothing is computed), headed by "Automatic (<its default>)". The last choice is
remembered per project file in the window's ``QSettings``, as the run in focus is
(``shell.session.FocusMemory``), and per untitled project for as long as it is open. A
remembered stage the run's network lacks (the node was deleted, another run was picked) falls
back to Automatic with a note under the choice, never an error.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox

from ...train import rundir

if TYPE_CHECKING:
    from ...analysis.explain import GradcamLayers

LAYER_KEY = "projects/gradcam_layer"
MAX_REMEMBERED = 50  # projects whose Grad-CAM layer is remembered, most recent first


def run_gradcam_layers(run: Path) -> GradcamLayers | None:
    """The Grad-CAM stages of the network in run directory ``run`` (None when its graph.json
    is missing or unusable, or the network is one that Explain refuses: Explain then says
    why when it runs)."""
    from ...analysis.common import AnalysisError
    from ...analysis.explain import gradcam_layers
    from ...blocks import CATALOGUE
    from ...compiler import BuildError
    from ...graph import GraphError, project

    data = rundir.read_graph(run)
    if data is None:
        return None
    try:
        return gradcam_layers(project.from_dict(data, CATALOGUE, str(run)))
    except (AnalysisError, BuildError, GraphError, ValueError):
        return None


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


class GradcamLayerBox(QComboBox):
    """"Automatic (<default>)" (data None), then one item per stage with its output shape."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.set_layers(None, None)

    def set_layers(self, layers: GradcamLayers | None, wanted: str | None) -> str:
        """List ``layers`` and choose ``wanted`` (None: Automatic). Returns a note when
        ``wanted`` is not among them and Automatic is chosen instead ("" otherwise)."""
        self.clear()
        if layers is None:
            self.addItem("Automatic", None)
            return ""
        self.addItem(f"Automatic ({layers.default})", None)
        for name, shape in layers.shapes.items():
            self.addItem(f"{name}  —  {shape_text(shape)}", name)
        index = self.findData(wanted) if wanted is not None else 0
        self.setCurrentIndex(max(index, 0))
        if index < 0:
            return (f"The Grad-CAM layer chosen before, ‘{wanted}’, is not in this run's "
                    "network; Automatic is used.")
        return ""

    def layer(self) -> str | None:
        return self.currentData()


class LayerMemory:
    """The Grad-CAM layer last chosen per project: saved projects in ``settings`` as one JSON
    list of [project, layer] pairs (paths are no QSettings keys), untitled ones per session."""

    def __init__(self, settings: QSettings):
        self.settings = settings
        self.unsaved: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()

    def _pairs(self) -> list[list[str]]:
        try:
            pairs = json.loads(str(self.settings.value(LAYER_KEY, "[]")))
        except ValueError:  # a damaged entry is forgotten, not an error
            return []
        if not isinstance(pairs, list):
            return []
        return [p for p in pairs if isinstance(p, list) and len(p) == 2
                and all(isinstance(s, str) for s in p)]

    def recall(self, session: Any) -> str | None:
        """The layer remembered for ``session``'s project (None: Automatic)."""
        if session.path is not None:
            key = str(session.path)
            found = [layer for name, layer in self._pairs() if name == key]
            if found:
                return found[0]
        return self.unsaved.get(session)

    def remember(self, session: Any, layer: str | None) -> None:
        """Keep ``layer`` (None: Automatic) as ``session``'s project's choice."""
        self.unsaved[session] = layer
        if session.path is None:
            return
        key = str(session.path)
        pairs = [[key, layer]] if layer is not None else []
        pairs += [p for p in self._pairs() if p[0] != key]
        self.settings.setValue(LAYER_KEY, json.dumps(pairs[:MAX_REMEMBERED]))
