"""The analyses that make sense for dense networks: a segmenter's Grad-CAM on a backbone
stage, checked against the formula computed by hand (hooks and autograd), and signal at init
of detectors and segmenters measured with their task's training loss."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from heads_graphs import detector, segmenter
from PIL import Image

from resnet_studio.analysis.common import AnalysisError, Run
from resnet_studio.analysis.explain import explain_run
from resnet_studio.analysis.explain_dense import explain_segmentation
from resnet_studio.analysis.signal import signal_propagation
from resnet_studio.compiler import build

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
NAMES = ["background", "square", "disc", "triangle"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build(segmenter()).eval()


def _image(seed: int = 1) -> torch.Tensor:
    return torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(seed))


def gradcam_by_hand(model, image: torch.Tensor, stage: str, target: int) -> np.ndarray:
    """Segmentation Grad-CAM from its definition: the class's logits summed over the pixels
    predicted as it (all pixels if none), the stage's maps weighted by the spatial mean of
    that sum's gradient, summed over channels, ReLU, bilinear to the input, scaled to 0–1."""
    x = ((image - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1))[None]
    seen = {}
    handle = getattr(model.backbone, stage).register_forward_hook(
        lambda module, inputs, output: seen.setdefault("maps", output))
    try:
        logits = model(x)["out"][0]
    finally:
        handle.remove()
    region = logits.argmax(0) == target
    if not region.any():
        region = torch.ones_like(region)
    score = (logits[target] * region).sum()
    (grad,) = torch.autograd.grad(score, seen["maps"])
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * seen["maps"]).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=(64, 64), mode="bilinear")[0, 0].detach()
    cam = cam - cam.min()
    return (cam / cam.max()).numpy()


@pytest.mark.parametrize("stage", ["layer2", "layer3"])
def test_segmenter_gradcam_is_the_formula_on_the_chosen_stage(model, stage):
    image = _image()
    result = explain_segmentation(model, image, MEAN, STD, NAMES, layer=stage,
                                  method="saliency")
    assert result.gradcam_layer == stage
    target = NAMES.index(result.target)
    want = gradcam_by_hand(model, image, stage, target)
    assert want.std() > 0.05  # a map with structure, not a constant
    np.testing.assert_allclose(result.gradcam, want, atol=1e-5)


def test_segmenter_gradcam_of_a_class_it_does_not_predict_covers_every_pixel(model):
    image, triangle = _image(3), NAMES.index("triangle")
    first = explain_segmentation(model, image, MEAN, STD, NAMES, method="saliency")
    assert dict(zip(first.classes, first.probabilities))["triangle"] == 0.0
    result = explain_segmentation(model, image, MEAN, STD, NAMES, target=triangle,
                                  layer="layer2", method="saliency")
    want = gradcam_by_hand(model, image, "layer2", triangle)
    assert want.std() > 0.05
    np.testing.assert_allclose(result.gradcam, want, atol=1e-5)


def test_defaults_the_stage_feeding_the_head_and_the_most_covered_foreground_class(model):
    image = _image()
    result = explain_segmentation(model, image, MEAN, STD, NAMES, method="saliency")
    assert result.gradcam_layer == "layer4"  # the tap that feeds the FCN head
    with torch.no_grad():
        x = ((image - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1))
        predicted = model(x[None])["out"][0].argmax(0)
    counts = torch.bincount(predicted.flatten(), minlength=4)
    assert result.target == NAMES[int(counts[1:].argmax()) + 1]
    shares = dict(zip(result.classes, result.probabilities))
    assert shares == pytest.approx({NAMES[i]: float(c) / 64 / 64 for i, c in enumerate(counts)})
    assert result.scores == "pixel share" and "pixel_share" in result.to_json()["top"][0]


def test_an_unknown_stage_is_refused_naming_the_stages(model):
    with pytest.raises(AnalysisError, match="no stage ‘head’; choose one of layer1, layer2, "
                                            "layer3, layer4"):
        explain_segmentation(model, _image(), MEAN, STD, NAMES, layer="head")


def test_a_segmenters_run_is_explained_from_an_image_file(model, tmp_path):
    path = tmp_path / "shape.png"
    Image.fromarray((_image(3).permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)
    spec = SimpleNamespace(mean=MEAN, std=STD, class_names=NAMES)
    run = Run(Path("runs/seg"), segmenter(), None, spec, Path("runs/seg/best.pt"),
              model.state_dict())
    result = explain_run(run, path, method="saliency", layer="layer3")
    loaded = torch.from_numpy(np.asarray(Image.open(path), np.float32) / 255).permute(2, 0, 1)
    target = NAMES.index(result.target)
    np.testing.assert_allclose(result.gradcam, gradcam_by_hand(model, loaded, "layer3", target),
                               atol=1e-5)


# ----- signal at init -------------------------------------------------------------------------
def _shapes_batch(task: str):
    from resnet_studio.analysis.dense import shapes_batch
    from resnet_studio.graph import InputSpec

    return shapes_batch(InputSpec(channels=3, height=64, width=64, classes=4), task, 2, seed=0)


def test_a_segmenters_signal_is_measured_with_its_training_loss_by_hand():
    x, masks = _shapes_batch("segmentation")
    result = signal_propagation(segmenter(), batch=(x, masks), twin=False, seed=4)
    curve = result.curves[0]
    torch.manual_seed(4)
    net = build(segmenter()).train()
    loss = F.cross_entropy(net(x)["out"], masks, ignore_index=255)
    loss.backward()
    assert curve.loss == pytest.approx(float(loss.detach()), rel=1e-5)
    assert curve.names[0] == "backbone.conv1" and curve.names[-1].startswith("classifier.")
    assert curve.weight_grad_norm[0] == pytest.approx(float(net.backbone.conv1.weight.grad.norm()),
                                                      rel=1e-4)
    assert result.settings["task"] == "segmentation"


@pytest.mark.parametrize("batch_stats", [True, False])
def test_a_detectors_signal_is_its_summed_losses_over_backbone_pyramid_and_head(batch_stats):
    x, targets = _shapes_batch("detection")
    assert all(len(t["boxes"]) for t in targets)
    result = signal_propagation(detector(), batch=(x, targets), twin=False, seed=4,
                                batch_stats=batch_stats)
    curve = result.curves[0]
    torch.manual_seed(4)
    net = build(detector()).train()
    if not batch_stats:
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
    loss = sum(net(list(x), targets).values())
    loss.backward()
    assert curve.loss == pytest.approx(float(loss.detach()), rel=1e-5)
    conv1 = net.backbone.body.conv1.weight.grad.norm()
    assert curve.weight_grad_norm[0] == pytest.approx(float(conv1), rel=1e-4)
    parts = {name.split(".")[0] + "." + name.split(".")[1] for name in curve.names}
    assert {"backbone.body", "backbone.fpn", "rpn.head", "roi_heads.box_head"} <= parts


def test_a_dense_networks_signal_has_its_plain_twin_without_shortcuts():
    result = signal_propagation(segmenter(), batch_size=2, twin=True)
    network, plain = result.curves
    shortcuts = [n for n in network.names if "downsample" in n]
    assert len(shortcuts) == 3 and plain.label.endswith("_plain")
    assert plain.names == [n for n in network.names if n not in shortcuts]
    assert plain.names[-1].startswith("classifier.")  # the head is measured in both


def test_each_measured_layer_names_its_graph_node():
    x, targets = _shapes_batch("detection")
    curve = signal_propagation(detector(), batch=(x, targets), twin=False).curves[0]
    nodes = dict(zip(curve.names, curve.nodes))
    assert nodes["backbone.body.conv1"] == "conv1"
    assert nodes["backbone.body.layer2.0.downsample.0"] == "layer2"
    assert {nodes[n] for n in curve.names if n.startswith("backbone.fpn.")} == {"fpn"}
    assert {nodes[n] for n in curve.names if n.startswith("roi_heads.")} == {"det"}
    assert {nodes[n] for n in curve.names if n.startswith("rpn.")} == {None}
