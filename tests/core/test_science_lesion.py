"""The lesion study against hand-edited networks: a copy of the network with block k's
residual branch silenced by zeroing its last BatchNorm's weight and bias (so the branch
outputs exactly zero and the block passes on its shortcut), or, in the plain twin, with the
block swapped for nn.Identity; each copy evaluated by hand."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_analysis_support import batch, tiny_resnet
from torch import nn

from resnet_studio.analysis.lesion import lesion_model
from resnet_studio.compiler import build
from resnet_studio.presets import plain_twin

BLOCKS = ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]


def trained_like(graph) -> nn.Module:
    """A network whose BatchNorm statistics and scales are not the defaults, in float64."""
    torch.manual_seed(11)
    model = build(graph).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        model.train()
        for _ in range(3):
            model(batch(32, seed=8)[0].double())
    return model.eval()


def data():
    x, y = batch(40, seed=6)
    return [(x[:25].double(), y[:25]), (x[25:].double(), y[25:])]


def by_hand(model, batches):
    with torch.no_grad():
        logits = torch.cat([model(x) for x, _ in batches])
    y = torch.cat([y for _, y in batches])
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


def without_branch(model, name):
    edited = copy.deepcopy(model)
    bn2 = dict(edited.named_modules())[name].bn2
    with torch.no_grad():
        bn2.weight.zero_()
        bn2.bias.zero_()
    return edited


def test_each_lesion_is_the_network_with_that_branch_zeroed_by_hand():
    model, batches = trained_like(tiny_resnet()), data()
    result = lesion_model(model, batches, "tiny")
    assert result.blocks == BLOCKS and result.kinds == ["branch"] * 4
    assert (result.baseline_loss, result.baseline_accuracy) == pytest.approx(
        by_hand(model, batches), rel=1e-12)
    for k, name in enumerate(BLOCKS):
        loss, accuracy = by_hand(without_branch(model, name), batches)
        assert result.loss[k] == pytest.approx(loss, rel=1e-9), name
        assert result.accuracy[k] == pytest.approx(accuracy, abs=1e-12), name
    # the lesions differ from each other and from the intact network
    assert len({round(float(v), 9) for v in result.loss}) == 4
    assert all(abs(v - result.baseline_loss) > 1e-6 for v in result.loss)
    assert result.samples == 40 and not result.skipped


def test_a_plain_block_is_replaced_by_the_identity_where_the_shape_allows():
    model, batches = trained_like(plain_twin(tiny_resnet())), data()
    result = lesion_model(model, batches, "plain")
    assert result.kinds == ["block"] * 4
    for k, name in enumerate(BLOCKS):
        if name == "layer2.0":  # 4×8×8 → 8×4×4: no identity can stand in for it
            assert np.isnan(result.loss[k]) and np.isnan(result.accuracy[k])
            assert "4×8×8 to 8×4×4" in result.skipped[name]
            continue
        edited = copy.deepcopy(model)
        stage, index = name.split(".")
        getattr(edited, stage)[int(index)] = nn.Identity()
        loss, accuracy = by_hand(edited, batches)
        assert result.loss[k] == pytest.approx(loss, rel=1e-9), name
        assert result.accuracy[k] == pytest.approx(accuracy, abs=1e-12), name
    assert set(result.skipped) == {"layer2.0"}


def test_the_network_is_left_intact_and_in_eval_mode():
    model, batches = trained_like(tiny_resnet()), data()
    before = by_hand(model, batches)
    model.train()
    lesion_model(model, batches)
    assert not model.training
    assert by_hand(model, batches) == pytest.approx(before, rel=1e-12)
