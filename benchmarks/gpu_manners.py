"""The CUDA paths of the GPU manners, checked on a real GPU (the tests fake the device):

1. the GPUs listed and one sampled (memory, peak, utilisation when pynvml is there), and the
   sample taken while a step runs, to show it does not wait for the device;
2. ``resolve_device("cuda:N")`` for the last GPU, and the refusal of one past it;
3. an engine run whose batch cannot fit: the failure, its estimate and the engine's retry with
   the estimated batch in a new engine resumed from last.pt;
4. ``largest_batch`` for ResNet-20 at 32×32 (``--limit``), with the time it took.

    .venv/bin/python benchmarks/gpu_manners.py [--limit 65536] [--huge 200000]

Without a CUDA GPU it says so and exits 0. Prints what it found; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from resnet_studio.compiler import build
from resnet_studio.data import DataConfig
from resnet_studio.presets import create
from resnet_studio.train import Engine, TrainConfig, devices
from resnet_studio.train.distributed import DistEnv
from resnet_studio.train.largest_batch import largest_batch
from resnet_studio.train.setup import EngineError, resolve_device


def check_devices() -> str:
    gpus = devices.list_gpus()
    for gpu in gpus:
        print(f"{gpu.key}: {gpu.title()}")
    last = gpus[-1].key
    print(f"resolve_device({last!r}) → {resolve_device(last, DistEnv())}")
    try:
        resolve_device(f"cuda:{len(gpus)}", DistEnv())
    except EngineError as exc:
        print(f"refused: {exc}")
    x = torch.randn(8192, 8192, device=last)
    began = time.perf_counter()
    for _ in range(20):
        x = x @ x / 8192
    queued = time.perf_counter() - began
    found = devices.sample(last)
    sampled = time.perf_counter() - began - queued
    torch.cuda.synchronize()
    print(f"sample while 20 matmuls run: {found.text(gpus[-1].index)}; queueing took "
          f"{queued * 1e3:.1f} ms, the sample {sampled * 1e3:.2f} ms, the matmuls "
          f"{(time.perf_counter() - began) * 1e3:.0f} ms in all")
    return last


def check_out_of_memory(device: str, huge: int) -> None:
    """The engine's own estimate refuses a batch it expects not to fit before training: it
    is turned off here, so that the step itself runs out of memory."""
    from resnet_studio.train import setup

    setup.check_training = lambda *args: None
    data = DataConfig(dataset="synthetic", train_size=huge, val_size=64, image_size=32,
                      channels=3, classes=10)
    config = TrainConfig(epochs=1, batch_size=huge, device=device, data=data,
                         telemetry_every=1)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        net = lambda spec: create("resnet20", spec)  # noqa: E731
        end = Engine(net, config, run_dir=run).run()
        print(f"batch {huge:,}: {end.status}: {end.message}")
        if "try batch size" not in end.message or not (run / "last.pt").exists():
            return
        size = int(end.message.split("try batch size ")[1].split(" ")[0])
        again = Engine(net, config.replace(batch_size=size), run_dir=run,
                       resume_from=run / "last.pt").run()
        print(f"resumed with batch {size:,}: {again.status}: {again.message}")


def check_search(device: str, limit: int) -> None:
    model = build(create("resnet20"))
    began = time.perf_counter()
    found = largest_batch(model, (3, 32, 32), torch.device(device), start=256, limit=limit)
    print(f"largest batch for ResNet-20 at 32×32 on {device}: {found.size:,} "
          f"(at limit: {found.at_limit}); {len(found.tries)} tries in "
          f"{time.perf_counter() - began:.1f} s: {found.tries}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=65536)
    parser.add_argument("--huge", type=int, default=200_000,
                        help="a batch size that cannot fit (default 200,000)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to check")
        return
    device = check_devices()
    check_out_of_memory(device, args.huge)
    check_search(device, args.limit)


if __name__ == "__main__":
    main()
