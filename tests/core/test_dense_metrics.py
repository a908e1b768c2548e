"""The dense tasks' metrics on hand-made cases whose values are known."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from resnet_studio.train.dense_metrics import (
    MissingExtra,
    detection_scores,
    mean_average_precision,
    segmentation_scores,
    update_confusion,
)

TRUE = [{"boxes": torch.tensor([[10.0, 10.0, 20.0, 20.0], [30.0, 5.0, 50.0, 15.0]]),
         "labels": torch.tensor([1, 2])}]


def scores(boxes, labels=(1, 2), confidence=(0.9, 0.8)):
    metric = mean_average_precision()
    metric.update([{"boxes": torch.tensor(boxes, dtype=torch.float32),
                    "labels": torch.tensor(labels), "scores": torch.tensor(confidence)}], TRUE)
    return detection_scores(metric)


def test_perfect_boxes_give_map_one():
    assert scores(TRUE[0]["boxes"].tolist()) == {"map": pytest.approx(1.0),
                                                 "map_50": pytest.approx(1.0)}


def test_a_wrong_label_scores_nothing():
    assert scores(TRUE[0]["boxes"].tolist(), labels=(2, 1)) == {"map": 0.0, "map_50": 0.0}


@pytest.mark.parametrize("shift, iou, map_50, map_all", [
    (2.0, 8 / 12, 1.0, 0.4),   # IoU 0.667 passes the thresholds 0.50, 0.55, 0.60, 0.65
    (3.0, 7 / 13, 1.0, 0.1),   # IoU 0.538 passes 0.50 only
    (4.0, 6 / 14, 0.0, 0.0),   # IoU 0.429 passes none
])
def test_boxes_shifted_by_a_known_amount_score_their_known_iou(shift, iou, map_50, map_all):
    """Shifting both 10-pixel-wide boxes by ``shift`` pixels in x leaves an IoU of
    (10 − s) / (10 + s) for the first; the second is 20 wide and is shifted by 2·s."""
    from torchvision.ops import box_iou

    first = [10.0 + shift, 10.0, 20.0 + shift, 20.0]
    second = [30.0 + 2 * shift, 5.0, 50.0 + 2 * shift, 15.0]  # the same IoU: (20−2s)/(20+2s)
    ious = box_iou(torch.tensor([first, second]), TRUE[0]["boxes"]).diagonal()
    assert ious.tolist() == pytest.approx([iou, iou], abs=1e-6)
    got = scores([first, second])
    assert got["map_50"] == pytest.approx(map_50)
    assert got["map"] == pytest.approx(map_all)


def test_missing_torchmetrics_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name.startswith("torchmetrics"):
            raise ModuleNotFoundError("No module named 'torchmetrics'", name="torchmetrics")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(MissingExtra, match=r"pip install 'resnet-studio\[dense\]'"):
        mean_average_precision()


def _confusion(predicted, target, classes=3):
    flat = torch.zeros(classes * classes, dtype=torch.long)
    update_confusion(flat, torch.tensor(predicted), torch.tensor(target), classes)
    return flat.numpy().reshape(classes, classes)


def test_a_perfect_mask_gives_iou_one():
    mask = [[0, 1, 1], [2, 2, 0]]
    assert segmentation_scores(_confusion(mask, mask)) == {"miou": 1.0, "pixel_acc": 1.0}


def test_a_mask_with_known_overlaps_gives_the_known_mean_iou():
    # class 0: TP 2, FP 1, FN 0 → 2/3; class 1: TP 1, FP 0, FN 1 → 1/2; class 2 absent from
    # both (no IoU, left out of the mean); the 255 pixel is not counted anywhere.
    target = [[0, 0, 1, 1, 255]]
    predicted = [[0, 0, 0, 1, 2]]
    matrix = _confusion(predicted, target)
    assert matrix.sum() == 4
    got = segmentation_scores(matrix)
    assert got["miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert got["pixel_acc"] == pytest.approx(3 / 4)


def test_a_class_only_predicted_counts_with_iou_zero():
    got = segmentation_scores(_confusion([[0, 2]], [[0, 0]]))
    assert got["miou"] == pytest.approx((1 / 2 + 0.0) / 2)


def test_mean_iou_agrees_with_torchmetrics_on_random_masks():
    from torchmetrics.classification import MulticlassJaccardIndex

    gen = torch.Generator().manual_seed(3)
    target = torch.randint(0, 4, (6, 17, 19), generator=gen)
    predicted = torch.where(torch.rand(target.shape, generator=gen) < 0.6, target,
                            torch.randint(0, 4, target.shape, generator=gen))
    target[0, :3] = 255
    flat = torch.zeros(16, dtype=torch.long)
    update_confusion(flat, predicted, target, 4)
    ours = segmentation_scores(flat.numpy().reshape(4, 4))
    theirs = MulticlassJaccardIndex(4, average="macro", ignore_index=255)(predicted, target)
    assert ours["miou"] == pytest.approx(float(theirs), abs=1e-6)
    kept = target != 255
    assert ours["pixel_acc"] == pytest.approx(float((predicted == target)[kept].float().mean()))


def test_an_empty_confusion_scores_zero_not_nan():
    assert segmentation_scores(np.zeros((3, 3))) == {"miou": 0.0, "pixel_acc": 0.0}
