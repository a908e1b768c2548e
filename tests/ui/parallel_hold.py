"""A child of the parallel executor that holds each trial at a step until it is told to stop:
two trials are then mid-way at the same time by construction. Holds no tests."""

from __future__ import annotations

import time
from typing import Any

from resnet_studio.study.trial import run_trial

WAIT_SECONDS = 120.0  # for the stop that must come; past it the test fails, not CI


def hold_at(trial, emit, stopped, on_engine, *, step: int):
    def emitting(record: Any) -> None:
        emit(record)
        if getattr(record, "step", None) == step and type(record).__name__ == "StepRecord":
            waited = time.monotonic()
            while not stopped() and time.monotonic() - waited < WAIT_SECONDS:
                time.sleep(0.01)
    return run_trial(trial, emitting, stopped, on_engine)
