"""The ready-made studies: each turns a project and a training budget into a ``Study`` plan.

    study = plan_degradation(graph, TrainConfig(epochs=3), depths=(20, 32, 44))
    study = plan_variants(graph, config, ("basicblock", "scaledresidual", "preactblock"))
    study = plan_sweep(graph, config, {"lr": [0.01, 0.1], "width": [0.5, 1, 2]})
    study = plan_twin(graph, config)                 # or existing=Path("runs/resnet")

Every run starts from the same seed, so the runs differ only in what the study varies.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..graph import Graph
from ..graph.project import from_dict, to_dict
from ..train.config import ConfigError, TrainConfig
from ..train.rundir import RunReadError, load_json, read_json
from . import derive
from .plan import RunSpec, Study, StudyError, check_run_count, slug

DEFAULT_DEPTHS = (20, 32, 44, 56)
DEFAULT_VARIANTS = ("basicblock", "scaledresidual", "resnormblock", "fusionblock",
                    "preactblock", "sebasicblock")
INIT_CHOICES = {"default": False, "zero_residual": True}
SWEEPABLE = {
    "lr": "peak learning rate", "weight_decay": "weight decay",
    "batch_size": "images per step", "epochs": "epochs", "seed": "random seed",
    "width": "channel multiplier of every convolution and block",
    "depth": "network depth (weighted layers; stages get equal blocks)",
    "init": "initialisation: default or zero_residual (each block starts as the identity)",
}


def run_config(base: TrainConfig, **changes: Any) -> dict[str, Any]:
    """The training configuration of one run: ``base`` with ``changes`` applied, as a dict.

    This is the one place where a run's settings are decided, so that taking the project's
    own recipe into account later changes only this function."""
    try:
        return base.replace(**changes).validate().to_dict()
    except ConfigError as exc:
        raise StudyError(str(exc)) from None


def _fair_to_plain(base: TrainConfig) -> None:
    """Zero-initialising the last norm of every block makes a residual block start as the
    identity, but a plain block start with zero output: a comparison with plain twins under
    it would measure that handicap, not the skip connections."""
    if base.zero_init_residual:
        raise StudyError("zero_init_residual starts every plain block at zero output, so the "
                         "plain networks would be handicapped; leave it off for this study.")


def _spec(name: str, label: str, values: dict[str, Any], graph: Graph,
          config: dict[str, Any], existing: str | None = None) -> RunSpec:
    return RunSpec(slug(name), label, values, to_dict(graph), config, existing)


# ----- degradation ----------------------------------------------------------------------------
def plan_degradation(graph: Graph, base: TrainConfig,
                     depths: Sequence[int] = DEFAULT_DEPTHS, project: str = "") -> Study:
    """The project at each depth, residual and plain (He et al. 2015, Fig. 1 and Fig. 6)."""
    if len(set(depths)) != len(depths) or not depths:
        raise StudyError("give one or more different depths (e.g. 20,32,44,56).")
    check_run_count([len(depths), 2], "the degradation study")
    _fair_to_plain(base)
    config = run_config(base)
    runs = []
    for depth in sorted(depths):
        residual = derive.with_depth(graph, depth)
        runs.append(_spec(f"residual-{depth}", f"residual-{depth}",
                          {"depth": depth, "skip": True}, residual, config))
        runs.append(_spec(f"plain-{depth}", f"plain-{depth}",
                          {"depth": depth, "skip": False}, derive.twin(residual), config))
    return Study("degradation", f"Degradation: depths {', '.join(map(str, sorted(depths)))}, "
                 "with and without skip connections", project, runs,
                 {"depths": sorted(depths)})


# ----- variants -------------------------------------------------------------------------------
def default_variants(graph: Graph) -> tuple[str, ...]:
    """The blocks a variants study tries unless told: the project's own block first (the
    baseline every other is compared with), then the usual alternatives."""
    own = derive.own_block_type(graph)
    return tuple(dict.fromkeys([own, *DEFAULT_VARIANTS] if own else DEFAULT_VARIANTS))


def plan_variants(graph: Graph, base: TrainConfig, variants: Sequence[str] = DEFAULT_VARIANTS,
                  target: float = 0.9, project: str = "") -> Study:
    """The project with its residual blocks swapped for each type in ``variants``."""
    if not variants or len(set(variants)) != len(variants):
        raise StudyError("give one or more different block types.")
    check_run_count([len(variants)], "the variants study")
    if not 0 < target <= 1:
        raise StudyError(f"the target accuracy {target:g} must lie in (0, 1].")
    config = run_config(base)
    runs = []
    for type_id in variants:
        variant = derive.with_block(graph, type_id)
        _check_builds(variant, f"with {type_id} blocks")
        title = graph.spec(type_id).title
        runs.append(_spec(type_id, title, {"block": type_id}, variant, config))
    settings: dict[str, Any] = {"target": target, "variants": list(variants)}
    own = derive.own_block_type(graph)
    if own in variants:
        settings["baseline"] = own  # the comparisons are against the project as it is
    return Study("variants", f"Residual block variants ({len(runs)})", project, runs, settings)


def _check_builds(graph: Graph, what: str) -> None:
    from ..compiler import Analyzer

    errors = [d for d in Analyzer().analyze(graph).diagnostics if d.severity == "error"]
    if errors:
        raise StudyError(f"the network {what} has an error at [{errors[0].node_id or 'network'}]:"
                         f" {errors[0].message}")


# ----- sweep ----------------------------------------------------------------------------------
def plan_sweep(graph: Graph, base: TrainConfig, settings: Mapping[str, Sequence[Any]],
               project: str = "") -> Study:
    """One run per combination of one or two settings' values (see ``SWEEPABLE``)."""
    if not 1 <= len(settings) <= 2:
        raise StudyError("a sweep varies one or two settings (e.g. --vary lr=0.01,0.1).")
    check_run_count([len(v) for v in settings.values()], "the sweep")
    for name, values in settings.items():
        if name not in SWEEPABLE:
            raise StudyError(f"‘{name}’ cannot be swept; choose from {', '.join(SWEEPABLE)}.")
        if not values or len(set(map(repr, values))) != len(values):
            raise StudyError(f"give one or more different values for ‘{name}’.")
    runs = []
    for combo in itertools.product(*settings.values()):
        values = dict(zip(settings, combo))
        network, changes = _apply(graph, values)
        _check_builds(network, " ".join(f"{k}={v}" for k, v in values.items()))
        parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()]
        runs.append(_spec("_".join(parts), ", ".join(parts), values, network,
                          run_config(base, **changes)))
    return Study("sweep", f"Sweep of {' × '.join(settings)}", project, runs,
                 {"settings": list(settings)})


def _apply(graph: Graph, values: Mapping[str, Any]) -> tuple[Graph, dict[str, Any]]:
    """The network and the configuration changes one sweep point stands for."""
    network, changes = graph, {}
    for name, value in values.items():
        if name == "width":
            network = derive.with_width(network, float(value))
        elif name == "depth":
            network = derive.with_depth(network, int(value))
        elif name == "init":
            if value not in INIT_CHOICES:
                raise StudyError(f"init ‘{value}’ is not one of {', '.join(INIT_CHOICES)}.")
            changes["zero_init_residual"] = INIT_CHOICES[value]
        else:
            changes[name] = value
    return network, changes


def parse_values(name: str, text: str) -> list[Any]:
    """``0.01,0.1`` → [0.01, 0.1] with the type the setting needs."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    kind = {"batch_size": int, "epochs": int, "seed": int, "depth": int, "init": str}.get(
        name, float)
    try:
        return [kind(p) for p in parts]
    except ValueError:
        raise StudyError(f"‘{text}’ is not a comma-separated list of {kind.__name__} values "
                         f"for ‘{name}’.") from None


# ----- twin -----------------------------------------------------------------------------------
def plan_twin(graph: Graph, base: TrainConfig, existing: str | Path | None = None,
              project: str = "") -> Study:
    """The residual network against its plain twin. With ``existing`` (a run directory of the
    residual network) that run stands for the residual side and the twin is trained with its
    configuration, so that only what is missing is trained."""
    if existing is None:
        _fair_to_plain(base)
        config = run_config(base)
        residual = graph
    else:
        residual, config = _existing_run(Path(existing), graph)
    runs = [_spec("residual", f"{residual.name or 'network'} (residual"
                  + (", existing run)" if existing else ")"), {"skip": True}, residual, config,
                  str(existing) if existing else None),
            _spec("plain", f"{residual.name or 'network'} plain twin (no skips)",
                  {"skip": False}, derive.twin(residual), config)]
    return Study("twin", "Residual network against its plain twin", project, runs, {})


def _existing_run(run: Path, graph: Graph) -> tuple[Graph, dict[str, Any]]:
    """The network and configuration an existing run directory was trained with."""
    files = [run / "graph.json", run / "config.json"]
    for path in files:
        if not path.is_file():
            raise StudyError(f"{run} is not a finished run directory of a project "
                             f"({path.name} is missing).")
    try:  # through the run reader's guards: a hostile file is one line, not a traceback
        network = from_dict(load_json(files[0]), graph.lookup, str(files[0]))
        config = TrainConfig.from_dict(load_json(files[1])["config"])
    except (RunReadError, KeyError, TypeError, ConfigError) as exc:
        raise StudyError(f"{run} cannot be read as a run: {exc}") from None
    _fair_to_plain(config)
    status = _status(run)
    if status != "finished":
        raise StudyError(f"the run in {run} has not finished (status: {status}); finish it "
                         f"with `resnet-studio train --resume {run / 'last.pt'}` first.")
    return network, config.to_dict()


def _status(run: Path) -> str:
    data = read_json(run / "status.json")
    return str(data.get("status", "unknown")) if isinstance(data, dict) else "unknown"
