"""compiler.build of graphs with heads: torchvision's detectors and segmenters around the
backbone the graph builds, following torchvision's contract (see compiler.dense)."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from heads_graphs import detector, segmenter
from torch.nn import functional as F
from torchvision.models.detection import FasterRCNN, RetinaNet
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.segmentation import FCN, DeepLabV3
from torchvision.models.segmentation.fcn import FCNHead
from torchvision.ops import FeaturePyramidNetwork

from resnet_studio.compiler import Analyzer, build
from resnet_studio.train.telemetry import Layers

TARGETS = [{"boxes": torch.tensor([[4.0, 6.0, 30.0, 28.0]]), "labels": torch.tensor([1])},
           {"boxes": torch.tensor([[10.0, 20.0, 50.0, 60.0], [0.0, 0.0, 12.0, 12.0]]),
            "labels": torch.tensor([3, 2])}]


def _count(*modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def _images(seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(3, 64, 64, generator=generator) for _ in range(2)]


def _backbone_params() -> int:
    """torchvision's own ResNet-18 without its classifier."""
    resnet = torchvision.models.resnet18()
    return _count(resnet) - _count(resnet.fc)


@pytest.fixture(scope="module")
def faster_rcnn():
    torch.manual_seed(0)
    return build(detector())


def test_a_detector_is_torchvisions_faster_rcnn_with_the_graphs_resnet_inside(faster_rcnn):
    assert isinstance(faster_rcnn, FasterRCNN)
    body = {k.removeprefix("backbone.body."): v.shape for k, v in faster_rcnn.state_dict().items()
            if k.startswith("backbone.body.")}
    resnet = {k: v.shape for k, v in torchvision.models.resnet18().state_dict().items()
              if not k.startswith("fc.")}
    assert body == resnet  # torchvision's keys: a pretrained ResNet-18 loads key for key


def test_the_detectors_parameters_are_torchvisions_modules(faster_rcnn):
    heads = (FeaturePyramidNetwork([128, 256, 512], 256), RPNHead(256, 3),
             TwoMLPHead(256 * 7 * 7, 128), FastRCNNPredictor(128, 4))  # the block's width
    expected = _backbone_params() + _count(*heads)
    assert _count(faster_rcnn) == expected
    assert Analyzer().analyze(detector()).total_params == expected


def test_the_detector_neither_resizes_nor_normalises_and_anchors_by_the_rule(faster_rcnn):
    images = _images()
    batch, _ = faster_rcnn.transform.eval()(images)
    assert torch.equal(batch.tensors, torch.stack(images))
    sizes = faster_rcnn.rpn.anchor_generator.sizes
    assert sizes == ((8,), (16,), (32,), (64,), (128,))
    assert faster_rcnn.roi_heads.box_roi_pool.featmap_names == ["0", "1", "2"]


def test_a_training_step_gives_the_losses_and_reaches_the_backbone(faster_rcnn):
    faster_rcnn.train().zero_grad()
    losses = faster_rcnn(_images(), TARGETS)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness",
                           "loss_rpn_box_reg"}
    sum(losses.values()).backward()
    for name in ("backbone.body.conv1.weight", "backbone.body.layer1.0.conv1.weight",
                 "backbone.body.layer4.1.conv2.weight", "backbone.fpn.layer_blocks.0.0.weight"):
        grad = faster_rcnn.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_inference_gives_boxes_labels_and_scores_per_image(faster_rcnn):
    with torch.no_grad():
        found = faster_rcnn.eval()(_images())
    assert len(found) == 2
    for image in found:
        assert set(image) == {"boxes", "labels", "scores"}
        count = len(image["scores"])
        assert 0 < count <= 100 and image["boxes"].shape == (count, 4)
        assert image["labels"].dtype == torch.int64 and image["labels"].min() >= 1
        assert image["labels"].max() <= 3 and image["boxes"].max() <= 64


def test_each_node_keeps_its_layer_for_the_gradient_telemetry(faster_rcnn):
    paths = faster_rcnn.node_paths()
    assert paths["layer2"] == "backbone.body.layer2" and paths["fpn"] == "backbone.fpn"
    assert paths["det"] == "roi_heads"
    for path in paths.values():
        faster_rcnn.get_submodule(path)
    names = Layers.of(faster_rcnn).names
    assert {"conv1", "layer1", "layer4", "fpn", "det", "rpn"} <= set(names)


def test_retinanet_trains_and_keeps_torchvisions_head_initialisation():
    torch.manual_seed(0)
    model = build(detector("retinanet"))
    assert isinstance(model, RetinaNet)
    logits = model.head.classification_head.cls_logits
    assert logits.weight.std() < 0.02  # normal(std=0.01), not the backbone's Kaiming init
    assert torch.allclose(logits.bias, torch.full_like(logits.bias, -math.log(99)))
    losses = model.train()(_images(), TARGETS)
    assert set(losses) == {"classification", "bbox_regression"}
    sum(losses.values()).backward()
    assert model.backbone.body.layer1[0].conv1.weight.grad.abs().sum() > 0
    with torch.no_grad():
        found = model.eval()(_images())
    assert [set(image) for image in found] == [{"boxes", "labels", "scores"}] * 2


@pytest.mark.parametrize("head, expected", [("fcn_head", FCN), ("deeplabv3_head", DeepLabV3)])
def test_a_segmenter_scores_every_pixel_at_the_input_size(head, expected):
    torch.manual_seed(0)
    model = build(segmenter(head))
    assert isinstance(model, expected)
    x = torch.stack(_images())
    out = model.train()(x)
    assert set(out) == {"out"} and out["out"].shape == (2, 4, 64, 64)
    target = torch.randint(0, 4, (2, 64, 64))
    target[:, :8] = 255  # ignored pixels
    F.cross_entropy(out["out"], target, ignore_index=255).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.node_paths()["seg"] == "classifier"
    with torch.no_grad():
        assert model.eval()(x)["out"].shape == (2, 4, 64, 64)


def test_the_segmenters_parameters_are_torchvisions_modules():
    model = build(segmenter())
    expected = _backbone_params() + _count(FCNHead(512, 4))
    assert _count(model) == expected == Analyzer().analyze(segmenter()).total_params
    assert "backbone.layer4.1.bn2.running_var" in model.state_dict()
