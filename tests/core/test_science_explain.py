"""Explain an image against manual calculations: Grad-CAM on the last stage by hand (pooled
gradients times activations, ReLU, bilinear upsampling), Integrated Gradients against a
Riemann sum and its completeness axiom, Saliency as |∂y/∂x|."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_analysis_support import tiny_resnet

from resnet_studio.analysis.explain import _attribution, _captum, explain
from resnet_studio.compiler import build

pytest.importorskip("captum")
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(4)
    net = build(tiny_resnet())
    with torch.no_grad():  # BatchNorm statistics and scales away from their defaults
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.running_mean.uniform_(-0.3, 0.3)
    return net.eval()


def image() -> torch.Tensor:
    return torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1))


def normalised(img: torch.Tensor) -> torch.Tensor:
    m, s = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)
    return ((img - m) / s).unsqueeze(0)


def unit(t: torch.Tensor) -> np.ndarray:
    a = t.detach().double().numpy()
    a = a - a.min()
    return a / a.max()


def gradcam_by_hand(model, x, stage, target):
    seen = {}
    handle = stage.register_forward_hook(lambda m, i, out: seen.update(a=out))
    score = model(x)[0, target]
    handle.remove()
    (grad,) = torch.autograd.grad(score, seen["a"])
    weights = grad.mean(dim=(2, 3), keepdim=True)  # global-average-pooled gradients
    cam = F.relu((weights * seen["a"]).sum(1, keepdim=True))
    return F.interpolate(cam, size=x.shape[-2:], mode="bilinear")[0, 0]


@pytest.mark.parametrize("target", [0, 2])
def test_gradcam_is_the_last_stages_pooled_gradient_times_its_activations(model, target):
    result = explain(model, image(), MEAN, STD, target=target, method="saliency")
    x = normalised(image())
    expected = gradcam_by_hand(model, x, model.layer2, target)
    assert result.gradcam_layer == "layer2"
    np.testing.assert_allclose(result.gradcam, unit(expected), atol=1e-5)
    first_stage = unit(gradcam_by_hand(model, x, model.layer1, target))
    assert np.abs(result.gradcam - first_stage).max() > 0.1  # the first stage looks elsewhere


def test_integrated_gradients_match_a_riemann_sum_and_are_complete(model):
    x, target = normalised(image()), 1
    pixels = _attribution(_captum(), model, x, target, "integrated_gradients")
    baseline = torch.zeros_like(x)
    steps = 400  # midpoint rule from the all-zero (mean) image to x
    path = baseline + (torch.arange(steps).view(-1, 1, 1, 1) + 0.5) / steps * (x - baseline)
    path.requires_grad_()
    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    riemann = (x - baseline) * grads.mean(0, keepdim=True)
    with torch.no_grad():
        gap = float(model(x)[0, target] - model(baseline)[0, target])
    assert float(pixels.sum()) == pytest.approx(gap, rel=0.02, abs=1e-3)  # completeness
    assert float(riemann.sum()) == pytest.approx(gap, rel=0.02, abs=1e-3)
    scale = float(riemann.abs().max())
    assert float((pixels - riemann).abs().max()) < 0.05 * scale


def test_the_attribution_map_is_the_channel_summed_magnitude_scaled_to_one(model):
    x, target = normalised(image()), 2
    result = explain(model, image(), MEAN, STD, target=target)
    pixels = _attribution(_captum(), model, x, target, "integrated_gradients")
    np.testing.assert_allclose(result.attribution, unit(pixels[0].abs().sum(0)), atol=1e-5)
    assert result.method == "integrated_gradients"


def test_saliency_is_the_magnitude_of_the_input_gradient(model):
    x, target = normalised(image()).requires_grad_(), 0
    result = explain(model, image(), MEAN, STD, target=target, method="saliency")
    (grad,) = torch.autograd.grad(model(x)[0, target], x)
    np.testing.assert_allclose(result.attribution, unit(grad[0].abs().sum(0)), atol=1e-5)


def test_top_k_are_the_softmax_probabilities_best_first(model):
    result = explain(model, image(), MEAN, STD, ["cat", "dog", "eel"], top_k=2,
                     method="saliency")
    with torch.no_grad():
        probs = F.softmax(model(normalised(image())), dim=1)[0]
    best = probs.argsort(descending=True)[:2]
    assert result.classes == [["cat", "dog", "eel"][int(i)] for i in best]
    assert result.probabilities == pytest.approx(probs[best].tolist(), rel=1e-6)
    assert result.target == result.classes[0]
    np.testing.assert_allclose(result.image, image().permute(1, 2, 0).numpy())
