"""Runs that explain their failures while they happen.

A ``Diagnoser`` reads the telemetry records the engine already produces (per-step loss and
per-layer gradient norms, arrived on the host at each flush) and returns ``DiagnosisRecord``s
for what it recognises: layers that receive exactly no gradient for many steps (dead ReLUs),
a loss that stays at chance level (ln classes), a loss that is not finite or explodes, and a
learning rate far from the LR finder's suggestion. It adds no work to the training step and no
host synchronisation: it only looks at numbers that are on the host anyway. Each diagnosis is
sent once, with a concrete suggestion; the engine passes it to every sink, the CLI prints it
and the run directory keeps it in ``diagnostics.jsonl``.
"""

from __future__ import annotations

import json
import math
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from .records import DiagnosisRecord, Record, RunStartRecord, StepRecord

DEAD_STEPS = 20         # consecutive steps of exactly zero gradient that mark a layer dead
CHANCE_STEPS = 100      # steps the loss must stay at chance level before it is reported
CHANCE_BAND = 0.03      # "at chance": within 3 % of ln(classes)
EXPLODE_FACTOR = 4.0    # "exploding": the recent loss above 4 × the starting loss …
EXPLODE_STEPS = 10      # … for this many steps
LR_FACTOR = 10.0        # a learning rate this far from the finder's suggestion is flagged


class Diagnoser:
    """Turns telemetry records into diagnoses; ``observe`` returns the new ones."""

    def __init__(self, suggested_lr: float | None = None):
        self.suggested_lr = suggested_lr
        self._names: tuple[str, ...] = ()
        self._classes = 0
        self._lr = 0.0
        self._zero_since: dict[int, int] = {}
        self._sent: set[str] = set()
        self._recent: deque[float] = deque(maxlen=CHANCE_STEPS)
        self._start_loss: float | None = None
        self._high = 0

    def observe(self, record: Record) -> list[DiagnosisRecord]:
        if isinstance(record, RunStartRecord):
            return self._start(record)
        if isinstance(record, StepRecord):
            return [d for d in (self._dead(record), self._divergence(record),
                                self._chance(record)) if d is not None]
        return []

    # ----- checks -----------------------------------------------------------------------------
    def _start(self, r: RunStartRecord) -> list[DiagnosisRecord]:
        self._names = tuple(r.layer_names)
        self._classes = len((r.data or {}).get("class_names") or ()) or \
            int((r.data or {}).get("classes") or 0)
        if (r.data or {}).get("task", "classification") != "classification":
            self._classes = 0  # a dense task's loss has no chance level of ln(classes)
        self._lr = float(r.config.get("lr", 0.0))
        first = r.resumed_step + 1
        if not self.suggested_lr or self._lr <= 0:
            return []
        ratio = self._lr / self.suggested_lr
        if 1 / LR_FACTOR <= ratio <= LR_FACTOR:
            return []
        way = "above" if ratio > 1 else "below"
        found = self._once("lr_far", first, 1, [], (
            f"the learning rate {self._lr:g} is {max(ratio, 1 / ratio):.0f}× {way} the "
            f"LR finder's suggestion {self.suggested_lr:g}"),
            f"set lr to {self.suggested_lr:.2g}", "warning")
        return [found] if found is not None else []

    def _dead(self, r: StepRecord) -> DiagnosisRecord | None:
        norms = np.asarray(r.grad_norms)
        for layer, norm in enumerate(norms):
            if norm == 0.0:
                self._zero_since.setdefault(layer, r.step)
            else:
                self._zero_since.pop(layer, None)
        dead = sorted(i for i, since in self._zero_since.items()
                      if r.step - since + 1 >= DEAD_STEPS)
        if not dead or "dead" in self._sent:
            return None
        since = min(self._zero_since[i] for i in dead)
        names = ", ".join(self._names[i] if i < len(self._names) else str(i) for i in dead)
        whole = 0 in dead
        what = ("the network has died: no gradient reaches its first layer, so it can no "
                "longer learn" if whole else "part of the network has died (dead ReLUs)")
        lower = self._lr / 10 if self._lr else 0.01
        return self._once("dead", r.step, r.epoch, [self._names[i] for i in dead if
                                                     i < len(self._names)],
                          f"{'layers' if len(dead) > 1 else 'layer'} {names} "
                          f"receive{'' if len(dead) > 1 else 's'} no gradient since step "
                          f"{since} — {what}",
                          f"lower the learning rate (try {lower:.2g}) or use batch norm",
                          "error")

    def _divergence(self, r: StepRecord) -> DiagnosisRecord | None:
        if not math.isfinite(r.loss):
            kind = "NaN" if math.isnan(r.loss) else "infinite"
            return self._once("diverged", r.step, r.epoch, [],
                              f"training diverged: the loss became {kind} at step {r.step}",
                              _lower_lr(self._lr, "add warm-up or gradient clipping"), "error")
        if self._start_loss is None:
            self._start_loss = r.loss
        self._high = self._high + 1 if r.loss > EXPLODE_FACTOR * self._start_loss else 0
        if self._high < EXPLODE_STEPS:
            return None
        return self._once("exploding", r.step, r.epoch, [],
                          f"the loss is exploding: {r.loss:.4g} at step {r.step}, more than "
                          f"{EXPLODE_FACTOR:g}× the {self._start_loss:.4g} it started from",
                          _lower_lr(self._lr, "add gradient clipping"), "error")

    def _chance(self, r: StepRecord) -> DiagnosisRecord | None:
        if self._classes < 2 or not math.isfinite(r.loss):
            return None
        self._recent.append(r.loss)
        if len(self._recent) < CHANCE_STEPS:
            return None
        chance = math.log(self._classes)
        mean = sum(self._recent) / len(self._recent)
        if abs(mean - chance) > CHANCE_BAND * chance:
            return None
        return self._once("chance", r.step, r.epoch, [], (
            f"the loss has stayed at chance level ({mean:.3f}, ln {self._classes} = "
            f"{chance:.3f}) for {CHANCE_STEPS} steps: the network is not learning"),
            _lower_lr(self._lr, "check that labels match images; try the robust default "
                                "recipe (AdamW 1e-3) or He init"), "warning")

    def _once(self, kind: str, step: int, epoch: int, layers: list[str], message: str,
              suggestion: str, severity: str) -> DiagnosisRecord | None:
        if kind in self._sent:
            return None
        self._sent.add(kind)
        return DiagnosisRecord(kind, severity, step, epoch, message, suggestion, tuple(layers))


def _lower_lr(lr: float, more: str) -> str:
    if lr:
        return f"lower the learning rate (now {lr:g}; try {lr / 10:.2g}), or {more}"
    return f"lower the learning rate, or {more}"


def diagnosis_text(r: DiagnosisRecord) -> str:
    """One line for the terminal: "diagnosis (step 40): layers … — …; lower the learning …"."""
    return f"diagnosis (step {r.step}, epoch {r.epoch}): {r.message}; {r.suggestion}"


class DiagnosticsFileSink:
    """Appends every diagnosis to ``RUN_DIR/diagnostics.jsonl`` (one JSON object a line),
    flushed at once: diagnoses are rare and often come just before a run fails."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / "diagnostics.jsonl"

    def on_record(self, record: Record) -> None:
        if not isinstance(record, DiagnosisRecord):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        pass


def read_diagnostics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The diagnoses a run directory holds (empty when there are none)."""
    path = Path(run_dir) / "diagnostics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
