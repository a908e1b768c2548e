"""The shell assembles the workspaces: each one's features, installed in the order that sets
the menus' and the toolbar's order. This is the one place that names every workspace's feature;
the main window imports only this module, and no workspace imports the window."""

from __future__ import annotations

from ..analyze.feature import AnalysisFeature
from ..data.feature import DataFeature
from ..design.actions import EditorFeature
from ..design.interop import Interop
from ..experiments.feature import StudyFeature
from ..help.feature import HelpFeature
from ..train.controller import TrainingController
from ..train.run_actions import RunActions
from ..train.sanity import SanityTools
from .context import StudioWindow
from .examples_menu import ExamplesFeature
from .features import FeatureHost
from .workspaces import WorkspaceActions


def install_workspaces(window: StudioWindow, host: FeatureHost) -> dict[str, object]:
    """Install every workspace's features into ``host``; returns them by the name the window
    keeps them under (``window.training``, ``window.studies``, …)."""
    install = host.install
    made: dict[str, object] = {"editor_feature": install(EditorFeature(window))}
    made["examples"] = install(ExamplesFeature(window))
    training = made["training"] = install(TrainingController(window))
    made["runs"] = install(RunActions(window, training))
    made["sanity"] = install(SanityTools(window, training))
    made["data"] = install(DataFeature(window, training.panel.settings))
    made["interop"] = install(Interop(window))
    made["studies"] = install(StudyFeature(window, training.project_settings))
    made["analyses"] = install(AnalysisFeature(window, training.views.runs))
    made["workspace_actions"] = install(WorkspaceActions(window.show_workspace))
    made["help"] = install(HelpFeature(window))  # last: the Help menu ends the menu bar
    return made
