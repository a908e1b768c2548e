"""Head blocks (blocks.heads): the palette entries, their shapes, parameters and MACs, each
checked against torchvision's modules or the layers' own formulas."""

from __future__ import annotations

import pytest
from heads_graphs import SPEC, detector, errors, segmenter
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.segmentation.deeplabv3 import DeepLabHead
from torchvision.models.segmentation.fcn import FCNHead

from resnet_studio.blocks import CATALOGUE, Detections, Pyramid, shape_text
from resnet_studio.blocks.heads import anchor_sizes
from resnet_studio.compiler import Analyzer, build
from resnet_studio.compiler.task import HEAD_TASKS

CONV3 = 256 * 256 * 9  # a 3×3 convolution of the pyramid's width, per position
POSITIONS = 8 * 8 + 4 * 4 + 2 * 2 + 1 + 1  # the five levels of a 64×64 image's pyramid


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_palette_lists_the_heads_in_their_own_category():
    heads = [b.type_id for b in CATALOGUE.categories()["Heads"]]
    assert heads == ["fpn", "faster_rcnn", "retinanet", "fcn_head", "deeplabv3_head"]
    assert set(heads) - {"fpn"} <= set(HEAD_TASKS)  # each makes the task compiler.task names
    fpn = CATALOGUE.spec("fpn")
    assert fpn.inputs[0].multi and fpn.param("out_channels").default == 256


def test_anchor_sizes_double_from_an_eighth_of_the_image():
    assert anchor_sizes(64, 64) == ((8,), (16,), (32,), (64,), (128,))
    assert anchor_sizes(96, 200, 3) == ((12,), (24,), (48,))
    assert anchor_sizes(16, 16, 2) == ((4,), (8,))  # never below 4 pixels


def test_retinanet_anchors_add_two_octave_scales_as_torchvisions_do():
    # torchvision's retinanet_resnet50_fpn: (x, int(x·2^(1/3)), int(x·2^(2/3))), x = 32 … 512
    expected = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3)))
                     for x in (32, 64, 128, 256, 512))
    assert anchor_sizes(256, 256, octaves=3) == expected
    assert anchor_sizes(64, 64, 2, octaves=3) == ((8, 10, 12), (16, 20, 25))
    model = build(detector("retinanet"))
    assert model.anchor_generator.num_anchors_per_location() == [9] * 5


@pytest.mark.parametrize("taps, levels", [
    (("layer2", "layer3", "layer4"), [8, 4, 2, 1, 1]),
    (("layer1", "layer2", "layer3", "layer4"), [16, 8, 4, 2, 1]),
    (("layer3", "layer4"), [4, 2, 1, 1, 1]),
])
def test_the_pyramid_has_five_maps_the_missing_ones_max_pooled(taps, levels):
    info = Analyzer().analyze(detector(taps=taps)).nodes["fpn"]
    assert isinstance(info.out_shape, Pyramid) and info.out_shape.taps == len(taps)
    assert list(info.out_shape) == [(256, s, s) for s in levels]
    assert shape_text(info.out_shape).startswith("pyramid of 5 maps 256×")


def test_fpn_parameters_and_macs_follow_its_convolutions():
    info = Analyzer().analyze(detector()).nodes["fpn"]
    taps = [(128, 8), (256, 4), (512, 2)]  # channels and size of layer2 … layer4
    inner = sum(c * 256 + 256 for c, _ in taps)  # the 1×1 lateral convolutions
    assert info.params == inner + 3 * (CONV3 + 256)
    assert info.macs == sum(c * 256 * s * s + CONV3 * s * s for c, s in taps)


@pytest.mark.parametrize("width, kept", [(128, 100), (1024, 1000)])
def test_faster_rcnn_counts_torchvisions_rpn_box_head_and_predictor(width, kept):
    graph = detector()
    graph.set_params("det", {"box_head_width": width, "proposals_test": kept})
    info = Analyzer().analyze(graph).nodes["det"]
    modules = (RPNHead(256, 3), TwoMLPHead(256 * 7 * 7, width), FastRCNNPredictor(width, 4))
    assert info.params == sum(_params(m) for m in modules)
    assert info.out_shape == Detections((4,)) and "4 classes" in shape_text(info.out_shape)
    proposals = min(kept, 3 * POSITIONS)  # kept at test time, at most one per anchor
    rpn = POSITIONS * (CONV3 + 256 * (3 + 12))
    boxes = proposals * (256 * 49 * width + width * width + width * (4 + 16))
    assert info.macs == rpn + boxes


def test_faster_rcnn_settings_reach_torchvisions_model():
    from resnet_studio.compiler import build

    graph = detector()
    graph.set_params("det", {"sampled_regions": 32, "proposals_train": 200,
                             "proposals_test": 50, "box_head_width": 64})
    model = build(graph)
    assert model.roi_heads.fg_bg_sampler.batch_size_per_image == 32
    assert model.rpn._post_nms_top_n == {"training": 200, "testing": 50}
    assert model.rpn._pre_nms_top_n == {"training": 400, "testing": 150}
    assert model.roi_heads.box_head.fc7.out_features == 64
    assert model.roi_heads.box_predictor.cls_score.out_features == 4


def test_retinanet_counts_torchvisions_head_on_every_level():
    info = Analyzer().analyze(detector("retinanet")).nodes["det"]
    assert info.params == _params(RetinaNetHead(256, 9, 4))  # 3 sizes × 3 ratios
    per_position = 8 * CONV3 + 256 * 9 * (9 * 4 + 9 * 4)  # two towers, two predictions
    assert info.macs == POSITIONS * per_position


def test_segmentation_heads_give_class_scores_at_the_input_size():
    fcn = Analyzer().analyze(segmenter()).nodes["seg"]
    assert fcn.out_shape == (4, 64, 64)
    assert fcn.params == _params(FCNHead(512, 4))
    assert fcn.macs == (512 * 128 * 9 + 128 * 4) * 2 * 2  # on layer4's 2×2 map
    deeplab = Analyzer().analyze(segmenter("deeplabv3_head")).nodes["seg"]
    assert deeplab.params == _params(DeepLabHead(512, 4, (12, 24, 36)))
    assert deeplab.out_shape == (4, 64, 64)


def test_the_class_count_and_size_follow_the_input_specification():
    spec = SPEC.__class__(channels=1, height=96, width=128, classes=7)
    analysis = Analyzer().analyze(segmenter(spec=spec))
    assert not errors(analysis)
    assert analysis.nodes["seg"].out_shape == (7, 96, 128)
    det = Analyzer().analyze(detector(spec=spec)).nodes["det"]
    assert det.out_shape == Detections((7,))
    assert det.op.kwargs["box_predictor"].args == (128, 7)  # the classes, background included
    assert det.op.kwargs["image_mean"] == [0.0] and det.op.kwargs["min_size"] == 96


def test_pyramids_differing_only_in_their_taps_are_different_shapes():
    levels = ((256, 4, 4), (256, 2, 2), (256, 1, 1))
    assert Pyramid(levels, 2) != Pyramid(levels, 3) and Pyramid(levels, 2) == Pyramid(levels, 2)
    assert hash(Pyramid(levels, 2)) != hash(Pyramid(levels, 3))
    assert Pyramid(levels, 3) != levels
