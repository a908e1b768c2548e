"""A study plan: named run specifications derived from one project, saved as ``study.json``.

A study directory holds the plan and one ordinary run directory per run::

    studies/degradation/
        study.json            the plan: kind, project, every run's graph, config and values
        state.json            what the queue has done: per run status, error, seconds
        runs/<name>/          a normal run directory (config.json, metrics.csv, last.pt, …)
        results.csv, *.png    written by the results step

The plan is plain JSON (graphs in project-file form, configurations as
``TrainConfig.to_dict()``), so the app can open a study the CLI started and the other way
round. Standard library only: torch is not needed to read a plan.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..files import write_text_atomic

FORMAT = "resnet-studio-study"
FORMAT_VERSION = 1
MAX_PLAN_BYTES = 1024 * 2 ** 20  # study.json: up to budget.MAX_RUNS networks written out
KINDS = ("degradation", "variants", "sweep", "twin")
PLAN_FILE, STATE_FILE, RUNS_DIR = "study.json", "state.json", "runs"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class StudyError(ValueError):
    """A study that cannot be planned, read or run; the message names the file or field."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a study.

    ``name`` is the run directory's name (unique in the study); ``label`` is the legend
    entry; ``values`` the settings this run varies (``{"depth": 20, "skip": True}``), which
    become the results table's leading columns. ``graph`` is the network in project-file form
    and ``config`` its ``TrainConfig.to_dict()``. ``existing`` names a run directory outside
    the study whose results stand for this run (the twin study's already trained network):
    the queue never trains such a run.
    """

    name: str
    label: str
    values: dict[str, Any]
    graph: dict[str, Any]
    config: dict[str, Any]
    existing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RunSpec:
        if not isinstance(data, dict):
            raise StudyError(f"{where}: expected an object, found {type(data).__name__}.")
        for key, kind in (("name", str), ("label", str), ("values", dict), ("graph", dict),
                          ("config", dict)):
            if not isinstance(data.get(key), kind):
                raise StudyError(f"{where}: field ‘{key}’ is missing or not a {kind.__name__}.")
        existing = data.get("existing")
        if existing is not None and not isinstance(existing, str):
            raise StudyError(f"{where}: field ‘existing’ must be a path or null.")
        check_name(data["name"], where)
        return cls(data["name"], data["label"], dict(data["values"]), data["graph"],
                   data["config"], existing)


@dataclass
class Study:
    """A plan of runs. ``settings`` holds what the results need besides the runs (the target
    accuracy of the variants table, the swept setting names, the depths)."""

    kind: str
    title: str
    project: str
    runs: list[RunSpec]
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StudyError(f"unknown study kind ‘{self.kind}’; known kinds: {', '.join(KINDS)}.")
        names = [r.name for r in self.runs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise StudyError(f"two runs of the study share the name ‘{repeated[0]}’.")
        if not self.runs:
            raise StudyError("a study needs at least one run.")

    def run(self, name: str) -> RunSpec:
        for spec in self.runs:
            if spec.name == name:
                return spec
        raise StudyError(f"the study has no run ‘{name}’.")

    # ----- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind,
                "title": self.title, "project": self.project, "settings": self.settings,
                "runs": [r.to_dict() for r in self.runs]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "study.json") -> Study:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StudyError(f"{where} is not a ResNet Studio study file.")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise StudyError(f"{where}: format_version {version!r} is not supported (this "
                             f"version reads {FORMAT_VERSION}).")
        runs = data.get("runs")
        if not isinstance(runs, list):
            raise StudyError(f"{where}: field ‘runs’ must be a list.")
        specs = [RunSpec.from_dict(r, f"{where}: runs[{i}]") for i, r in enumerate(runs)]
        settings = data.get("settings", {})
        if not isinstance(settings, dict):
            raise StudyError(f"{where}: field ‘settings’ must be an object.")
        return cls(str(data.get("kind")), str(data.get("title", "")),
                   str(data.get("project", "")), specs, settings)

    def save(self, directory: str | Path) -> Path:
        """Write ``directory/study.json`` atomically; return its path."""
        path = Path(directory) / PLAN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Study:
        path = Path(directory) / PLAN_FILE
        if not path.is_file():
            raise StudyError(f"{directory} holds no study ({PLAN_FILE} is missing).")
        return cls.from_dict(_read_plan(path), str(path))

    def same_plan(self, other: Study) -> bool:
        """True when ``other`` would train exactly the same runs (resuming is then safe)."""
        return self.to_dict()["runs"] == other.to_dict()["runs"]


def check_run_count(value_counts: list[int], what: str = "the study") -> None:
    """StudyError, before anything is planned, when the runs (the product of the value
    counts) exceed ``budget.MAX_RUNS``."""
    from ..budget import BudgetError, check_runs

    try:
        check_runs(value_counts, what)
    except BudgetError as exc:
        raise StudyError(str(exc)) from None


def _read_plan(path: Path) -> Any:
    """study.json through the run files' guards (bounded size and nesting); a plan of
    MAX_RUNS runs of large networks is far larger than one run's config, hence its limit."""
    from ..files import read_guarded_json

    return read_guarded_json(path, "a study plan", MAX_PLAN_BYTES, StudyError,
                             "reading the study")


def run_dir(directory: str | Path, spec: RunSpec) -> Path:
    """Where ``spec``'s results live: its own run directory, or the existing one it reuses."""
    if spec.existing:
        return Path(spec.existing)
    return Path(directory) / RUNS_DIR / spec.name


def check_name(name: str, where: str = "run") -> str:
    """A run name is a safe directory name: letters, digits, ``_ . -``, at most 80."""
    if not _NAME.match(name):
        raise StudyError(f"{where}: ‘{name}’ is not a usable run name (letters, digits, "
                         "‘_’, ‘.’ and ‘-’, starting with a letter or digit).")
    return name


def slug(text: str) -> str:
    """``text`` as a run name: other characters become ``-``."""
    return check_name(re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "run")
