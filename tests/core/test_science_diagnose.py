"""Every number a diagnosis reports against an independent computation on made-up telemetry:
the step a layer died, the step it is reported, the mean loss and ln(classes), the loss the
explosion is measured against, the learning-rate ratio, and the rates suggested."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from resnet_studio.train.diagnose import (
    CHANCE_BAND,
    CHANCE_STEPS,
    DEAD_STEPS,
    EXPLODE_FACTOR,
    EXPLODE_STEPS,
    Diagnoser,
)
from resnet_studio.train.records import RunStartRecord, StepRecord

NAMES = ("stem", "b1", "b2", "b3", "fc")


def start(lr=0.2, data=None, suggested=None):
    d = Diagnoser(suggested_lr=suggested)
    data = {"class_names": [str(i) for i in range(7)]} if data is None else data
    found = d.observe(RunStartRecord(NAMES, ("Conv2d",) * 5, (1,) * 5, {"lr": lr}, data, None,
                                     "cpu", 1, 50, 500, 0, None))
    return d, found


def feed(d, losses, norms=lambda step: [0.4] * 5, epoch_of=lambda step: 1 + step // 50,
         first=1):
    found = []
    for step, loss in enumerate(losses, first):
        found += d.observe(StepRecord(step, epoch_of(step), float(loss), 0.1, 0.2, 10.0,
                                      np.asarray(norms(step), dtype=float)))
    return found


def numbers(text):
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


@pytest.mark.parametrize("deaths", [{1: 30, 3: 44}, {0: 61, 2: 12, 4: 80}, {2: 9}])
def test_dead_layers_their_first_zero_step_and_the_step_they_are_reported(deaths):
    def norms(step):
        return [0.0 if layer in deaths and step >= deaths[layer] else 0.3 for layer in range(5)]

    d, _ = start(lr=0.2)
    found = feed(d, [1.0] * 200, norms)
    # by hand: the first step at which some layer has had DEAD_STEPS zero steps in a row
    report = min(s + DEAD_STEPS - 1 for s in deaths.values())
    dead = sorted(i for i, s in deaths.items() if s + DEAD_STEPS - 1 <= report)
    since = min(deaths[i] for i in dead)
    assert len(found) == 1
    got = found[0]
    assert (got.kind, got.severity, got.step, got.epoch) == ("dead", "error", report,
                                                             1 + report // 50)
    assert got.layers == tuple(NAMES[i] for i in dead)
    noun, verb = ("layers", "receive") if len(dead) > 1 else ("layer", "receives")
    assert got.message.startswith(f"{noun} {', '.join(got.layers)} {verb} no gradient since "
                                  f"step {since} — ")
    assert ("has died: no gradient reaches its first layer" in got.message) == (0 in dead)
    assert got.suggestion == "lower the learning rate (try 0.02) or use batch norm"


def test_a_layer_one_step_short_of_the_patience_is_not_dead():
    d, _ = start()
    norms = [0.4] * 5
    found = feed(d, [1.0] * (DEAD_STEPS - 1), lambda step: [0.0] + norms[1:])
    assert found == []
    last = feed(d, [1.0], lambda step: [0.0] + norms[1:], first=DEAD_STEPS)
    assert [(r.kind, r.step) for r in last] == [("dead", DEAD_STEPS)]


def trailing_chance(losses, classes):
    """By hand: the first step whose trailing CHANCE_STEPS mean is within the band."""
    chance = math.log(classes)
    for end in range(CHANCE_STEPS, len(losses) + 1):
        mean = float(np.mean(losses[end - CHANCE_STEPS:end]))
        if abs(mean - chance) <= CHANCE_BAND * chance:
            return end, mean
    return None, None


@pytest.mark.parametrize("classes, data", [(7, None), (4, {"classes": 4})])
def test_chance_reports_the_trailing_mean_and_ln_classes(classes, data):
    rng = np.random.default_rng(classes)
    drift = np.r_[np.linspace(0.6, 0.0, 150), np.zeros(100)]  # from well above chance to it
    losses = math.log(classes) * (1 + drift) + rng.normal(0, 0.02, 250)
    step, mean = trailing_chance(losses, classes)
    assert step is not None and step > CHANCE_STEPS
    d, _ = start(data=data)
    found = [r for r in feed(d, losses) if r.kind == "chance"]
    assert len(found) == 1 and (found[0].step, found[0].severity) == (step, "warning")
    assert f"({mean:.3f}, ln {classes} = {math.log(classes):.3f})" in found[0].message
    assert f"for {CHANCE_STEPS} steps" in found[0].message


@pytest.mark.parametrize("factor, reported", [(1 + CHANCE_BAND * 0.9, True),
                                              (1 + CHANCE_BAND * 1.1, False),
                                              (1 - CHANCE_BAND * 0.9, True),
                                              (1 - CHANCE_BAND * 1.1, False)])
def test_the_chance_band_is_three_percent_of_ln_classes(factor, reported):
    d, _ = start()
    found = feed(d, [math.log(7) * factor] * CHANCE_STEPS)
    assert [r.kind for r in found] == (["chance"] if reported else [])


def test_explosion_is_measured_against_the_first_loss_for_consecutive_steps():
    first = 0.8
    losses = [first, 1.0, 0.9] + [first * EXPLODE_FACTOR * 1.5] * (EXPLODE_STEPS - 1) + [0.5] \
        + [first * EXPLODE_FACTOR * 2] * EXPLODE_STEPS
    d, _ = start(lr=0.05)
    found = feed(d, losses)
    # by hand: the run of high losses is broken once, so the second run is the one reported
    step = 3 + (EXPLODE_STEPS - 1) + 1 + EXPLODE_STEPS
    assert [(r.kind, r.severity, r.step) for r in found] == [("exploding", "error", step)]
    loss, at, factor, start_loss = numbers(found[0].message)
    assert (at, factor) == (step, EXPLODE_FACTOR)
    assert loss == pytest.approx(first * EXPLODE_FACTOR * 2, rel=1e-3)
    assert start_loss == pytest.approx(first)
    assert found[0].suggestion == ("lower the learning rate (now 0.05; try 0.005), or add "
                                   "gradient clipping")


def test_a_loss_at_exactly_the_factor_is_not_exploding():
    d, _ = start()
    assert feed(d, [1.0] + [EXPLODE_FACTOR] * (3 * EXPLODE_STEPS)) == []


@pytest.mark.parametrize("loss, word", [(float("inf"), "infinite"), (float("-inf"), "infinite"),
                                        (float("nan"), "NaN")])
def test_a_non_finite_loss_is_named_with_its_step(loss, word):
    d, _ = start(lr=0.3)
    found = feed(d, [1.0, 1.1, 0.9, loss])
    assert [(r.kind, r.severity, r.step) for r in found] == [("diverged", "error", 4)]
    assert found[0].message == f"training diverged: the loss became {word} at step 4"
    assert "try 0.03" in found[0].suggestion


@pytest.mark.parametrize("lr, suggested", [(0.5, 0.004), (2e-5, 0.03), (0.101, 0.01),
                                           (0.1, 0.01), (0.001, 0.01), (0.00099, 0.01)])
def test_the_learning_rate_ratio_is_reported_as_measured(lr, suggested):
    _, found = start(lr=lr, suggested=suggested)
    ratio = lr / suggested
    if 0.1 <= ratio <= 10:
        assert found == []
        return
    assert [(r.kind, r.severity, r.step, r.epoch) for r in found] == [("lr_far", "warning", 1, 1)]
    times = max(ratio, 1 / ratio)
    way = "above" if ratio > 1 else "below"
    assert found[0].message == (f"the learning rate {lr:g} is {times:.0f}× {way} the LR "
                                f"finder's suggestion {suggested:g}")
    assert found[0].suggestion == f"set lr to {suggested:.2g}"
