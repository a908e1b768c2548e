"""Heads: torchvision's feature pyramid, detectors and segmentation heads as blocks.

Wiring stages into an ``fpn`` and the FPN into ``faster_rcnn`` or ``retinanet`` makes the
project a detector; wiring one stage into ``fcn_head`` or ``deeplabv3_head`` makes it a
segmenter (``compiler.task``). The compiler builds torchvision's own modules around the
backbone the graph builds; the blocks here say what each head takes, checks its inputs and
describes the torchvision constructor, with the project's class count and input size (the
``context`` of a BlockType) filled in, so the user never types them twice.

The model follows torchvision's contract: images already normalised and at the input's size,
so the detectors' internal transform neither normalises (mean 0, std 1) nor resizes (min and
max size are the input's). Anchors for small inputs: level i of the pyramid gets the size
``max(4, min(H, W) // 8) · 2^i`` with aspect ratios 0.5, 1 and 2 (8 … 128 for 64×64 images);
RetinaNet's levels add the sizes 2^(1/3) and 2^(2/3) larger (nine anchors a position).
"""

from __future__ import annotations

from itertools import pairwise

from ..graph import PortSpec
from ..lazy import LazyModule
from .base import BlockType, Call, Catalogue, Pyramid, shape_text
from .specs import FMAP, float_param, int_param, spec

ops = LazyModule("torchvision.ops")
detection = LazyModule("torchvision.models.detection")
anchor_utils = LazyModule("torchvision.models.detection.anchor_utils")
faster_rcnn = LazyModule("torchvision.models.detection.faster_rcnn")
fcn = LazyModule("torchvision.models.segmentation.fcn")
deeplabv3 = LazyModule("torchvision.models.segmentation.deeplabv3")
modules = LazyModule("resnet_studio.blocks.heads_modules")

HEADS = "Heads"
PYRAMID, DETECTIONS, CLASS_MAPS = "pyramid", "detections", "class_maps"
LEVELS = 5  # maps in every pyramid: torchvision's detectors are laid out for five
RATIOS = (0.5, 1.0, 2.0)
ROI_SIZE, ROI_SAMPLING = 7, 2  # torchvision's Faster R-CNN defaults
SPEC_CONTEXT = ("channels", "height", "width", "classes")
DETECTION_HEADS = ("faster_rcnn", "retinanet")
SEGMENTATION_HEADS = ("fcn_head", "deeplabv3_head")


def feature_names(count: int) -> list[str]:
    """The keys of the backbone's ``count`` features: "0", "1", … as torchvision's."""
    return [str(i) for i in range(count)]


def anchor_sizes(height: int, width: int, levels: int = LEVELS,
                 octaves: int = 1) -> tuple[tuple[int, ...], ...]:
    """Anchor sizes per pyramid level, doubling from ``max(4, min(H, W) // 8)``; with
    ``octaves=3`` each level also has the sizes 2^(1/3) and 2^(2/3) larger, as RetinaNet's
    (Lin et al. 2017 §4, torchvision's ``retinanet_resnet50_fpn``: int() of each)."""
    base = max(4, min(height, width) // 8)
    return tuple(tuple(int(base * 2 ** i * 2 ** (k / octaves)) for k in range(octaves))
                 for i in range(levels))


# ----- checks ----------------------------------------------------------------------------------
def _flattened(shape, what: str) -> str:
    return (f"{what} needs a feature map (C×H×W) but receives the flattened "
            f"{shape_text(shape)} tensor; take it from a stage, before global pooling / Flatten.")


def _halves(finer, coarser) -> bool:
    """``coarser`` is ``finer`` downsampled by 2 (rounded either way)."""
    return all(c < f and c in (f // 2, (f + 1) // 2) for f, c in zip(finer[1:], coarser[1:]))


def _fpn_check(p, shapes):
    for number, shape in enumerate(shapes, 1):
        if isinstance(shape, Pyramid):
            return "takes stage outputs (feature maps), not another pyramid."
        if len(shape) != 3:
            return _flattened(shape, f"input {number}")
    if len(shapes) < 2:
        return ("needs two or more stage outputs, finest first (for example layer2, layer3 and "
                "layer4); it has one.")
    for number, (finer, coarser) in enumerate(pairwise(shapes), 1):
        if not _halves(finer, coarser):
            return (f"inputs {number} ({shape_text(finer)}) and {number + 1} "
                    f"({shape_text(coarser)}) are not strides doubling from one to the next; "
                    "connect stages finest first, each half the size of the one before.")
    return None


def _classes_problem(p, task: str) -> str | None:
    if p["classes"] < 2:
        return (f"a {task} needs at least 2 classes (the background and one more) but the "
                f"project has {p['classes']}; raise the input specification's classes.")
    return None


def _detection_check(p, shapes):
    shape = shapes[0]
    if not isinstance(shape, Pyramid):
        if len(shape) != 3:
            return _flattened(shape, "a detection head")
        return (f"takes the feature pyramid of an FPN block, not the single {shape_text(shape)} "
                "feature map; wire two or more stages into an FPN and the FPN into this head.")
    return _classes_problem(p, "detector")


def _segmentation_check(p, shapes):
    shape = shapes[0]
    if isinstance(shape, Pyramid):
        return ("takes one feature map (for example layer4), not the pyramid of an FPN; only "
                "detection heads take a pyramid.")
    if len(shape) != 3:
        return _flattened(shape, "a segmentation head")
    if shape[0] < 4:
        return f"needs at least 4 input channels (it narrows them by 4); it gets {shape[0]}."
    return _classes_problem(p, "segmenter")


# ----- constructors ----------------------------------------------------------------------------
def _fpn(p, shapes):
    extra = max(0, LEVELS - len(shapes))
    blocks = Call(modules.MaxPoolLevels, (extra,)) if extra else None
    return Call(ops.FeaturePyramidNetwork, ([s[0] for s in shapes], p["out_channels"]),
                dict(extra_blocks=blocks))


def _transform(p) -> dict:
    """The detectors' internal transform: no resizing, no normalisation (see the module)."""
    return dict(min_size=min(p["height"], p["width"]), max_size=max(p["height"], p["width"]),
                image_mean=[0.0] * p["channels"], image_std=[1.0] * p["channels"])


def _anchors(p, pyramid, octaves: int = 1):
    sizes = anchor_sizes(p["height"], p["width"], len(pyramid), octaves)
    return Call(anchor_utils.AnchorGenerator, (sizes, (RATIOS,) * len(pyramid)))


def _faster_rcnn(p, shapes):
    pyramid = shapes[0]
    pool = Call(ops.MultiScaleRoIAlign, (feature_names(pyramid.taps),),
                dict(output_size=ROI_SIZE, sampling_ratio=ROI_SAMPLING))
    width = p["box_head_width"]
    return Call(detection.FasterRCNN, (), dict(
        num_classes=None, **_transform(p), rpn_anchor_generator=_anchors(p, pyramid),
        rpn_pre_nms_top_n_train=2 * p["proposals_train"],
        rpn_post_nms_top_n_train=p["proposals_train"],
        rpn_pre_nms_top_n_test=3 * p["proposals_test"],
        rpn_post_nms_top_n_test=p["proposals_test"],
        box_roi_pool=pool,
        box_head=Call(faster_rcnn.TwoMLPHead, (pyramid[0][0] * ROI_SIZE ** 2, width)),
        box_predictor=Call(faster_rcnn.FastRCNNPredictor, (width, p["classes"])),
        box_batch_size_per_image=p["sampled_regions"], box_score_thresh=p["score_thresh"],
        box_detections_per_img=p["detections"]))


def _retinanet(p, shapes):
    return Call(detection.RetinaNet, (), dict(
        num_classes=p["classes"], **_transform(p),
        anchor_generator=_anchors(p, shapes[0], octaves=3), score_thresh=p["score_thresh"],
        detections_per_img=p["detections"]))


def _fcn_head(p, shapes):
    return Call(fcn.FCNHead, (shapes[0][0], p["classes"]))


def _deeplabv3_head(p, shapes):
    rate = p["atrous_rate"]
    return Call(deeplabv3.DeepLabHead, (shapes[0][0], p["classes"]),
                dict(atrous_rates=(rate, 2 * rate, 3 * rate)))


# ----- catalogue -------------------------------------------------------------------------------
def _head_ports(kind_in: str, kind_out: str) -> dict:
    return dict(inputs=(PortSpec("in", kind_in),), outputs=(PortSpec("out", kind_out),))


def _detector_params(detections: int) -> tuple:
    return (float_param("score_thresh", 0.05, 0.0, 1.0, "Detections scoring below this are "
                        "dropped at inference."),
            int_param("detections", detections, 1, 10_000, "The most detections kept per image."))


def _two_stage_params() -> tuple:
    """The box head's size and how many regions it sees: torchvision's defaults (1024 wide,
    512 regions a training image, 2000 / 1000 proposals) are sized for 800-pixel COCO images;
    on small images these smaller ones train many times faster and lose nothing measurable."""
    return (int_param("box_head_width", 128, 16, 4096, "Width of the box head's two layers "
                      "(torchvision: 1024)."),
            int_param("sampled_regions", 64, 8, 4096, "Regions a training image gives the box "
                      "head (torchvision: 512)."),
            int_param("proposals_train", 300, 10, 10_000, "Proposals kept per image after "
                      "NMS in training, of twice as many before (torchvision: 2000)."),
            int_param("proposals_test", 100, 10, 10_000, "Proposals kept per image after NMS "
                      "at inference, of three times as many before (torchvision: 1000)."))


def register_heads(cat: Catalogue) -> None:
    detect = dict(check=_detection_check, context=SPEC_CONTEXT)
    segment = dict(check=_segmentation_check, context=SPEC_CONTEXT)
    for block in [
        BlockType(spec("fpn", "FPN", HEADS, "Feature pyramid (Lin et al. 2017): two or more stage "
                       "outputs, finest first, become five maps of equal width (the missing "
                       "coarse levels max-pooled); feeds a detection head.",
                       int_param("out_channels", 256, 8, 4096, "Channels of every pyramid map."),
                       inputs=(PortSpec("in", FMAP, multi=True),),
                       outputs=(PortSpec("out", PYRAMID),)), _fpn, _fpn_check),
        BlockType(spec("faster_rcnn", "Faster R-CNN", HEADS, "Two-stage detection head (Ren et "
                       "al. 2015): region proposals from the pyramid, then a box classifier; "
                       "torchvision's FasterRCNN. Classes: the project's, background included.",
                       *_detector_params(100), *_two_stage_params(),
                       **_head_ports(PYRAMID, DETECTIONS)),
                  _faster_rcnn, **detect),
        BlockType(spec("retinanet", "RetinaNet", HEADS, "One-stage detection head with the "
                       "focal loss (Lin et al. 2017); torchvision's RetinaNet.",
                       *_detector_params(300), **_head_ports(PYRAMID, DETECTIONS)),
                  _retinanet, **detect),
        BlockType(spec("fcn_head", "FCN head", HEADS, "Per-pixel class scores from one feature "
                       "map (Long et al. 2015), upsampled to the input's size; torchvision's "
                       "FCNHead.", **_head_ports(FMAP, CLASS_MAPS)), _fcn_head, **segment),
        BlockType(spec("deeplabv3_head", "DeepLabV3 head", HEADS, "Atrous spatial pyramid "
                       "pooling (Chen et al. 2017) on one feature map, upsampled to the input's "
                       "size; torchvision's DeepLabHead.",
                       int_param("atrous_rate", 12, 1, 64, "Dilation of the first atrous branch; "
                                 "the others use twice and three times it."),
                       **_head_ports(FMAP, CLASS_MAPS)), _deeplabv3_head, **segment),
    ]:
        cat.register(block)
