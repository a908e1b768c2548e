"""How long a study will take, before it starts: a short timing of one network, scaled.

One network of the study (the one with the median MACs) trains a few steps on random
images of its input size (``train.bench.measure``); every run's time is then its number of
steps × that step time × its MACs relative to the timed network, plus validation (a forward
pass costs about a third of a training step per image). MACs are a fair proxy between
networks of one family on one device; the queue corrects the estimate with the real pace
once the first steps have run.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .plan import Study

Report = Callable[[int, int, str], None]  # (units done, units in all, what is being done)

# Training images of the torchvision sets before the validation split (their test splits
# are not used for training).
KNOWN_TRAIN_SIZES = {"mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000,
                     "cifar100": 50_000, "svhn": 73_257}
FORWARD_SHARE = 1 / 3
# Below this many optimiser steps a run has barely started to learn: the learning rate has
# not done its work, batch-norm statistics are still settling, and a small ResNet is near
# chance on MNIST or CIFAR-10 — differences between such runs are noise, not the effect
# the study looks for. (Epochs are whole numbers, so every run sees the data at least once.)
MIN_STEPS = 100


class EstimateCancelled(Exception):
    """The estimate was cancelled (its ``cancel`` flag set) before it was done."""


@dataclass(frozen=True)
class Estimate:
    """Seconds per run (None where the dataset's size is not known before loading it)."""

    seconds: dict[str, float | None]
    step_seconds: float
    timed_run: str

    @property
    def total(self) -> float | None:
        values = list(self.seconds.values())
        return None if any(v is None for v in values) else float(sum(values))

    def wall(self, slots: int = 1) -> float | None:
        """Seconds from start to end with ``slots`` runs training at once, each run (in plan
        order) taking the slot that frees first; the step time is the one measured, so time
        it with one trial's share of the machine (``step_seconds`` under the slot's threads)."""
        from .progress import makespan

        values = list(self.seconds.values())
        if any(v is None for v in values):
            return None
        return makespan([], [v for v in values if v], slots)


def data_sizes(config: dict[str, Any]) -> tuple[int, int] | None:
    """(training, validation) images a configuration trains and validates on, if known."""
    data = config["data"]
    if data["dataset"] == "synthetic":
        return _cut(data["train_size"], data), data["val_size"]
    total = KNOWN_TRAIN_SIZES.get(data["dataset"])
    if total is None:
        return None
    val = int(total * data["val_fraction"])
    return _cut(total - val, data), val


def _cut(train: int, data: dict[str, Any]) -> int:
    """Training images after the data configuration's class-balanced subset, if any."""
    subset = data.get("subset")
    return train if subset is None else min(train, subset)


def run_steps(config: dict[str, Any]) -> int | None:
    """Optimiser steps of a whole run (training batches drop the last partial one)."""
    sizes = data_sizes(config)
    return None if sizes is None else sizes[0] // config["batch_size"] * config["epochs"]


def short_runs(study: Study, minimum: int = MIN_STEPS) -> dict[str, int]:
    """The runs to train (by name) with fewer than ``minimum`` optimiser steps, and their
    steps; runs whose data size is known only once loaded are left out."""
    out = {}
    for spec in study.runs:
        steps = None if spec.existing else run_steps(spec.config)
        if steps is not None and steps < minimum:
            out[spec.name] = steps
    return out


def budget_warning(study: Study, minimum: int = MIN_STEPS) -> str | None:
    """One sentence when runs are too short to learn (see ``MIN_STEPS``), else None."""
    short = short_runs(study, minimum)
    if not short:
        return None
    name = min(short, key=short.get)
    config = study.run(name).config
    batches = short[name] // config["epochs"]
    return (f"warning: {len(short)} of {len(study.runs)} runs train fewer than {minimum} "
            f"optimiser steps (‘{name}’: {config['epochs']} epochs × {batches} batches = "
            f"{short[name]} steps); runs that short barely start to learn, so their "
            "differences say little. Train more epochs or images, or use smaller batches.")


def estimate(study: Study, measure_steps: int = 4, progress: Report | None = None,
             cancel: threading.Event | None = None) -> Estimate:
    """Time ``measure_steps`` steps of one network and scale to every run of ``study``.

    ``progress(done, total, text)`` hears of each unit of work (a network's MACs counted, a
    timing step taken); ``cancel`` is checked after each, and once set the estimate ends
    with ``EstimateCancelled``."""
    from .results import _costs

    report = progress or (lambda done, total, text: None)
    units = len(study.runs) + _timing_window(measure_steps) + measure_steps

    def counted(i: int) -> None:
        _check(cancel)
        report(i + 1, units, f"counting the MACs of {study.runs[i].label}")

    macs = {name: cost[1] for name, cost in _costs(study.runs, counted).items()}
    trained = [r for r in study.runs if not r.existing]
    if not trained:
        return Estimate({r.name: 0.0 for r in study.runs}, 0.0, "")
    ordered = sorted(trained, key=lambda r: macs[r.name])
    timed = ordered[len(ordered) // 2]

    def stepped(step: int, of: int) -> bool:
        report(len(study.runs) + step, units, f"timing step {step} of {of} of {timed.label}")
        return not (cancel is not None and cancel.is_set())

    step = step_seconds(timed.graph, timed.config, measure_steps, stepped)
    _check(cancel)
    seconds: dict[str, float | None] = {}
    for spec in study.runs:
        seconds[spec.name] = 0.0 if spec.existing else _scaled(
            spec.config, step * macs[spec.name] / max(macs[timed.name], 1))
    return Estimate(seconds, step, timed.name)


def _scaled(config: dict[str, Any], step: float) -> float | None:
    sizes = data_sizes(config)
    if sizes is None:
        return None
    train, val = sizes
    steps = train // config["batch_size"] * config["epochs"]
    val_steps = math.ceil(val / config["batch_size"]) * config["epochs"]
    return steps * step + val_steps * step * FORWARD_SHARE


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise EstimateCancelled("the estimate was cancelled")


def _timing_window(steps: int) -> int:
    """Steps of one telemetry window of the timing (the warm-up before ``steps`` more)."""
    return max(1, steps // 2)


def step_seconds(graph: dict[str, Any], config: dict[str, Any], steps: int,
                 on_step: Callable[[int, int], bool] | None = None) -> float:
    """Seconds per training step of ``graph`` under ``config`` (median over short windows);
    ``on_step`` as for ``train.bench.measure``."""
    from ..blocks import CATALOGUE
    from ..graph.project import from_dict
    from ..train.bench import measure
    from ..train.config import TrainConfig

    network = from_dict(graph, CATALOGUE, "the timed network")
    timing = TrainConfig.from_dict(config).replace(
        epochs=1, schedule="constant", warmup_epochs=0.0, warmup_steps=0, compile=False,
        telemetry_every=_timing_window(steps), checkpoint_every=0)
    result = measure(network, network.input_spec, timing, steps, on_step)
    if not result.median:
        return math.nan
    return timing.batch_size / result.median
