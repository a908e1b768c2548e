"""The loss landscape against an independent computation: the directions drawn and
filter-normalised here as the module documents (Li et al. 2018), the weights moved by hand,
the loss and accuracy evaluated by hand, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_analysis_support import batch, tiny_resnet

from resnet_studio.analysis.landscape import filter_normalised_direction, landscape
from resnet_studio.compiler import build

SEED, SPAN = 7, 0.8


def tiny_model() -> torch.nn.Module:
    """The tiny ResNet in float64 with BatchNorm statistics that are not the defaults."""
    torch.manual_seed(2)
    model = build(tiny_resnet()).double()
    with torch.no_grad():
        model.train()
        for _ in range(3):
            model(batch(32, seed=9)[0].double())
    return model.eval()


def data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    x, y = batch(24, seed=4)
    return [(x[:16].double(), y[:16]), (x[16:].double(), y[16:])]


def my_directions(model, seed):
    """Two directions as documented: per parameter of more than one dimension, a Gaussian
    tensor whose every filter (slice along dimension 0) is rescaled to the norm of the same
    filter of the weight; zeros for 1-D parameters. d₁ is drawn first, then d₂."""
    gen = torch.Generator().manual_seed(seed)
    pair = []
    for _ in range(2):
        direction = []
        for p in model.parameters():
            if p.dim() <= 1:
                direction.append(torch.zeros_like(p))
                continue
            d = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            for k in range(len(p)):
                d[k] *= p[k].detach().norm() / d[k].norm()
            direction.append(d)
        pair.append(direction)
    return pair


def loss_at(model, d1, d2, alpha, beta, batches):
    """L(w + α·d₁ + β·d₂) and the accuracy there, on a copy of the model moved by hand."""
    import copy

    moved = copy.deepcopy(model).eval()
    with torch.no_grad():
        for p, a, b in zip(moved.parameters(), d1, d2):
            p.add_(alpha * a + beta * b)
        logits = torch.cat([moved(x) for x, _ in batches])
    y = torch.cat([y for _, y in batches])
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


@pytest.fixture(scope="module")
def computed():
    model, batches = tiny_model(), data()
    before = [p.detach().clone() for p in model.parameters()]
    result = landscape(model, batches, steps_1d=5, steps_2d=3, span=SPAN, seed=SEED)
    return model, batches, before, result


def test_the_directions_are_filter_normalised_gaussians_as_documented(computed):
    model = computed[0]
    d1, d2 = my_directions(model, SEED)
    gen = torch.Generator().manual_seed(SEED)
    theirs1 = filter_normalised_direction(model, gen)
    theirs2 = filter_normalised_direction(model, gen)
    for mine, theirs in ((d1, theirs1), (d2, theirs2)):
        for a, b in zip(mine, theirs):
            torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


def test_the_two_directions_differ_and_are_nearly_orthogonal(computed):
    d1, d2 = my_directions(computed[0], SEED)
    flat1 = torch.cat([d.flatten() for d in d1])
    flat2 = torch.cat([d.flatten() for d in d2])
    cosine = float(flat1 @ flat2 / (flat1.norm() * flat2.norm()))
    assert abs(cosine) < 0.2  # random directions in ~1,000 dimensions
    assert (flat1 - flat2).abs().max() > 0.1


def test_every_point_of_the_plane_is_the_loss_at_w_plus_alpha_d1_plus_beta_d2(computed):
    model, batches, _, result = computed
    d1, d2 = my_directions(model, SEED)
    np.testing.assert_allclose(result.alphas_2d, [-SPAN, 0.0, SPAN])
    np.testing.assert_allclose(result.betas_2d, [-SPAN, 0.0, SPAN])
    for i, alpha in enumerate(result.alphas_2d):
        for j, beta in enumerate(result.betas_2d):
            loss, accuracy = loss_at(model, d1, d2, alpha, beta, batches)
            assert result.loss_2d[i, j] == pytest.approx(loss, rel=1e-9), (alpha, beta)
            assert result.accuracy_2d[i, j] == pytest.approx(accuracy, abs=1e-12)


def test_alpha_and_beta_are_not_interchangeable(computed):
    """The plane is not symmetric, so a swap of α and β (or of d₁ and d₂) would show."""
    model, batches, _, result = computed
    d1, d2 = my_directions(model, SEED)
    off = loss_at(model, d1, d2, SPAN, -SPAN, batches)[0]
    swapped = loss_at(model, d1, d2, -SPAN, SPAN, batches)[0]
    assert result.loss_2d[2, 0] == pytest.approx(off, rel=1e-9)
    assert abs(off - swapped) > 1e-3 * off


def test_the_line_is_along_d1_only(computed):
    model, batches, _, result = computed
    d1, d2 = my_directions(model, SEED)
    np.testing.assert_allclose(result.alphas, np.linspace(-SPAN, SPAN, 5))
    for k, alpha in enumerate(result.alphas):
        loss, accuracy = loss_at(model, d1, d2, alpha, 0.0, batches)
        assert result.loss_1d[k] == pytest.approx(loss, rel=1e-9), alpha
        assert result.accuracy_1d[k] == pytest.approx(accuracy, abs=1e-12)


def test_the_origin_is_the_plain_loss_and_the_weights_come_back(computed):
    model, batches, before, result = computed
    plain_loss, plain_accuracy = loss_at(model, *my_directions(model, SEED), 0.0, 0.0, batches)
    assert result.origin_loss == pytest.approx(plain_loss, rel=1e-12)
    assert result.loss_2d[1, 1] == pytest.approx(plain_loss, rel=1e-12)
    assert result.loss_1d[2] == pytest.approx(plain_loss, rel=1e-12)
    assert result.accuracy_2d[1, 1] == pytest.approx(plain_accuracy, abs=1e-12)
    assert result.samples == 24 and result.seed == SEED
    for p, w in zip(model.parameters(), before):
        assert torch.equal(p.detach(), w)
