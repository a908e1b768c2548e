"""The stages Grad-CAM can use (``gradcam_layers``): names and output shapes measured on meta,
checked against a real forward pass on the CPU; a chosen stage in a classifier's explanation
(against Grad-CAM by hand); the command's one-line refusal of a stage the network lacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from heads_graphs import detector, segmenter
from test_analysis_support import tiny_resnet, tiny_run

from resnet_studio.analysis.common import AnalysisError
from resnet_studio.analysis.explain import explain, gradcam_layers
from resnet_studio.cli import main
from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec
from resnet_studio.presets.base import Chain

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


def shapes_on_cpu(module: torch.nn.Module, model: torch.nn.Module, names, spec) -> dict:
    """The output shape (one image) of each child ``names`` of ``module``, by a real forward
    pass of ``model`` on random pixels."""
    seen = {}
    handles = [getattr(module, n).register_forward_hook(
        lambda m, i, out, n=n: seen.__setitem__(n, tuple(out.shape[1:]))) for n in names]
    with torch.no_grad():
        model.eval()(torch.rand(2, spec.channels, spec.height, spec.width))
    for handle in handles:
        handle.remove()
    return seen


def test_a_classifiers_stages_with_their_shapes_the_last_by_default():
    graph = tiny_resnet()
    layers = gradcam_layers(graph)
    assert list(layers.shapes) == ["layer1", "layer2"]  # the stem's conv is no stage
    model = build(graph)
    assert layers.shapes == shapes_on_cpu(model, model, ["layer1", "layer2"], graph.input_spec)
    assert layers.shapes == {"layer1": (4, 8, 8), "layer2": (8, 4, 4)}
    assert layers.default == "layer2"
    assert layers.describe() == "layer1 (4×8×8), layer2 (8×4×4)"


def test_a_plain_network_without_stages_offers_its_convolutions():
    chain = Chain(InputSpec(channels=1, height=12, width=12, classes=2))
    chain.add("c1", "conv2d", out_channels=3, kernel_size=3, stride=1, padding=0, bias=True)
    chain.add("act", "relu")
    chain.add("c2", "conv2d", out_channels=5, kernel_size=3, stride=2, padding=1, bias=True)
    graph = chain.classifier()
    layers = gradcam_layers(graph)
    model = build(graph)
    assert list(layers.shapes) == ["c1", "c2"]  # the ReLU holds no convolution
    assert layers.shapes == shapes_on_cpu(model, model, ["c1", "c2"], graph.input_spec)
    assert layers.shapes["c2"] == (5, 5, 5) and layers.default == "c2"


@pytest.mark.parametrize("head, tap", [("fcn_head", "layer4"), ("deeplabv3_head", "layer3")])
def test_a_segmenters_backbone_stages_up_to_the_one_feeding_its_head(head, tap):
    graph = segmenter(head, tap=tap)
    layers = gradcam_layers(graph)
    stages = ["layer1", "layer2", "layer3", "layer4"][:int(tap[-1])]
    assert list(layers.shapes) == stages and layers.default == tap
    model = build(graph)
    assert layers.shapes == shapes_on_cpu(model.backbone, model, stages, graph.input_spec)
    assert layers.shapes["layer1"] == (64, 16, 16)  # ResNet-18 at 64×64: stride 4, 64 wide


def test_a_detector_has_no_gradcam_stage():
    with pytest.raises(AnalysisError, match="a detection network"):
        gradcam_layers(detector())


def test_a_classifiers_gradcam_on_a_chosen_stage_is_that_stages_formula():
    torch.manual_seed(2)
    model = build(tiny_resnet()).eval()
    image = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(5))
    x = ((image - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1))[None]
    seen = {}
    handle = model.layer1.register_forward_hook(lambda m, i, out: seen.update(a=out))
    score = model(x)[0, 1]
    handle.remove()
    (grad,) = torch.autograd.grad(score, seen["a"])
    cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * seen["a"]).sum(1))[0].detach()
    cam = (cam - cam.min()) / (cam.max() - cam.min())  # layer1 is at the input's 8×8
    result = explain(model, image, MEAN, STD, target=1, method="saliency", layer="layer1")
    assert result.gradcam_layer == "layer1"
    np.testing.assert_allclose(result.gradcam, cam.numpy(), atol=1e-5)
    last = explain(model, image, MEAN, STD, target=1, method="saliency")
    assert last.gradcam_layer == "layer2" and np.abs(last.gradcam - cam.numpy()).max() > 0.1
    with pytest.raises(AnalysisError, match="no stage ‘fc’; choose one of layer1, layer2"):
        explain(model, image, MEAN, STD, layer="fc")


def test_the_command_refuses_a_stage_the_network_lacks_in_one_line(tmp_path, capsys):
    from PIL import Image

    run = tiny_run(tmp_path / "run", epochs=1)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(tmp_path / "red.png")
    args = ["explain", str(run), str(tmp_path / "red.png"), "-o", str(tmp_path / "out")]
    assert main([*args, "--layer", "avgpool"]) == 2
    err = capsys.readouterr().err
    assert err == ("resnet-studio: error: --layer avgpool: not a stage Grad-CAM can use; the "
                   "network's are layer1 (4×8×8), layer2 (8×4×4) (default layer2).\n")
    assert not (tmp_path / "out").exists()
    assert main([*args, "--layer", "layer1", "--method", "saliency"]) == 0, \
        capsys.readouterr().err
    assert '"gradcam_layer": "layer1"' in (tmp_path / "out" / "explain.json").read_text()
