"""Runs that explain their failures: the Diagnoser on crafted telemetry, and in a real run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from resnet_studio.data import DataConfig
from resnet_studio.train import CallbackSink, Engine, TrainConfig
from resnet_studio.train.diagnose import DEAD_STEPS, Diagnoser, diagnosis_text, read_diagnostics
from resnet_studio.train.progress import ProgressSink
from resnet_studio.train.records import DiagnosisRecord, RunStartRecord, StepRecord

NAMES = ("conv1", "res1", "conv2", "fc1", "fc2")


def _start(lr=0.1, classes=10, resumed=0) -> RunStartRecord:
    data = {"class_names": [str(i) for i in range(classes)]}
    return RunStartRecord(NAMES, ("Conv2d",) * 5, (1,) * 5, {"lr": lr}, data, None, "cpu", 1,
                          100, 300, resumed, None)


def _step(step, loss, norms) -> StepRecord:
    return StepRecord(step, 1, loss, 0.1, 0.1, 100.0, np.asarray(norms, dtype=float))


def _feed(diagnoser, losses, norms_of) -> list[DiagnosisRecord]:
    found = diagnoser.observe(_start())
    for step, loss in enumerate(losses, 1):
        found += diagnoser.observe(_step(step, loss, norms_of(step)))
    return found


def test_layers_without_gradient_are_named_dead_once_with_their_first_zero_step():
    def norms(step):  # the first three layers die at step 40; the classifier's biases live on
        return [0.0, 0.0, 0.0, 0.3, 0.2] if step >= 40 else [0.5] * 5

    found = _feed(Diagnoser(), [1.0] * 100, norms)
    assert [d.kind for d in found] == ["dead"]
    dead = found[0]
    assert dead.step == 40 + DEAD_STEPS - 1 and dead.layers == ("conv1", "res1", "conv2")
    assert dead.message.startswith("layers conv1, res1, conv2 receive no gradient since step 40")
    assert "the network has died" in dead.message
    assert dead.suggestion == "lower the learning rate (try 0.01) or use batch norm"


def test_a_layer_that_recovers_before_the_patience_runs_out_is_not_dead():
    def norms(step):
        return [0.0 if step % DEAD_STEPS else 0.1] + [0.5] * 4

    assert _feed(Diagnoser(), [1.0] * 100, norms) == []


def test_a_loss_stuck_at_chance_is_reported():
    found = _feed(Diagnoser(), [math.log(10) + 0.01] * 120, lambda s: [0.5] * 5)
    assert [d.kind for d in found] == ["chance"] and found[0].step == 100
    assert "ln 10 = 2.303" in found[0].message
    learning = [math.log(10) * (1 - s / 150) for s in range(120)]
    assert _feed(Diagnoser(), learning, lambda s: [0.5] * 5) == []


def test_divergence_and_explosion_are_reported():
    nan = _feed(Diagnoser(), [1.0, 1.0, float("nan")], lambda s: [0.5] * 5)
    assert [d.kind for d in nan] == ["diverged"] and "NaN at step 3" in nan[0].message
    rising = [1.0] * 5 + [10.0] * 20
    boom = _feed(Diagnoser(), rising, lambda s: [0.5] * 5)
    assert [d.kind for d in boom] == ["exploding"] and boom[0].step == 15


@pytest.mark.parametrize("lr, found", [(0.1, ["lr_far"]), (0.01, []), (1e-4, ["lr_far"])])
def test_a_learning_rate_far_from_the_finders_suggestion_is_flagged(lr, found):
    records = Diagnoser(suggested_lr=0.003).observe(_start(lr=lr))
    assert [d.kind for d in records] == found
    if found:
        assert "LR finder's suggestion 0.003" in records[0].message


class _DeadNet(nn.Module):
    """A conv net whose first ReLU is off for every input (a large negative bias): no
    gradient reaches the first convolution — what a too-large step does to the seed ResNet.
    The second still learns its (positive) bias, so only conv1 is dead."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 4)
        with torch.no_grad():
            self.conv1.bias.fill_(-1e4)
            self.conv2.bias.fill_(1.0)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def test_a_dead_network_is_named_in_its_first_epoch_in_every_output(tmp_path):
    got, lines = [], []
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", telemetry_every=5,
                         data=DataConfig(train_size=8 * (DEAD_STEPS + 5), val_size=8,
                                         image_size=8, classes=4))
    progress = ProgressSink(_Lines(lines), tty=False)
    engine = Engine(_DeadNet(), config, [CallbackSink(got.append), progress], tmp_path)
    end = engine.run()
    engine.close()
    assert end.status == "finished"
    dead = [r for r in got if isinstance(r, DiagnosisRecord)]
    assert [d.kind for d in dead] == ["dead"]
    assert dead[0].layers == ("conv1",) and dead[0].epoch == 1
    assert "layer conv1 receives no gradient since step 1 — the network has died" in dead[0].message
    assert read_diagnostics(tmp_path) == [dead[0].to_dict()]
    assert diagnosis_text(dead[0]) in "".join(lines)
    assert json.loads((tmp_path / "diagnostics.jsonl").read_text())["kind"] == "dead"


class _Lines:
    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.append(text)

    def flush(self):
        pass

    def isatty(self):
        return False
