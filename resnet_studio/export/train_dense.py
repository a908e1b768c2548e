"""Train this bundle's detector or segmenter: a standalone script exported by ResNet Studio.

It needs only PyTorch and torchvision (with the numpy and Pillow that torchvision installs)
and the files beside it: model.py, config.json, checkpoint.pt, rstudio_train.py (the settings,
processes, optimiser, learning-rate schedule and checkpoints it shares with a classifier's
train.py) and rstudio_data (ResNet Studio's own shapes generator, mask-folder reader, fitting
and augmentation, copied). It repeats the run recorded in config.json and by default goes on
from checkpoint.pt: its weights, optimiser and schedule state, epoch and batch.

    python train.py                                   # go on, with the recorded settings
    python train.py --epochs 30 --out runs/longer     # train to epoch 30
    python train.py --fresh --dataset masks:~/data/streets      # a segmenter on a mask folder
    torchrun --nproc-per-node 4 train.py              # 4 processes: one per GPU, or CPU ones

Data: the built-in shapes (shapes-detection, shapes-segmentation), drawn here as ResNet Studio
draws them for the same seed, or for a segmenter a mask folder (masks:PATH with PATH/images/,
PATH/masks/ and an optional classes.txt). COCO folders train in ResNet Studio itself.
Images are fitted to the network's input, cropped and flipped with their boxes and masks,
in the order and with the draws ResNet Studio uses for (seed, epoch, image).

Losses are torchvision's: a detector's loss dictionary summed (train mode), a segmenter's
cross-entropy ignoring 255 plus 0.5 × its auxiliary head's. Validation reports a detector's
summed losses (batch norm in eval mode) and COCO mAP@0.5, a segmenter's pixel loss and mean
IoU; best.pt holds the epoch with the highest mAP@0.5 or mean IoU, as in ResNet Studio.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if __package__:  # resnet_studio.export.train_dense, which the bundle export copies
    from . import train_script as base
else:  # the bundle's train.py: model.py, rstudio_train.py and rstudio_data lie beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import rstudio_train as base

DETECTION, SEGMENTATION = "detection", "segmentation"
#: head block → task, as in ResNet Studio (compiler.task.HEAD_TASKS)
HEAD_TASKS = {"faster_rcnn": DETECTION, "retinanet": DETECTION, "fcos": DETECTION,
              "fcn_head": SEGMENTATION, "deeplabv3_head": SEGMENTATION}
SHAPES = {"shapes-detection": DETECTION, "shapes-segmentation": SEGMENTATION}
MASKS_PREFIX, COCO_PREFIX = "masks:", "coco:"
IGNORE, AUX_WEIGHT = 255, 0.5
STATS_SAMPLE = 64  # fitted training images whose statistics normalise both splits
IOU, RECALLS = 0.5, torch.linspace(0, 1, 101)  # COCO's mAP@0.5: 101 recall points


# ----- data -----------------------------------------------------------------------------------
def project_task(project: dict) -> str:
    tasks = {HEAD_TASKS[n["type"]] for n in project["nodes"] if n["type"] in HEAD_TASKS}
    if len(tasks) != 1:
        sys.exit("train.py: error: this bundle's project has no single detection or "
                 "segmentation head; export it again from ResNet Studio")
    return tasks.pop()


def dense_sources(data: dict, task: str, shape: tuple[int, int, int]):
    """The training and validation sources (``len()``, ``load(i, channels)``, class names)."""
    name = data["dataset"]
    if SHAPES.get(name) == task:
        from rstudio_data.dense.synthetic import ShapesSource

        return tuple(ShapesSource(data[f"{split}_size"], data["seed"], shape[1], shape[2], split)
                     for split in ("train", "val"))
    if name.startswith(MASKS_PREFIX) and task == SEGMENTATION:
        return mask_sources(data, name[len(MASKS_PREFIX):])
    sys.exit(f"train.py: error: dataset {name!r} cannot train this {task} network here; "
             + ("choose shapes-detection (COCO folders train in ResNet Studio itself)"
                if task == DETECTION else "choose shapes-segmentation or masks:PATH"))


def mask_sources(data: dict, folder: str):
    from rstudio_data.config import DataError
    from rstudio_data.dense.sample import split_indices
    from rstudio_data.dense.voc import read_masks

    try:
        train = read_masks(folder)
        if data.get("val_folder"):
            return train, read_masks(data["val_folder"])
        keep, held = split_indices(len(train), data["val_fraction"], data["seed"])
    except DataError as exc:
        sys.exit(f"train.py: error: {exc}")
    return train.subset(keep), train.subset(held)


class DenseSplit:
    """A source's samples fitted to the network's input and (training) augmented, as ResNet
    Studio's DenseDataset serves them: augmentation drawn from (seed, epoch, index)."""

    def __init__(self, source, shape, augment, seed: int, stats=None):
        self.source, self.shape, self.augment, self.seed = source, shape, augment, seed
        self.class_names = tuple(source.class_names)
        self.mean, self.std = stats if stats is not None else self._stats()

    def __len__(self) -> int:
        return len(self.source)

    def sample(self, index: int, epoch: int = 0):
        from rstudio_data.dense.transforms import augment_sample, fit_sample

        sample = fit_sample(self.source.load(index, self.shape[0]), self.shape)
        if self.augment is not None and self.augment.active:
            sample = augment_sample(sample, self.augment,
                                    np.random.default_rng((self.seed, epoch, index)))
        return sample

    def _stats(self):
        from rstudio_data.dense.transforms import fit_sample
        from rstudio_data.source import channel_stats

        step = max(1, len(self) // STATS_SAMPLE)
        picks = range(0, len(self), step)[:STATS_SAMPLE]
        images = np.stack([fit_sample(self.source.load(i, self.shape[0]), self.shape).image
                           for i in picks])
        return channel_stats(torch.from_numpy(images.transpose(0, 3, 1, 2)))

    def batch(self, indices, epoch: int, task: str, norm, device):
        """(images B×C×H×W normalised, targets: masks B×H×W or a list of box dicts)."""
        samples = [self.sample(int(i), epoch) for i in indices]
        pixels = torch.from_numpy(np.stack([s.image.transpose(2, 0, 1) for s in samples]))
        images = norm.from_uint8(pixels.to(device))
        if task == SEGMENTATION:
            masks = np.stack([s.mask for s in samples]).astype(np.int64)
            return images, torch.from_numpy(masks).to(device)
        return images, [{"boxes": torch.from_numpy(s.boxes.astype(np.float32).reshape(-1, 4))
                         .to(device), "labels": torch.from_numpy(s.labels.astype(np.int64))
                         .to(device)} for s in samples]


class DenseBatches:
    """Shuffled training batches: this process's share of the epoch, as in ResNet Studio."""

    def __init__(self, split: DenseSplit, batch_size: int, seed: int, env, task: str, norm,
                 device):
        self.split, self.batch_size, self.seed, self.env = split, batch_size, seed, env
        self.task, self.norm, self.device = task, norm, device

    def __len__(self) -> int:
        return (len(self.split) // self.env.world) // self.batch_size

    def epoch(self, epoch: int, start: int = 0):
        order = base.epoch_order(len(self.split), epoch, self.seed, self.env.rank,
                                 self.env.world)
        chunks = order[: len(self) * self.batch_size].split(self.batch_size)
        for batch in range(start, len(chunks)):
            yield (batch, *self.split.batch(chunks[batch], epoch, self.task, self.norm,
                                            self.device))


def dense_augment(data: dict):
    from rstudio_data.dense.transforms import DenseAugment

    if not data["augment"]:
        return DenseAugment()
    return DenseAugment(crop_padding=data["crop_padding"], flip=data.get("flip") is not False)


# ----- scores ---------------------------------------------------------------------------------
def average_precision_50(found: list[dict], truth: list[dict]) -> float:
    """COCO's mAP@0.5 (all areas, up to 100 detections per image and class): per class,
    detections in descending score matched greedily to the unmatched true box of highest
    IoU ≥ 0.5, the precision envelope read at 101 recall points; the mean over the classes
    that have true boxes."""
    classes = sorted({int(c) for t in truth for c in t["labels"]})
    aps = [_class_ap(found, truth, c) for c in classes]
    return sum(aps) / len(aps) if aps else 0.0  # no true box: 0, as in ResNet Studio


def _class_ap(found: list[dict], truth: list[dict], c: int) -> float:
    from torchvision.ops import box_iou

    scores, hits, total = [], [], 0
    for f, t in zip(found, truth):
        mine = (f["labels"] == c).nonzero().flatten()
        mine = mine[f["scores"][mine].argsort(descending=True, stable=True)][:100]
        gt = t["boxes"][t["labels"] == c]
        total += len(gt)
        scores.append(f["scores"][mine])
        hits.append(_matches(box_iou(f["boxes"][mine], gt)))
    order = torch.cat(scores).argsort(descending=True, stable=True)
    tp = torch.cat(hits)[order].double().cumsum(0)
    if not len(tp):
        return 0.0
    precision = tp / torch.arange(1, len(tp) + 1, dtype=torch.float64)
    envelope = precision.flip(0).cummax(0).values.flip(0)
    at = torch.searchsorted(tp / total, RECALLS.double(), side="left")
    return float(torch.where(at < len(tp), envelope[at.clamp(max=len(tp) - 1)], 0.0).mean())


def _matches(iou: torch.Tensor) -> torch.Tensor:
    """Whether each detection (rows, in descending score) takes a true box (columns): the
    free one of highest IoU ≥ 0.5, as COCO's evaluation matches."""
    taken = torch.zeros(iou.shape[1], dtype=torch.bool)
    hit = torch.zeros(iou.shape[0], dtype=torch.bool)
    for d in range(iou.shape[0]):
        free = iou[d].masked_fill(taken, -1.0)
        if free.numel() and float(free.max()) >= IOU:
            taken[int(free.argmax())] = hit[d] = True
    return hit


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean over the classes present (in truth or prediction) of TP / (TP + FP + FN)."""
    tp = confusion.diag().double()
    union = confusion.sum(0) + confusion.sum(1) - confusion.diag()
    present = union > 0
    return float((tp[present] / union[present]).mean()) if present.any() else 0.0


# ----- the run --------------------------------------------------------------------------------
class DenseRun(base.Run):
    """The classifier's run with the dense task's data, loss and validation."""

    def _data(self) -> None:
        from rstudio_data.augment import Normaliser

        data, spec = self.cfg["data"], self.project["input"]
        self.task = project_task(self.project)
        self.SCORE = "mAP@0.5" if self.task == DETECTION else "mean IoU"
        net_shape = (spec["channels"], spec["height"], spec["width"])
        shape = net_shape if data.get("fit", "network") == "network" else (
            data["channels"], data["image_size"], data["image_size"])
        if shape != net_shape:
            sys.exit(f"train.py: error: the data are served at {shape}, the network takes "
                     f"{net_shape}; set data.fit to network in config.json")
        train_src, val_src = dense_sources(data, self.task, shape)
        train = DenseSplit(train_src, shape, dense_augment(data), data["seed"])
        if len(train.class_names) > spec["classes"]:
            sys.exit(f"train.py: error: the dataset has {len(train.class_names)} classes, the "
                     f"network {spec['classes']}; export a project with a matching head")
        self.norm = Normaliser(train.mean, train.std, self.device)
        self.val = DenseSplit(val_src, shape, None, data["seed"], (train.mean, train.std))
        self.train = DenseBatches(train, self.cfg["batch_size"], data["seed"], self.env,
                                  self.task, self.norm, self.device)
        if len(self.train) == 0:
            sys.exit(f"train.py: error: {len(train)} training images do not fill one batch of "
                     f"{self.cfg['batch_size']} per process; lower --batch-size")

    def _loss(self, x, y):
        if self.task == DETECTION:
            losses = self.net(list(x), y)
            loss = torch.stack([v.float() for v in losses.values()]).sum()
            return loss, torch.tensor(float("nan"), device=x.device), len(y)
        result = self.net(x)
        loss = F.cross_entropy(result["out"], y, ignore_index=IGNORE)
        if result.get("aux") is not None:
            loss = loss + AUX_WEIGHT * F.cross_entropy(result["aux"], y, ignore_index=IGNORE)
        with torch.no_grad():
            counted = y != IGNORE
            right = ((result["out"].argmax(1) == y) & counted).sum()
            accuracy = right / counted.sum().clamp_min(1)
        return loss, accuracy * y.shape[0], y.shape[0]

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """(validation loss, mAP@0.5 or mean IoU) over the whole validation split."""
        indices = torch.arange(len(self.val))
        self.model.eval()
        try:
            batches = [self.val.batch(idx, 0, self.task, self.norm, self.device)
                       for idx in indices.split(self.cfg["batch_size"])]
            if self.task == DETECTION:
                return self._evaluate_detection(batches)
            return self._evaluate_segmentation(batches)
        finally:
            self.model.train()

    def _evaluate_segmentation(self, batches) -> tuple[float, float]:
        classes = self.project["input"]["classes"]
        confusion = torch.zeros(classes, classes, dtype=torch.long)
        loss, pixels = 0.0, 0
        for x, y in batches:
            out = self.model(x)["out"].float()
            loss += float(F.cross_entropy(out, y, ignore_index=IGNORE, reduction="sum"))
            counted = y != IGNORE
            pairs = y[counted] * classes + out.argmax(1)[counted]
            confusion += torch.bincount(pairs.cpu(), minlength=classes * classes).view(
                classes, classes)
            pixels += int(counted.sum())
        return loss / max(pixels, 1), mean_iou(confusion)

    def _evaluate_detection(self, batches) -> tuple[float, float]:
        found, truth, loss, seen = [], [], 0.0, 0
        for x, targets in batches:
            found += [{k: v.cpu() for k, v in f.items()} for f in self.model(list(x))]
            truth += [{k: v.cpu() for k, v in t.items()} for t in targets]
            loss += self._frozen_losses(x, targets) * len(targets)
            seen += len(targets)
        return loss / max(seen, 1), average_precision_50(found, truth)

    def _frozen_losses(self, x, targets) -> float:
        """The summed train-mode losses with batch norm left in eval mode (its running
        statistics stay as they are), as ResNet Studio's validation loss."""
        self.model.train()
        for module in self.model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        try:
            return float(sum(float(v) for v in self.model(list(x), targets).values()))
        finally:
            self.model.eval()


def main(argv: list[str] | None = None) -> None:
    datasets = ("shapes-detection or shapes-segmentation (the built-in shapes), or "
                "masks:PATH (a segmenter's image and mask folder)")
    run = DenseRun(base.parse_args(argv, datasets))
    try:
        run.run()
        if base.dist.is_initialized():
            base.dist.barrier()  # every rank reaches teardown together (see rstudio_train)
    finally:
        if base.dist.is_initialized():
            base.dist.destroy_process_group()


if __name__ == "__main__":
    main()
