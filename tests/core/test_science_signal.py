"""Signal propagation against an independent computation: each number of a curve, for a layer
in the middle of a tiny ResNet, recomputed here with torch.autograd.grad and a hand forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_analysis_support import batch, tiny_resnet

from resnet_studio.analysis.signal import project_batch, signal_propagation
from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec
from resnet_studio.presets import plain_twin

MIDDLE = "layer2.0.conv1"  # a convolution in the middle of the network, at stride 2
SEED = 5


def by_hand(graph, x, y, layer_name, train: bool):
    """The loss, and for ``layer_name``: the RMS of its output recomputed from its input with
    F.conv2d, the L2 norm of ∂loss/∂output and of ∂loss/∂weight from torch.autograd.grad."""
    torch.manual_seed(SEED)
    model = build(graph).train(train)
    layer = dict(model.named_modules())[layer_name]
    seen = {}
    handle = layer.register_forward_hook(lambda m, i, out: seen.update(input=i[0], output=out))
    loss = F.cross_entropy(model(x), y)
    handle.remove()
    out_grad, weight_grad = torch.autograd.grad(loss, [seen["output"], layer.weight])
    output = F.conv2d(seen["input"].detach(), layer.weight.detach(), layer.bias,
                      layer.stride, layer.padding)
    rms = float(torch.sqrt((output.double() ** 2).sum() / output.numel()))
    return {"loss": float(loss.detach()), "rms": rms,
            "out_grad": float(torch.sqrt((out_grad.double() ** 2).sum())),
            "weight_grad": float(torch.sqrt((weight_grad.double() ** 2).sum()))}


def measured(curve, layer_name):
    i = curve.names.index(layer_name)
    return {"loss": curve.loss, "rms": float(curve.activation_rms[i]),
            "out_grad": float(curve.output_grad_norm[i]),
            "weight_grad": float(curve.weight_grad_norm[i])}


@pytest.mark.parametrize("batch_stats", [True, False], ids=["batch-stats", "running-stats"])
def test_a_middle_layer_matches_autograd_and_a_hand_forward(batch_stats):
    x, y = batch()
    result = signal_propagation(tiny_resnet(), batch=(x, y), seed=SEED, twin=False,
                                batch_stats=batch_stats)
    got, want = measured(result.curves[0], MIDDLE), by_hand(tiny_resnet(), x, y, MIDDLE,
                                                          train=batch_stats)
    assert got == pytest.approx(want, rel=1e-4)


def test_the_backward_signal_is_an_l2_norm_not_l1_or_max():
    x, y = batch()
    curve = signal_propagation(tiny_resnet(), batch=(x, y), seed=SEED, twin=False).curves[0]
    torch.manual_seed(SEED)
    model = build(tiny_resnet()).train()
    layer = dict(model.named_modules())[MIDDLE]
    seen = {}
    layer.register_forward_hook(lambda m, i, out: seen.update(output=out))
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), [seen["output"]])
    value = curve.output_grad_norm[curve.names.index(MIDDLE)]
    assert value == pytest.approx(float(g.norm(p=2)), rel=1e-5)
    # the alternatives differ by far more than the tolerance on this layer
    assert abs(float(g.abs().sum()) - value) > 0.5 * value
    assert abs(float(g.abs().max()) - value) > 0.5 * value


def test_running_statistics_mode_is_the_network_in_eval_mode():
    """With batch_stats=False BatchNorm normalises with its initial running statistics (mean 0,
    variance 1): the same numbers as a copy of the network put in eval() mode, and not those
    of training mode."""
    x, y = batch()
    result = signal_propagation(tiny_resnet(), batch=(x, y), seed=SEED, twin=False,
                                batch_stats=False)
    curve = result.curves[0]
    torch.manual_seed(SEED)
    model = build(tiny_resnet()).eval()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    assert curve.loss == pytest.approx(float(loss.detach()), rel=1e-5)
    for name, module in model.named_modules():
        if name in curve.names:
            i = curve.names.index(name)
            assert curve.weight_grad_norm[i] == pytest.approx(float(module.weight.grad.norm()),
                                                              rel=1e-4), name
    train_mode = by_hand(tiny_resnet(), x, y, "conv1", train=True)
    assert abs(train_mode["loss"] - curve.loss) > 1e-3
    assert result.settings["batch_stats"] is False


def test_every_layers_activation_rms_matches_a_hand_forward():
    x, y = batch()
    curve = signal_propagation(tiny_resnet(), batch=(x, y), seed=SEED, twin=False).curves[0]
    torch.manual_seed(SEED)
    model = build(tiny_resnet()).train()
    outputs = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(
                lambda m, i, out, name=name: outputs.setdefault(name, out.detach()))
    model(x)
    assert curve.names == list(outputs)  # forward order, each layer once
    for i, (name, out) in enumerate(outputs.items()):
        expected = float(torch.sqrt((out.double() ** 2).mean()))
        assert curve.activation_rms[i] == pytest.approx(expected, rel=1e-5), name


def test_the_plain_twin_is_measured_on_its_own_network():
    x, y = batch()
    result = signal_propagation(tiny_resnet(), batch=(x, y), seed=SEED)
    twin = result.curves[1]
    want = by_hand(plain_twin(tiny_resnet()), x, y, MIDDLE, train=True)
    assert measured(twin, MIDDLE) == pytest.approx(want, rel=1e-4)
    assert result.first_layer_gradients() == {
        c.label: pytest.approx(float(c.weight_grad_norm[0])) for c in result.curves}
    assert result.curves[0].weight_grad_norm[0] != pytest.approx(twin.weight_grad_norm[0])


def test_what_the_docs_say_about_a_deeper_plain_twin_holds():
    """signal.py and the README: with batch statistics the plain twin's early gradients are
    larger than the residual network's (they explode); with running statistics they vanish
    while the residual network's grow toward the input. A 27-layer tiny pair shows both."""
    graph, data = tiny_resnet(blocks=6), batch(32)
    normed = signal_propagation(graph, batch=data, seed=0).first_layer_gradients()
    assert normed["tiny_plain"] > 3 * normed["tiny"]
    raw = signal_propagation(graph, batch=data, seed=0, batch_stats=False)
    residual, plain = raw.curves
    assert plain.weight_grad_norm[0] < residual.weight_grad_norm[0] / 100
    assert plain.output_grad_norm[0] < plain.output_grad_norm[-2] / 10  # vanishes
    assert residual.output_grad_norm[0] > 5 * residual.output_grad_norm[-2]  # grows


def test_a_non_square_input_is_measured_on_a_full_batch_of_standard_normal_images():
    # the synthetic set draws square images only: a 6x10 input gets N(0, 1) images instead
    x, y = project_batch(InputSpec(channels=2, height=6, width=10, classes=3), 64, seed=1)
    assert x.shape == (64, 2, 6, 10) and y.shape == (64,)
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05  # 7680 draws
    assert set(y.tolist()) == {0, 1, 2}
    again, _ = project_batch(InputSpec(channels=2, height=6, width=10, classes=3), 64, seed=1)
    assert torch.equal(x, again)


def test_the_batchnorm_layers_counted_are_the_built_networks():
    """The note says the mode changes nothing only for a network with no BatchNorm: the count
    must be the built network's own, with it and without it."""
    from resnet_studio.presets import create

    with_bn = tiny_resnet()
    built = sum(isinstance(m, torch.nn.BatchNorm2d) for m in build(with_bn).modules())
    result = signal_propagation(with_bn, batch_size=4)
    assert built > 0 and result.settings["batchnorm_layers"] == built
    assert result.curves[0].batchnorm_layers == built
    without = signal_propagation(create("mnist_small_resnet"), batch_size=4, twin=False)
    assert without.settings["batchnorm_layers"] == 0
