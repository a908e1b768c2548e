"""The small rules of the dense analyses, on hand-made cases: which class a segmenter's
explanation targets, which stage it uses, what it returns besides the maps, the segmentation
loss signal-at-init measures, and the batches it measures on."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from heads_graphs import segmenter
from torch import nn

from resnet_studio.analysis.common import AnalysisError, Cancelled
from resnet_studio.analysis.dense import run_dense_batch, shapes_batch, task_loss
from resnet_studio.analysis.explain_dense import _target, backbone_stage, explain_segmentation
from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _predicted(*counts: int) -> torch.Tensor:
    """A flat map with ``counts[k]`` pixels of class k, shuffled."""
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(counts)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]


@pytest.mark.parametrize("counts, expected", [
    ((10, 3, 5, 1), 2),   # the most covered class besides the background, not the background
    ((10, 6, 5, 1), 1),   # … which may be class 1
    ((99, 1, 0, 0), 1),   # one foreground pixel is enough
    ((12, 0, 0, 0), 0),   # nothing but background: the background
    ((0, 0, 4, 4), 2),    # a tie: the first
])
def test_the_default_target_is_the_most_covered_foreground_class(counts, expected):
    assert _target(_predicted(*counts), 4, None) == expected


def test_a_class_asked_for_is_kept_when_it_exists_and_refused_otherwise():
    predicted = _predicted(5, 5)
    assert _target(predicted, 3, 0) == 0 and _target(predicted, 3, 2) == 2
    for bad in (-1, 3):
        with pytest.raises(AnalysisError, match=f"^class {bad} does not exist; the network has "
                                                "3.$"):
            _target(predicted, 3, bad)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build(segmenter()).eval()


def _image() -> torch.Tensor:
    return torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(5))


def test_an_explanation_ranks_classes_by_pixel_share_names_them_and_keeps_stage_maps(model):
    result = explain_segmentation(model, _image(), MEAN, STD, method="saliency", top_k=2,
                                  channels=3)
    x = (_image() - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    with torch.no_grad():
        shares = np.bincount(model(x[None])["out"][0].argmax(0).flatten().numpy(),
                             minlength=4) / 64 / 64
    order = sorted(range(4), key=lambda k: -shares[k])[:2]
    assert result.classes == [str(k) for k in order]  # no names given: the class numbers
    assert result.probabilities == pytest.approx([shares[k] for k in order])
    assert list(result.feature_maps) == ["layer1", "layer2", "layer3", "layer4"]
    assert [m.shape[0] for m in result.feature_maps.values()] == [3, 3, 3, 3]
    assert result.feature_maps["layer2"].shape[1:] == (8, 8)  # 64 px / stride 8


def test_a_bad_method_and_a_cancel_are_refused(model):
    with pytest.raises(AnalysisError, match="unknown attribution method ‘occlusion’; choose "
                                            "integrated_gradients or saliency"):
        explain_segmentation(model, _image(), MEAN, STD, method="occlusion")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        explain_segmentation(model, _image(), MEAN, STD, method="saliency", cancel=cancel)


def test_the_stage_lookup_names_the_backbone():
    model = build(segmenter())
    assert backbone_stage(model, None)[0] == "layer4"
    with pytest.raises(AnalysisError, match=r"^the backbone has no stage ‘fc’"):
        backbone_stage(model, "fc")
    empty = nn.Module()
    empty.backbone = nn.Sequential(nn.ReLU())
    with pytest.raises(AnalysisError, match="backbone has no convolutional stage"):
        backbone_stage(empty, None)


class _TwoHeads(nn.Module):
    """Fixed per-pixel scores for ``out`` and ``aux``, whatever the input."""

    def __init__(self, out: torch.Tensor, aux: torch.Tensor | None):
        super().__init__()
        self.out, self.aux = out, aux

    def forward(self, x):
        return {"out": self.out} if self.aux is None else {"out": self.out, "aux": self.aux}


def _cross_entropy_by_hand(scores: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over the pixels not marked 255 of −log softmax at the true class."""
    log_p = scores.log_softmax(1).permute(0, 2, 3, 1).reshape(-1, scores.shape[1])
    labels = y.reshape(-1)
    kept = labels != 255
    return float(-log_p[kept, labels[kept]].mean())


def test_the_segmentation_loss_ignores_255_and_adds_half_the_auxiliary_heads():
    gen = torch.Generator().manual_seed(2)
    out, aux = torch.randn(2, 3, 4, 4, generator=gen), torch.randn(2, 3, 4, 4, generator=gen)
    y = torch.randint(0, 3, (2, 4, 4), generator=gen)
    y[0, :2] = 255  # ignored pixels
    x = torch.zeros(2, 3, 4, 4)
    alone = task_loss(_TwoHeads(out, None), x, y, "segmentation")
    both = task_loss(_TwoHeads(out, aux), x, y, "segmentation")
    assert float(alone) == pytest.approx(_cross_entropy_by_hand(out, y), rel=1e-6)
    assert float(both) == pytest.approx(_cross_entropy_by_hand(out, y)
                                        + 0.5 * _cross_entropy_by_hand(aux, y), rel=1e-6)
    assert float(task_loss(lambda x: out[:, :, 0, 0], x, y[:, 0, 0].clamp(max=2),
                           "classification")) == pytest.approx(
        float(F.cross_entropy(out[:, :, 0, 0], y[:, 0, 0].clamp(max=2))))


def test_the_shapes_batch_is_drawn_at_the_networks_input_and_repeats_with_its_seed():
    spec = InputSpec(channels=1, height=48, width=40, classes=4)
    x, masks = shapes_batch(spec, "segmentation", 3, seed=4)
    assert tuple(x.shape) == (3, 1, 48, 40) and tuple(masks.shape) == (3, 48, 40)
    again, again_masks = shapes_batch(spec, "segmentation", 3, seed=4)
    assert torch.equal(x, again) and torch.equal(masks, again_masks)
    other, _ = shapes_batch(spec, "segmentation", 3, seed=5)
    assert not torch.equal(x, other)


def test_a_runs_batch_may_take_the_whole_validation_split_and_no_more():
    class Val:
        size = 4

        def batch(self, indices):
            return indices, None

    data = type("Data", (), {"val": Val()})()
    assert run_dense_batch(data, 4)[0] == [0, 1, 2, 3]
    with pytest.raises(AnalysisError, match="holds 4 images, fewer than the batch of 5; lower "
                                            "--batch-size"):
        run_dense_batch(data, 5)


def test_a_segmenters_explanation_reports_its_steps(model):
    calls = []
    explain_segmentation(model, _image(), MEAN, STD, method="saliency", layer="layer3",
                         progress=lambda done, total, text: calls.append((done, total, text)))
    assert calls == [(0, 3, "prediction and feature maps"), (1, 3, "Grad-CAM on layer3"),
                     (2, 3, "saliency"), (3, 3, "done")]
