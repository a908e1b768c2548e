"""Hand-made records of dense runs (detection, segmentation) on the built-in shapes, for the
run-directory, history and Train-workspace tests. Predictions are the true targets moved
by a known amount, so that a drawing or a file read back can be checked against them."""

from __future__ import annotations

import numpy as np

from resnet_studio.data.dense.synthetic import CLASS_NAMES, draw_shapes
from resnet_studio.train.records import (
    EpochRecord,
    PreviewRecord,
    RunEndRecord,
    RunStartRecord,
    StepRecord,
)

LAYERS = ("conv1", "layer1", "head")
METRIC_KEYS = {"detection": ("map", "map_50"), "segmentation": ("miou", "pixel_acc")}
HEADS = {"detection": "faster_rcnn", "segmentation": "fcn_head", "classification": "linear"}
SHIFT = 2.0  # pixels the predicted boxes lie right of the true ones


def samples(count: int = 4, size: int = 64):
    return [draw_shapes(i, seed=3, height=size, width=size, split="val") for i in range(count)]


def detection_preview(epoch: int = 1, step: int = 4, count: int = 4,
                      size: int = 64) -> PreviewRecord:
    """Predicted boxes: each true box shifted right by ``SHIFT``, scores 0.9, 0.8, …, plus
    one low-scoring box (score 0.1) on image 0."""
    shots = samples(count, size)
    boxes, labels, scores = [], [], []
    for i, s in enumerate(shots):
        b = s.boxes.astype(np.float32) + np.array([SHIFT, 0, SHIFT, 0], np.float32)
        lab, sc = s.labels.copy(), 0.9 - 0.1 * np.arange(len(b), dtype=np.float32)
        if i == 0:
            b = np.vstack([b, [[1, 1, 9, 9]]]).astype(np.float32)
            lab, sc = np.append(lab, 1), np.append(sc, np.float32(0.1))
        boxes.append(b)
        labels.append(lab.astype(np.int64))
        scores.append(sc.astype(np.float32))
    return PreviewRecord(epoch, step, "detection", np.stack([s.image for s in shots]),
                         CLASS_NAMES, tuple(boxes), tuple(labels), tuple(scores),
                         tuple(s.boxes.astype(np.float32) for s in shots),
                         tuple(s.labels for s in shots))


def segmentation_preview(epoch: int = 1, step: int = 4, count: int = 4,
                         size: int = 64) -> PreviewRecord:
    """Predicted masks: the true masks rolled two pixels down; the true masks have an ignored
    (255) border row."""
    shots = samples(count, size)
    true = np.stack([s.mask for s in shots])
    true[:, 0, :] = 255
    predicted = np.roll(np.stack([s.mask for s in shots]), 2, axis=1)
    return PreviewRecord(epoch, step, "segmentation", np.stack([s.image for s in shots]),
                         CLASS_NAMES, masks=predicted, true_masks=true)


def metrics_of(task: str, epoch: int) -> dict[str, float]:
    if task == "classification":
        return {}
    first, second = METRIC_KEYS[task]
    return {first: 0.1 * epoch, second: 0.2 * epoch}


def dense_run(task: str, epochs: int = 3, per_epoch: int = 2, previews: bool = True) -> list:
    """A finished run of ``task``: start, steps, epochs (with their metrics; ``val_acc`` holds
    the main one, as the engine sends it), a preview after each validation, the end."""
    data = {"class_names": list(CLASS_NAMES), "channels": 3, "height": 64, "width": 64}
    graph = {"nodes": [{"id": "conv1", "type": "conv2d"}, {"id": "head", "type": HEADS[task]}]}
    k = 0 if task == "detection" else len(CLASS_NAMES)
    out: list = [RunStartRecord(LAYERS, ("Conv2d",) * 3, (1,) * 3, {"epochs": epochs}, data,
                                graph, "cpu", 1, per_epoch, epochs * per_epoch, 0, None)]
    for step in range(1, epochs * per_epoch + 1):
        train_acc = np.nan if task == "detection" else 0.5 + 0.01 * step
        out.append(StepRecord(step, (step - 1) // per_epoch + 1, 2.0 / step, train_acc, 0.01,
                              100.0, np.full(3, 0.1 * step)))
        if step % per_epoch == 0:
            epoch = step // per_epoch
            metrics = metrics_of(task, epoch)
            main = metrics.get("map_50", metrics.get("miou", 0.3 * epoch))
            out.append(EpochRecord(epoch, step, 1.0 / epoch, train_acc, 1.5 / epoch, main,
                                   np.eye(k, dtype=np.int64) * 10 * epoch, True, 1.0,
                                   metrics=metrics))
            if previews and task != "classification":
                make = detection_preview if task == "detection" else segmentation_preview
                out.append(make(epoch, step))
    out.append(RunEndRecord("finished", "done", epochs * per_epoch, epochs))
    return out
