"""The study form remembers its last settings per project, in the app's ``QSettings``.

A saved project's study forms (the dialog's and the workspace's set-up column) open with
what was last set for that project: the budget (epochs, dataset, training images,
repeats, runs at once, where they run) is shared by every kind of study, the rest
(depths, block types and target, swept settings, existing run, named budget) is kept per
kind. Keys are a digest of the project's path, so that any path makes a valid key; an
unsaved project starts from its training settings every time. What no longer fits the form
(a dataset the form does not offer, a block type the network lacks) is left as it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt

GROUP = "study_setups"


def _key(project: Path, part: str) -> str:
    digest = hashlib.sha1(str(Path(project).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"{GROUP}/{digest}-{part}"


def remember(settings: QSettings, project: Path | None, form: Any) -> None:
    """Keep ``form`` for ``project`` (nothing for an unsaved project)."""
    if project is None:
        return
    budget, fields = read_form(form)
    settings.setValue(_key(project, "budget"), json.dumps(budget))
    settings.setValue(_key(project, form.kind), json.dumps(fields))


def remember_kind(settings: QSettings, project: Path | None, kind: str) -> None:
    """The kind of study last started for ``project`` (nothing for an unsaved project)."""
    if project is not None:
        settings.setValue(_key(project, "kind"), kind)


def recall_kind(settings: QSettings, project: Path | None) -> str | None:
    """The kind of study last started for ``project``; None when none was."""
    if project is None:
        return None
    kind = settings.value(_key(project, "kind"))
    return kind if isinstance(kind, str) else None


def recall(settings: QSettings, project: Path | None, form: Any) -> bool:
    """Fill ``form`` with what was last set for ``project``; False when nothing was."""
    if project is None:
        return False
    budget, fields = (_load(settings.value(_key(project, part)))
                      for part in ("budget", form.kind))
    if budget is None and fields is None:
        return False
    apply_form(form, budget or {}, fields or {})
    form.replan()
    return True


def recall_at_once(settings: QSettings, project: Path | None) -> int:
    """The runs at once last set for ``project`` (1 when none were)."""
    budget = _load(settings.value(_key(project, "budget"))) if project is not None else None
    value = (budget or {}).get("at_once")
    return value if isinstance(value, int) and value >= 1 else 1


def recall_cluster(settings: QSettings, project: Path | None) -> str | None:
    """The Ray cluster's address last chosen to run on for ``project``; None for this
    machine (also when nothing was set)."""
    budget = _load(settings.value(_key(project, "budget"))) if project is not None else None
    value = (budget or {}).get("cluster")
    return value if isinstance(value, str) else None


def _load(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ----- the form as plain values ---------------------------------------------------------------
def read_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(budget, kind fields) of ``form``."""
    budget = {"epochs": form.epochs.value(), "dataset": form.dataset.currentData(),
              "train_size": form.train_size.value(), "repeats": form.repeats.value(),
              "at_once": form.at_once.value(), "cluster": form.run_on.cluster(),
              "cluster_address": form.run_on.address.text()}
    fields: dict[str, Any] = {"budget_choice": form.budget_choice.currentData()}
    if form.kind == "degradation":
        fields["depths"] = form.depths.text()
    elif form.kind == "variants":
        fields["blocks"] = [item.data(Qt.ItemDataRole.UserRole) for item in _items(form)
                            if item.checkState() == Qt.CheckState.Checked]
        fields["target"] = form.target.value()
    elif form.kind == "sweep":
        fields["vary"] = [[setting.currentData(), edit.text()] for setting, edit in form.vary]
    else:
        fields["existing"] = form.existing.text()
    return budget, fields


def apply_form(form: Any, budget: dict[str, Any], fields: dict[str, Any]) -> None:
    """Set the form from ``read_form``'s values (what does not fit is skipped)."""
    _choose(form.budget_choice, fields.get("budget_choice"))
    for name in ("epochs", "train_size", "repeats", "at_once"):
        if isinstance(budget.get(name), int):
            getattr(form, name).setValue(budget[name])
    _choose(form.dataset, budget.get("dataset"))
    if isinstance(budget.get("cluster_address"), str):
        form.run_on.address.setText(budget["cluster_address"])
    if "cluster" in budget and isinstance(budget["cluster"], (str, type(None))):
        form.run_on.set_cluster(budget["cluster"])
    if form.kind == "degradation" and isinstance(fields.get("depths"), str):
        form.depths.setText(fields["depths"])
    elif form.kind == "variants":
        _apply_variants(form, fields)
    elif form.kind == "sweep" and isinstance(fields.get("vary"), list):
        for (setting, edit), saved in zip(form.vary, fields["vary"]):
            if isinstance(saved, list) and len(saved) == 2 and isinstance(saved[1], str):
                _choose(setting, saved[0])
                edit.setText(saved[1])
    elif form.kind == "twin" and isinstance(fields.get("existing"), str):
        form.existing.setText(fields["existing"])


def _apply_variants(form: Any, fields: dict[str, Any]) -> None:
    chosen = fields.get("blocks")
    if isinstance(chosen, list):
        for item in _items(form):
            checked = item.data(Qt.ItemDataRole.UserRole) in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
    if isinstance(fields.get("target"), (int, float)):
        form.target.setValue(float(fields["target"]))


def _items(form: Any) -> list[Any]:
    return [form.blocks.item(i) for i in range(form.blocks.count())]


def _choose(combo: Any, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
