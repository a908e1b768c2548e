"""The validation loop the tasks share (train.task.evaluate) and each task's use of it:
eval mode over the validation split and train mode after, channels-last and autocast as the
engine asks, sums over the ranks only when each saw a share, and the numbers each task's
``validate`` makes of it, computed here a second way."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.train import distributed
from resnet_studio.train.dense_metrics import detection_scores, mean_average_precision
from resnet_studio.train.task import Context, evaluate
from resnet_studio.train.task_detection import DetectionTask
from resnet_studio.train.task_segmentation import IGNORE, SegmentationTask

CLASSES = 3


class Autocast:
    """A stand-in for the engine's autocast that says when it is entered."""

    def __init__(self):
        self.active = False
        self.entered = 0

    @contextlib.contextmanager
    def __call__(self):
        self.active, self.entered = True, self.entered + 1
        try:
            yield
        finally:
            self.active = False


class Probe(nn.Module):
    """A 1×1 convolution that records how each forward pass saw the model and its input."""

    def __init__(self, autocast: Autocast | None = None):
        super().__init__()
        self.conv = nn.Conv2d(3, CLASSES, 1)
        self.autocast = autocast
        self.seen: list[tuple[bool, bool, bool]] = []

    def forward(self, x):
        channels_last = x.is_contiguous(memory_format=torch.channels_last) \
            and not x.is_contiguous()
        active = self.autocast.active if self.autocast else False
        self.seen.append((self.training, channels_last, active))
        return self.conv(x)


def batches(sizes=(4, 2), seed=0, ignore=False):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in sizes:
        y = torch.randint(0, CLASSES, (n, 5, 5), generator=g)
        if ignore:
            y[:, 0, :] = IGNORE  # the top row of every image is left out
        out.append((torch.randn(n, 3, 5, 5, generator=g), y))
    return out


def data(val, val_size=None):
    info = SimpleNamespace(classes=CLASSES, val_size=val_size or sum(len(y) for _, y in val),
                           mean=(0.5,) * 3, std=(0.25,) * 3,
                           class_names=[f"c{i}" for i in range(CLASSES)])
    return SimpleNamespace(val=SimpleNamespace(epoch=lambda epoch: iter(val)), info=info)


def context(autocast=contextlib.nullcontext, channels_last=False, enabled=False):
    return Context(SimpleNamespace(enabled=enabled), channels_last, autocast, 3, 12)


def test_each_batch_runs_in_eval_mode_under_autocast_and_train_mode_comes_back():
    autocast = Autocast()
    model, during = Probe(autocast), []

    def per_batch(x, y, out):
        during.append(autocast.active)
        return len(y)

    seen = evaluate(model, data(batches()), context(autocast), per_batch)
    assert seen == 6
    assert model.seen == [(False, False, True)] * 2  # eval mode, as it came, in autocast
    assert during == [False, False] and autocast.entered == 2  # the sums outside autocast
    assert model.training


def test_train_mode_comes_back_when_a_batch_fails():
    model = Probe()

    def per_batch(x, y, out):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        evaluate(model, data(batches()), context(), per_batch)
    assert model.training and model.seen[0][0] is False


def test_batches_go_channels_last_when_the_engine_asks():
    model, inputs = Probe(), []
    evaluate(model, data(batches()), context(channels_last=True),
             lambda x, y, out: inputs.append(x) or len(y))
    assert [channels_last for _, channels_last, _ in model.seen] == [True, True]
    assert all(x.is_contiguous(memory_format=torch.channels_last) for x in inputs)


@pytest.mark.parametrize("enabled, val_size, reduced", [
    (True, 12, True),     # each rank saw a share of the split: sum over the ranks
    (True, 6, False),     # each rank saw all of it: the sums are already whole
    (False, 12, False)])  # not distributed
def test_the_sums_are_summed_over_ranks_only_when_each_saw_a_share(monkeypatch, enabled,
                                                                    val_size, reduced):
    calls = []
    monkeypatch.setattr(distributed, "all_reduce_sum", lambda t, env: calls.append(t))
    total, count = torch.zeros(()), torch.zeros(2)
    evaluate(Probe(), data(batches(), val_size), context(enabled=enabled),
             lambda x, y, out: len(y), sums=(total, count))
    assert calls == ([total, count] if reduced else [])
    assert all(a is b for a, b in zip(calls, (total, count)))


class Segmenter(nn.Module):
    """torchvision's segmentation output: {"out": logits, "aux": logits}; validation scores
    "out" only (a constant "aux" would add log 3 a pixel to the loss)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, CLASSES, 1)
        self.bn = nn.BatchNorm2d(CLASSES)

    def forward(self, x):
        out = self.bn(self.conv(x))
        return {"out": out, "aux": out * 0 + 100.0}


def test_segmentation_validation_matches_an_independent_evaluation():
    val, model = batches(ignore=True), Segmenter()
    model.bn.running_mean.fill_(0.3)  # eval mode must use these, train mode would not
    result = SegmentationTask().validate(model, data(val), torch.device("cpu"), context())
    loss, matrix = 0.0, np.zeros((CLASSES, CLASSES), dtype=np.int64)
    model.eval()
    with torch.no_grad():
        for x, y in val:
            out = model(x)["out"]
            loss += F.cross_entropy(out, y, ignore_index=IGNORE, reduction="sum").item()
            keep = (y != IGNORE).numpy()
            np.add.at(matrix, (y.numpy()[keep], out.argmax(1).numpy()[keep]), 1)
    np.testing.assert_array_equal(result.confusion, matrix)
    assert matrix.sum() == 6 * 4 * 5  # the ignored top rows are not counted
    assert result.loss == pytest.approx(loss / matrix.sum(), rel=1e-5)
    assert result.main == result.metrics["miou"]
    first = val[0][1][:4]
    assert (result.preview.true_masks == first.numpy()).all() and result.preview.epoch == 3


def test_segmentation_validation_leaves_the_model_in_train_mode():
    model = Segmenter()
    SegmentationTask().validate(model, data(batches()), torch.device("cpu"), context())
    assert model.training


class Detector(nn.Module):
    """torchvision's detection contract in miniature: a list of images in; in train mode
    (targets given) a dict of losses, in eval mode one box per image at the target's place
    for even images and far off for odd ones. Records what each call got."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.calls: list[tuple[str, bool, bool, bool]] = []

    def forward(self, images, targets=None):
        assert isinstance(images, list)
        self.calls.append(("losses" if targets else "detect", self.training, self.bn.training,
                           images[0].is_contiguous()))
        if targets:
            return {"a": torch.tensor(float(len(images))), "b": torch.tensor(0.5)}
        far = torch.tensor([[20.0, 20.0, 30.0, 30.0]])
        return [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]) if i % 2 == 0 else far,
                 "labels": torch.tensor([1]), "scores": torch.tensor([0.9])}
                for i in range(len(images))]


def test_detection_validation_scores_eval_detections_and_weights_losses_by_images():
    g = torch.Generator().manual_seed(1)
    target = {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([1])}
    val = [(torch.rand(n, 3, 8, 8, generator=g), [dict(target) for _ in range(n)])
           for n in (4, 2)]
    model = Detector()
    result = DetectionTask().validate(model, data(val), torch.device("cpu"),
                                      context(channels_last=True))
    # batch losses 4.5 (4 images) and 2.5 (2 images), weighted by images: (18 + 5) / 6
    assert result.loss == pytest.approx(23 / 6)
    metric = mean_average_precision()
    for x, targets in val:
        metric.update(Detector().eval()(list(x)), targets)
    expected = detection_scores(metric)
    assert 0.0 < expected["map_50"] < 1.0  # half the boxes are found
    assert result.metrics == pytest.approx(expected) and result.main == expected["map_50"]
    # detections in eval mode, losses in train mode with batch norm held; the images as
    # they came (the detector batches them itself), though the engine asked channels-last
    assert model.calls == [("detect", False, False, True), ("losses", True, False, True)] * 2
    assert model.training and model.bn.training
    assert len(result.preview.boxes) == 4 and result.preview.task == "detection"
