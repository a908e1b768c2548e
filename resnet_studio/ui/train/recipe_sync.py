"""The settings panel as a view of the project's training settings (``graph.training``).

The project holds the truth: every change in the panel becomes one undoable
``SetTrainingCommand`` on the document's undo stack (which calls ``Graph.set_training``);
the panel follows ``TrainingChanged`` events, so undo, redo and opening a project show the
settings they restore. Reading goes through ``train.recipe.project_training``, the same merge
``resnet-studio train PROJECT`` uses, so the app and the CLI train with the same settings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from ...compiler.task import HEAD_TASKS
from ...graph import events
from ...presets.recipes import Recipe, graph_recipe
from ...train.config import ConfigError
from ...train.recipe import (
    ProjectTraining,
    project_training,
    recipe_config,
    task_recipe,
    training_section,
)
from ..design.commands import GraphCommand
from .settings import TrainingSettings

TRAINING_COMMAND_ID = 7101  # QUndoCommand.id(): consecutive edits of one setting merge


class SetTrainingCommand(GraphCommand):
    """Replace the project's ``training`` object; ``what`` names the setting for the undo
    text and for merging consecutive edits of it (a spin box steps many times)."""

    def __init__(self, graph: Any, before: Any, after: Any, what: str):
        super().__init__(graph, f"Change {what}")
        self.before, self.after, self.what = before, after, what

    def redo(self) -> None:
        self.graph.set_training(self.after)

    def undo(self) -> None:
        self.graph.set_training(self.before)

    def id(self) -> int:
        return TRAINING_COMMAND_ID

    def mergeWith(self, other: Any) -> bool:
        if not isinstance(other, SetTrainingCommand) or other.what != self.what \
                or self.what == "Reset to Recipe" or self.what.startswith("Recipe: "):
            return False
        self.after = other.after
        return True


class TrainingSync(QObject):
    """Keeps ``settings`` and ``document.graph.training`` the same.

    ``problem(message)`` when the project's saved settings cannot be used (the message names
    the field); the panel then shows the recipe's settings, and the first edit replaces them.
    """

    problem = Signal(str)
    valid = Signal()  # the panel's settings can be used (again)

    def __init__(self, document: Any, settings: TrainingSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.settings = document, settings
        self.recipe: Recipe | None = None
        self._showing = False
        self._shown: dict | None = None  # the panel's settings as last shown or pushed
        self._heads = _head_ids(document.graph)  # the task follows from these nodes alone
        settings.changed.connect(self._on_settings_changed)
        settings.reset_recipe.clicked.connect(self.reset_to_recipe)
        settings.task_recipe.clicked.connect(self.use_task_recipe)
        document.graph.events.subscribe(self._on_graph_event)

    def close(self) -> None:
        self.document.graph.events.unsubscribe(self._on_graph_event)

    # ----- project → panel --------------------------------------------------------------------
    def training(self) -> ProjectTraining:
        """The project's settings; its recipe's when they are missing or cannot be used."""
        graph = self.document.graph
        try:
            return project_training(graph)
        except ConfigError as exc:
            self.problem.emit(f"The project's training settings cannot be used ({exc}); "
                              "showing the recipe's settings instead. Any change saves valid "
                              "settings.")
            recipe = graph_recipe(graph)
            return ProjectTraining(recipe_config(recipe), recipe)

    def show(self) -> None:
        """Show the project's settings in the panel (on open, undo, redo)."""
        training = self.training()
        self.recipe = training.recipe
        self._showing = True
        try:
            self.settings.set_config(training.config)
            recipe = training.recipe
            changed = recipe is not None and training.config != recipe_config(recipe)
            self.settings.set_recipe(recipe, changed)
        finally:
            self._showing = False
        self._shown = self._panel_section()
        self.settings.show_fit(self.document.graph)
        self._offer_task_recipe()

    def _offer_task_recipe(self) -> None:
        """A network whose heads make it a detector or a segmenter, trained by another
        recipe (a classifier's it was built from), is offered its task's recipe."""
        self._heads = _head_ids(self.document.graph)
        offer = task_recipe(self.document.graph)
        if offer is not None and self.recipe is not None and offer.name == self.recipe.name:
            offer = None
        self.settings.offer_recipe(offer)

    def _panel_section(self) -> dict | None:
        try:
            return training_section(self.settings.config(self.document.graph), self.recipe)
        except ConfigError:
            return None

    def adopt(self) -> None:
        """After a project is loaded: an older file without settings takes its recipe's, written
        into the document (not an edit: the file is unchanged until saved), so that they stay
        with it when Save As renames the network away from its preset."""
        graph = self.document.graph
        if graph.training is None:
            recipe = graph_recipe(graph)
            graph.training = training_section(recipe_config(recipe), recipe)
        self.show()

    def _on_graph_event(self, event: object) -> None:
        if isinstance(event, events.TrainingChanged):
            self.show()
        elif isinstance(event, events.InputSpecChanged):
            self.settings.show_fit(self.document.graph)
        elif self._heads_changed(event):  # the task may have changed
            self._offer_task_recipe()

    def _heads_changed(self, event: object) -> bool:
        """Whether ``event`` added or removed a head block (the only edits that change the
        task: a block changes type by being replaced, and opening a project removes and adds
        its nodes); a renamed head is followed under its new id."""
        if isinstance(event, events.NodeAdded):
            node = self.document.graph.nodes.get(event.node_id)
            return node is not None and node.type_id in HEAD_TASKS
        if isinstance(event, events.NodeRemoved):
            return event.node_id in self._heads
        if isinstance(event, events.NodeRenamed) and event.old_id in self._heads:
            self._heads = (self._heads - {event.old_id}) | {event.new_id}
        return False

    # ----- panel → project --------------------------------------------------------------------
    def _on_settings_changed(self) -> None:
        if self._showing:
            return
        graph = self.document.graph
        try:
            config = self.settings.config(graph)
        except ConfigError as exc:
            self.problem.emit(str(exc))
            return
        self.valid.emit()
        after = training_section(config, self.recipe)
        before = graph.training
        if after != before:
            what = _changed_setting(self._shown or before, after)
            self.document.push(SetTrainingCommand(graph, before, after, what))
        self._shown = after
        self.settings.show_fit(graph)

    def commit(self) -> None:
        """Put the panel's values into the project now (before a run starts); raises
        ConfigError naming the field when they are not valid."""
        graph = self.document.graph
        after = training_section(self.settings.config(graph), self.recipe)
        # only what the user changed: settings shown in place of unusable ones stay unsaved
        if after != self._shown and after != graph.training:
            self.document.push(SetTrainingCommand(graph, graph.training, after,
                                                  "Training Settings"))
        self._shown = after

    def reset_to_recipe(self) -> None:
        """Every setting back to the recipe's values, as one undoable edit."""
        graph = self.document.graph
        recipe = self.recipe or graph_recipe(graph)
        after = training_section(recipe_config(recipe), recipe)
        if after != graph.training:
            self.document.push(SetTrainingCommand(graph, graph.training, after,
                                                  "Reset to Recipe"))

    def use_task_recipe(self) -> None:
        """Every setting to the recipe of the heads' task, as one undoable edit."""
        graph = self.document.graph
        recipe = task_recipe(graph)
        if recipe is None:
            return
        after = training_section(recipe_config(recipe), recipe)
        self.document.push(SetTrainingCommand(graph, graph.training, after,
                                              f"Recipe: {recipe.title}"))

    def apply_lr(self, lr: float) -> None:
        """Set the learning rate (the LR finder's suggestion) as an undoable edit."""
        self.settings.lr.setValue(lr)


def _head_ids(graph: Any) -> set[str]:
    return {node_id for node_id, node in graph.nodes.items() if node.type_id in HEAD_TASKS}


def _changed_setting(before: Any, after: dict) -> str:
    """"Learning Rate", "Training Settings": what one panel edit changed, for undo's text."""
    old = (before or {}).get("config", {}) if isinstance(before, dict) else {}
    new = after["config"]
    keys = [k for k in new if k != "data" and old.get(k) != new[k]]
    data_old, data_new = old.get("data", {}) or {}, new.get("data", {})
    keys += [f"data {k}" for k in data_new if data_old.get(k) != data_new[k]]
    if len(keys) != 1:
        return "Training Settings"
    return _TITLES.get(keys[0], keys[0].replace("_", " "))


_TITLES = {"lr": "Learning Rate", "epochs": "Epochs", "batch_size": "Batch Size",
           "init": "Weight Init", "optimizer": "Optimizer", "seed": "Seed"}
