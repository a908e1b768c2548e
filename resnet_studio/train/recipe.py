"""Training settings in the project file (``graph.training``) and the recipes behind them.

The project file keeps the training settings as one versioned object::

    "training": {
      "version": 1,
      "recipe": {"name": "he2016_cifar", "title": "…", "citation": "…"},
      "config": { …every TrainConfig field, "data" nested… }
    }

``config`` may leave fields out (a hand-written file): they take the recipe's value, then the
engine's default. Every problem raises ``ConfigError`` whose field is the path in the file
(``training.config.lr``), so the CLI and the app name the place to fix. A project without
``training`` (older files) trains with the recipe of its preset, or the robust default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..graph import Graph
from ..presets.recipes import (
    RECIPES,
    SHAPES_DETECTION,
    SHAPES_SEGMENTATION,
    Recipe,
    graph_recipe,
    preset_recipe,
)
from .config import ConfigError, TrainConfig

TRAINING_VERSION = 1
_FIELDS = ("version", "recipe", "config")


@dataclass(frozen=True)
class ProjectTraining:
    """A project's training configuration and the recipe it started from."""

    config: TrainConfig
    recipe: Recipe | None


def recipe_config(recipe: Recipe, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default: the engine's defaults) with the recipe's settings applied."""
    return merge(base or TrainConfig(), recipe.settings, "recipe")


def merge(base: TrainConfig, settings: Any, where: str) -> TrainConfig:
    """``base`` with the (partial) ``settings`` dict applied and validated; errors name the
    field as ``where.field``."""
    if not isinstance(settings, dict):
        raise ConfigError(where, f"expected an object, found {type(settings).__name__}.")
    values = base.to_dict()
    data = settings.get("data", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{where}.data", f"expected an object, found {type(data).__name__}.")
    values.update({k: v for k, v in settings.items() if k != "data"})
    values["data"] = {**values["data"], **data}
    try:
        return TrainConfig.from_dict(values)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.field}", exc.reason) from None


def preset_training(name: str) -> dict[str, Any]:
    """The ``training`` object ``resnet-studio new PRESET`` writes into the project."""
    recipe = preset_recipe(name)
    return training_section(recipe_config(recipe), recipe)


def training_section(config: TrainConfig, recipe: Recipe | None) -> dict[str, Any]:
    """``config`` (and the recipe it came from) as the project's ``training`` object."""
    section: dict[str, Any] = {"version": TRAINING_VERSION}
    if recipe is not None:
        section["recipe"] = recipe.to_dict()
    section["config"] = config.to_dict()
    return section


def project_training(graph: Graph) -> ProjectTraining:
    """The training settings of ``graph``: its saved ones, else its recipe's."""
    section = graph.training
    if section is None:
        recipe = task_recipe(graph) or graph_recipe(graph)
        return ProjectTraining(recipe_config(recipe), recipe)
    if not isinstance(section, dict):
        raise ConfigError("training", f"expected an object, found {type(section).__name__}.")
    unknown = sorted(set(section) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"training.{unknown[0]}", f"unknown field; known fields are "
                                                     f"{', '.join(_FIELDS)}.")
    _check_version(section.get("version"))
    recipe = _recipe(section.get("recipe"))
    base = recipe_config(recipe) if recipe is not None else TrainConfig()
    return ProjectTraining(merge(base, section.get("config", {}), "training.config"), recipe)


def task_recipe(graph: Graph) -> Recipe | None:
    """The recipe of a detector's or segmenter's heads (None for a classifier, or a graph
    whose heads disagree: building it says why)."""
    from ..compiler.task import DETECTION, SEGMENTATION, TaskError, task_of

    try:
        task = task_of(graph)
    except TaskError:
        return None
    return {DETECTION: SHAPES_DETECTION, SEGMENTATION: SHAPES_SEGMENTATION}.get(task)


def _check_version(version: Any) -> None:
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError("training.version", f"expected a whole number, found {version!r}.")
    if version > TRAINING_VERSION:
        raise ConfigError("training.version", f"version {version} was written by a newer "
                                              f"ResNet Studio; this one reads up to "
                                              f"{TRAINING_VERSION}.")
    if version < 1:
        raise ConfigError("training.version", f"{version} is not a version (1 or more).")


def _recipe(entry: Any) -> Recipe | None:
    """The saved recipe reference; an unknown name keeps the file's title and citation."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ConfigError("training.recipe", "expected an object with a ‘name’ string.")
    known = RECIPES.get(entry["name"])
    if known is not None:
        return known
    return Recipe(entry["name"], str(entry.get("title", entry["name"])),
                  str(entry.get("citation", "")))


def describe(training: ProjectTraining) -> list[str]:
    """The training settings in a few lines (``summary`` prints them under the network)."""
    c, recipe = training.config, training.recipe
    optimiser = (f"SGD lr {c.lr:g}, momentum {c.momentum:g}{' (Nesterov)' if c.nesterov else ''}"
                 if c.optimizer == "sgd" else f"AdamW lr {c.lr:g}, betas {c.betas[0]:g}/"
                 f"{c.betas[1]:g}")
    schedule = c.schedule
    if c.schedule == "multistep":
        at = (", ".join(f"{f:.0%}" for f in c.milestone_fractions) if c.milestone_fractions
              else "epochs " + ", ".join(map(str, c.milestones)))
        schedule += f" ×{c.gamma:g} at {at}"
    data = c.data
    augment = "crop/flip" if data.augment else "no augmentation"
    lines = [
        "Training" + (f" (recipe ‘{recipe.title}’: {recipe.citation})" if recipe else "") + ":",
        (f"  {optimiser}, weight decay {c.weight_decay:g}, {schedule} schedule, {c.epochs} "
        f"epochs, batch {c.batch_size}, seed {c.seed}{_PRECISION.get(c.amp, '')}"),
        (f"  weight init {c.init}{' + zero-init residual' if c.zero_init_residual else ''}; "
        f"data {data.dataset}, {augment}, images fitted to the network: "
        f"{'yes' if data.fit == 'network' else 'no'}, validation {data.val_fraction:g}"),
    ]
    transfer = _transfer_text(c)
    return lines + ([f"  transfer: {transfer}"] if transfer else [])


_PRECISION = {"auto": ", bf16 + channels-last on a GPU with bf16",
              "bf16": ", bf16 autocast", "fp16": ", fp16 autocast"}


def _transfer_text(c: TrainConfig) -> str:
    parts = [f"first {c.freeze_stages} stage(s) frozen" if c.freeze_stages else "",
             "batch norms frozen" if c.frozen_bn else "",
             ("stage lr × " + ", ".join(f"{m:g}" for m in c.stage_lr_mult))
             if c.stage_lr_mult else ""]
    return "; ".join(p for p in parts if p)
