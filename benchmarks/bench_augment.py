"""Augmentation throughput: batched tensor ops versus a DataLoader + PIL (torchvision.transforms).

Both paths serve the same 10,000 32×32 colour images (the built-in synthetic set) for one epoch
with the CIFAR recipe — random crop with 4 pixels of zero padding, horizontal flip,
normalisation — in batches of 256 delivered on the device:

* tensor: ``resnet_studio.data`` batches — uint8 images held on the device, augmented per batch
  with one gather (crop + flip) and one fused multiply-add (normalisation);
* pil: torchvision's classic pipeline — a Dataset that makes a PIL image per sample (as
  ``torchvision.datasets.CIFAR10`` does), ``RandomCrop`` / ``RandomHorizontalFlip`` /
  ``ToTensor`` / ``Normalize``, collated by a ``DataLoader`` and copied to the device.

Runs are interleaved (tensor, pil, pil, tensor, …) and repeated so that a noisy, shared machine
hurts both alike; the script prints each path's median images/s with its spread, and the ratio.

    .venv/bin/python benchmarks/bench_augment.py [--repeats 7] [--workers 0] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from resnet_studio.data.augment import Augment, Normaliser
from resnet_studio.data.batches import Sampling, TensorBatches
from resnet_studio.data.source import channel_stats
from resnet_studio.data.synthetic import make_synthetic

IMAGES, SIZE, PADDING = 10_000, 32, 4


class PilImages(Dataset):
    """HWC uint8 arrays turned into PIL images per sample, then transformed."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.arrays = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels, self.transform = labels.tolist(), transform

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.arrays[i])), self.labels[i]


def tensor_epoch(batches: TensorBatches, epoch: int, device: torch.device) -> int:
    count = 0
    for x, _ in batches.epoch(epoch):
        count += len(x)
    _sync(device)
    return count


def pil_epoch(loader: DataLoader, device: torch.device) -> int:
    count = 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        count += len(x)
    _sync(device)
    return count


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(run, epoch: int) -> float:
    """Images per second of ``run(epoch)`` (which returns the number of images served)."""
    start = time.perf_counter()
    count = run(epoch)
    return count / (time.perf_counter() - start)


def build(args: argparse.Namespace, device: torch.device):
    images, labels = make_synthetic(IMAGES, SIZE, 3, 10, seed=0, split="train")
    mean, std = channel_stats(images)
    norm = Normaliser(mean, std, device)
    batches = TensorBatches(images.to(device), labels.to(device), args.batch_size, norm,
                            Augment(crop_padding=PADDING, flip=True),
                            Sampling(seed=0, shuffle=True, drop_last=True))
    pipeline = transforms.Compose([
        transforms.RandomCrop(SIZE, padding=PADDING), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize(mean, std)])
    loader = DataLoader(PilImages(images, labels, pipeline), batch_size=args.batch_size,
                        shuffle=True, drop_last=True, num_workers=args.workers,
                        pin_memory=device.type == "cuda",
                        persistent_workers=args.workers > 0)
    return batches, loader


def summary(name: str, rates: list[float]) -> str:
    med = statistics.median(rates)
    return (f"{name:>7}: median {med:10,.0f} images/s   spread {min(rates):,.0f} … "
            f"{max(rates):,.0f} ({(max(rates) - min(rates)) / med:.0%} of median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (pil path)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batches, loader = build(args, device)
    runs = {"tensor": lambda e: tensor_epoch(batches, e, device),
            "pil": lambda e: pil_epoch(loader, device)}
    for run in runs.values():  # warm-up: allocator, worker start-up, first-call overheads
        run(0)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.repeats):
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for name in order:
            rates[name].append(timed(runs[name], r + 1))
    print(f"{IMAGES:,} images {SIZE}×{SIZE}×3, batch {args.batch_size}, crop(pad {PADDING}) + "
          f"flip + normalise, device {device}, torch threads {torch.get_num_threads()}, "
          f"DataLoader workers {args.workers}, {args.repeats} interleaved repeats")
    for name, values in rates.items():
        print(summary(name, values))
    ratios = [t / p for t, p in zip(rates["tensor"], rates["pil"], strict=True)]
    overall = statistics.median(rates["tensor"]) / statistics.median(rates["pil"])
    print(f"  ratio: tensor / pil = {overall:.1f}× (per-repeat ratios {min(ratios):.1f}× … "
          f"{max(ratios):.1f}×)")


if __name__ == "__main__":
    main()
