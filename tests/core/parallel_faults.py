"""Faults for the parallel executor's tests, planted in its children at a chosen step.

Each is ``trial.run_trial`` with its ``emit`` wrapped; ``functools.partial`` fixes the trial
and the step, so that the function pickles into a ``spawn`` child. Holds no tests.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from resnet_studio.study.trial import run_trial

WAIT_SECONDS = 120.0  # for a stop that must come; a hang past it fails the test, not CI


def _step(record: Any) -> int | None:
    from resnet_studio.train.records import StepRecord

    return record.step if isinstance(record, StepRecord) else None


def kill_at(trial, emit, stopped, on_engine, *, name: str, step: int, marker: str):
    """The child training ``name`` kills itself (SIGKILL) right after reporting ``step``,
    once: the ``marker`` file says it did, so the restarted child trains on."""
    def emitting(record: Any) -> None:
        emit(record)
        if trial.name == name and _step(record) == step and not Path(marker).exists():
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
    return run_trial(trial, emitting, stopped, on_engine)


def always_die(trial, emit, stopped, on_engine, *, name: str, step: int):
    """The child training ``name`` kills itself at ``step`` every time it gets there."""
    def emitting(record: Any) -> None:
        emit(record)
        if trial.name == name and _step(record) == step:
            os.kill(os.getpid(), signal.SIGKILL)
    return run_trial(trial, emitting, stopped, on_engine)


def hold_at(trial, emit, stopped, on_engine, *, name: str, step: int):
    """The child training ``name`` waits after reporting ``step`` until it is told to stop,
    so that a cancel sent when the driver sees that step stops it exactly there."""
    def emitting(record: Any) -> None:
        emit(record)
        if trial.name == name and _step(record) == step:
            waited = time.monotonic()
            while not stopped() and time.monotonic() - waited < WAIT_SECONDS:
                time.sleep(0.01)
    return run_trial(trial, emitting, stopped, on_engine)
