"""The study dialog remembers its last settings per project, in the app's ``QSettings``.

A saved project's study dialogs open with what was last set for that project: the budget
(epochs, dataset, training images, repeats) is shared by every kind of study, the rest
(depths, block types and target, swept settings, existing run, named budget) is kept per
kind. Keys are a digest of the project's path, so that any path makes a valid key; an
unsaved project starts from its training settings every time. What no longer fits the form
(a dataset the dialog does not offer, a block type the network lacks) is left as it is.
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


def remember(settings: QSettings, project: Path | None, dialog: Any) -> None:
    """Keep ``dialog``'s form for ``project`` (nothing for an unsaved project)."""
    if project is None:
        return
    budget, fields = read_form(dialog)
    settings.setValue(_key(project, "budget"), json.dumps(budget))
    settings.setValue(_key(project, dialog.kind), json.dumps(fields))


def recall(settings: QSettings, project: Path | None, dialog: Any) -> bool:
    """Fill ``dialog`` with what was last set for ``project``; False when nothing was."""
    if project is None:
        return False
    budget, fields = (_load(settings.value(_key(project, part)))
                      for part in ("budget", dialog.kind))
    if budget is None and fields is None:
        return False
    apply_form(dialog, budget or {}, fields or {})
    dialog.replan()
    return True


def _load(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ----- the form as plain values ---------------------------------------------------------------
def read_form(dialog: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(budget, kind fields) of the dialog's form."""
    budget = {"epochs": dialog.epochs.value(), "dataset": dialog.dataset.currentData(),
              "train_size": dialog.train_size.value(), "repeats": dialog.repeats.value()}
    fields: dict[str, Any] = {"budget_choice": dialog.budget_choice.currentData()}
    if dialog.kind == "degradation":
        fields["depths"] = dialog.depths.text()
    elif dialog.kind == "variants":
        fields["blocks"] = [item.data(Qt.ItemDataRole.UserRole) for item in _items(dialog)
                            if item.checkState() == Qt.CheckState.Checked]
        fields["target"] = dialog.target.value()
    elif dialog.kind == "sweep":
        fields["vary"] = [[setting.currentData(), edit.text()] for setting, edit in dialog.vary]
    else:
        fields["existing"] = dialog.existing.text()
    return budget, fields


def apply_form(dialog: Any, budget: dict[str, Any], fields: dict[str, Any]) -> None:
    """Set the form from ``read_form``'s values (what does not fit is skipped)."""
    _choose(dialog.budget_choice, fields.get("budget_choice"))
    for name in ("epochs", "train_size", "repeats"):
        if isinstance(budget.get(name), int):
            getattr(dialog, name).setValue(budget[name])
    _choose(dialog.dataset, budget.get("dataset"))
    if dialog.kind == "degradation" and isinstance(fields.get("depths"), str):
        dialog.depths.setText(fields["depths"])
    elif dialog.kind == "variants":
        _apply_variants(dialog, fields)
    elif dialog.kind == "sweep" and isinstance(fields.get("vary"), list):
        for (setting, edit), saved in zip(dialog.vary, fields["vary"]):
            if isinstance(saved, list) and len(saved) == 2 and isinstance(saved[1], str):
                _choose(setting, saved[0])
                edit.setText(saved[1])
    elif dialog.kind == "twin" and isinstance(fields.get("existing"), str):
        dialog.existing.setText(fields["existing"])


def _apply_variants(dialog: Any, fields: dict[str, Any]) -> None:
    chosen = fields.get("blocks")
    if isinstance(chosen, list):
        for item in _items(dialog):
            checked = item.data(Qt.ItemDataRole.UserRole) in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
    if isinstance(fields.get("target"), (int, float)):
        dialog.target.setValue(float(fields["target"]))


def _items(dialog: Any) -> list[Any]:
    return [dialog.blocks.item(i) for i in range(dialog.blocks.count())]


def _choose(combo: Any, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
