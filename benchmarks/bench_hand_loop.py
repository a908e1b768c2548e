"""Accuracy: the training engine against a minimal hand-written loop on real MNIST digits.

Both train the same network from the same initial weights (built by ``compiler.build`` with
the same ``init``) on the same 8,000/2,000 split of real digits, normalised the same way, with
the same recipe (SGD, momentum, batch size, constant learning rate, no augmentation, no weight
decay). The hand loop is the twenty lines anyone would write; the engine runs with all its
telemetry. The script prints, per seed, both best validation accuracies and their difference,
then the mean and spread of the differences: within run-to-run noise means the engine loses
nothing to its own machinery.

The digits are the 10,000 of MNIST's test files (``t10k-*-idx*-ubyte.gz``); ``--data`` names
the folder holding them (default ``../shared/data/mnist``).

    .venv/bin/python benchmarks/bench_hand_loop.py --preset mnist_small_resnet --seeds 0 1 2
    .venv/bin/python benchmarks/bench_hand_loop.py --preset mnist_plain_cnn --init pytorch
"""

from __future__ import annotations

import argparse
import copy
import gzip
import statistics
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.compiler import INITS, build
from resnet_studio.data import DataConfig
from resnet_studio.data.loading import serve
from resnet_studio.data.source import Source, Split, channel_stats
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.train import Engine, TrainConfig

DEFAULT_DATA = Path("..") / "shared" / "data" / "mnist"  # beside the checkout, as in the repo


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as a NumPy array: magic, dimensions, then unsigned bytes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def digits(folder: Path, train: int, val: int, seed: int) -> Source:
    """``train`` + ``val`` real digits, split at random by ``seed``, as a data Source."""
    images = torch.from_numpy(read_idx(folder / "t10k-images-idx3-ubyte.gz").copy())[:, None]
    labels = torch.from_numpy(read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    t, v = order[:train], order[train: train + val]
    mean, std = channel_stats(images[t])
    return Source("mnist-t10k", Split(labels[t], images[t]), Split(labels[v], images[v]),
                  [str(i) for i in range(10)], (1, 28, 28), mean, std, flip=False)


def hand_loop(model: nn.Module, source: Source, args: argparse.Namespace, seed: int) -> list:
    """The minimal loop; returns validation accuracy per epoch."""
    mean, std = source.mean[0], source.std[0]
    x_train = (source.train.images.float() / 255 - mean) / std
    x_val = (source.val.images.float() / 255 - mean) / std
    y_train, y_val = source.train.labels, source.val.labels
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    gen = torch.Generator().manual_seed(seed)
    accuracies = []
    for _ in range(args.epochs):
        model.train()
        for idx in torch.randperm(len(y_train), generator=gen).split(args.batch_size):
            opt.zero_grad()
            F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracies.append((model(x_val).argmax(1) == y_val).float().mean().item())
    return accuracies


def engine_run(model: nn.Module, source: Source, args: argparse.Namespace, seed: int) -> list:
    config = TrainConfig(optimizer="sgd", lr=args.lr, momentum=args.momentum, weight_decay=0.0,
                         schedule="constant", epochs=args.epochs, batch_size=args.batch_size,
                         seed=seed, device="cpu",
                         data=DataConfig(augment=False, seed=seed)).validate()
    bundle = serve(source, config.data, config.batch_size)
    engine = Engine(model, config, data=bundle)
    end = engine.run()
    engine.close()
    if end.status != "finished":
        raise SystemExit(f"engine run failed: {end.message}")
    return [h["val_acc"] for h in engine.history]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of t10k-*.gz")
    parser.add_argument("--preset", default="mnist_small_resnet")
    parser.add_argument("--init", choices=tuple(INITS), default="pytorch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not (args.data / "t10k-images-idx3-ubyte.gz").is_file():
        parser.error(f"{args.data} holds no t10k-images-idx3-ubyte.gz; pass --data FOLDER")
    torch.set_num_threads(args.threads)
    print(f"{args.preset}, init {args.init}, SGD lr {args.lr} momentum {args.momentum}, batch "
          f"{args.batch_size}, {args.epochs} epochs, 8,000/2,000 real digits; val acc per epoch")
    differences = []
    for seed in args.seeds:
        source = digits(args.data, 8000, 2000, seed)
        torch.manual_seed(seed)
        model = build(create(args.preset, InputSpec(1, 28, 28, 10)), init=args.init)
        engine_acc = engine_run(copy.deepcopy(model), source, args, seed)
        hand_acc = hand_loop(model, source, args, seed)
        diff = max(engine_acc) - max(hand_acc)
        differences.append(diff)
        print(f"seed {seed}: engine {_row(engine_acc)} | hand loop {_row(hand_acc)} | best "
              f"{max(engine_acc):.2%} vs {max(hand_acc):.2%}, difference {diff:+.2%}")
    spread = statistics.stdev(differences) if len(differences) > 1 else 0.0
    print(f"engine − hand loop, best val acc: mean {statistics.mean(differences):+.2%}, "
          f"median {statistics.median(differences):+.2%}, sd {spread:.2%} over "
          f"{len(differences)} seeds")


def _row(values: list) -> str:
    return " ".join(f"{v:.2%}" for v in values)


if __name__ == "__main__":
    main()
