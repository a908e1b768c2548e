"""Engine ÷ hand-tuned loop: training images/s of ResNet-18 (CIFAR) and ResNet-20 on a GPU.

For each network, precision (bf16 autocast, fp32) and ``torch.compile`` on/off, the
hand-tuned loop of ``gpu_reference.py`` and the engine train the same ``nn.Module`` class
(a fresh instance per run, loaded with the same initial weights) on the same uint8 images of
the built-in synthetic set (32×32, 3 channels, 10 classes, held on the device), with the same
augmentation (crop with padding 4, flip, cutout 8, on the device), optimiser (SGD, Nesterov
momentum 0.9, weight decay 5e-4 on every parameter, constant rate), channels-last and batch
size. The engine runs with its per-layer telemetry on and off (``layer_telemetry``). Both
use torch's fused SGD on CUDA (``train/optim.py`` builds it there); the ratio includes the
engine's scheduler step and records.
Runs are interleaved (reference, engine with telemetry, engine without; the order turning
each repeat) and repeated; the table gives each side's median images/s with the range, and
the median and range of the per-repeat ratios engine ÷ reference.

What is timed, on both sides: training steps only, after ``--warmup`` untimed steps (which
take torch.compile's compilation), between two points where the device has finished all
work. The reference synchronises around its timing window. The engine's images/s is timed
here through a sink, not taken from ``RunEndRecord.images_per_s`` (which includes the warm-up
steps): the engine copies each telemetry window to the host (a synchronisation), so the clock
starts when the first window ending at or after the warm-up is delivered and stops when the
last one is; the steps in between are counted from ``engine.step`` (a window closes every
``min(10, --steps)`` steps, 10 being the engine's default, or sooner). An epoch holds exactly
the warm-up and timed steps, so validation comes after the last timed step and is left out.

Last, the time to 94 % of the final accuracy: the engine trains each network for
``--tta-epochs`` epochs on a larger synthetic set; with A the final validation accuracy, the
figure is the summed wall time of the epochs (``EpochRecord.duration``: training and
validation, pauses left out) until validation accuracy first reached 0.94·A. It runs in bf16
where the GPU supports it, without compile, cosine schedule; under ``--quick`` on the CPU for
ResNet-20 only.

    .venv/bin/python benchmarks/bench_gpu.py                       # CUDA when available
    .venv/bin/python benchmarks/bench_gpu.py --networks resnet20 --repeats 5 --no-compile
    .venv/bin/python benchmarks/bench_gpu.py --device cpu --quick  # end to end in minutes

On the CPU the engine refuses mixed precision (``setup.check_amp``), so only fp32 runs there,
and the compile variants are left out unless ``--cpu-compile`` is given: inductor's first
compilation of ResNet-20's training step took 92 s on 2 shared cores (a fresh instance of the
same class then reused it: 0.7 s).

CPU figures (no GPU was available to measure on; 2 shared CPU cores, torch 2.14, 2026-12-06;
fp32, compile off)::

    bench_gpu.py --device cpu --networks resnet20 --batch-size 64 --warmup 2 --steps 10 \
        --repeats 5 --tta-epochs 6 --tta-train-size 2048
    resnet20  fp32  off  on   reference 580 (516–585)  engine 559 (529–600)  0.984 (0.927–1.075)
    resnet20  fp32  off  off  reference 580 (516–585)  engine 567 (481–585)  0.977 (0.827–1.114)
    resnet20: final validation accuracy 97.1% after 6 epochs (22.4 s); 94 % of it (91.2%)
    first reached at epoch 5, 18.6 s

    bench_gpu.py --device cpu --networks resnet18 --batch-size 32 --warmup 1 --steps 6 \
        --repeats 5 --tta-epochs 1 --tta-train-size 256
    resnet18  fp32  off  on   reference 63 (61–64)  engine 58 (56–61)  0.920 (0.908–0.967)
    resnet18  fp32  off  off  reference 63 (61–64)  engine 63 (63–64)  1.006 (0.999–1.037)

On the CPU the per-layer gradient norms cost ResNet-18 about 8 % (one pass over its 11 M
gradients a step); ``--quick`` runs in under 3 minutes and only shows that the script works.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_reference as ref  # beside this script (on the path above)

from resnet_studio.data import DataBundle, DataConfig
from resnet_studio.data.loading import load_data
from resnet_studio.train import CallbackSink, Engine, EpochRecord, StepRecord, TrainConfig

SIDES = ("reference", "engine", "engine, no telemetry")


@dataclass(frozen=True)
class Variant:
    network: str
    precision: str  # "bf16" or "fp32"
    compile: bool


@dataclass(frozen=True)
class Sizes:
    batch: int
    warmup: int
    steps: int

    @property
    def train_size(self) -> int:
        """One epoch is exactly the warm-up and the timed steps."""
        return self.batch * (self.warmup + self.steps)


def data_config(train_size: int, val_size: int, seed: int = 0) -> DataConfig:
    return DataConfig(dataset="synthetic", image_size=32, channels=3, classes=10,
                      train_size=train_size, val_size=val_size, fit="none", augment=True,
                      crop_padding=ref.PADDING, flip=True, cutout=ref.CUTOUT, seed=seed)


def make_bundle(sizes: Sizes, device: torch.device) -> DataBundle:
    return load_data(data_config(sizes.train_size, sizes.batch), sizes.batch, device)


def engine_config(variant: Variant, telemetry: bool, batch: int, device: torch.device,
                  data: DataConfig, **changes) -> TrainConfig:
    values = dict(optimizer="sgd", lr=ref.LR, momentum=ref.MOMENTUM, nesterov=True,
                  weight_decay=ref.WEIGHT_DECAY, decay_norm_and_bias=True, schedule="constant",
                  epochs=1, batch_size=batch, device=device.type,
                  amp="bf16" if variant.precision == "bf16" else "off", channels_last=True,
                  compile=variant.compile, layer_telemetry=telemetry, data=data)
    values.update(changes)
    return TrainConfig(**values).validate()


def fresh_model(network: str, state: dict) -> torch.nn.Module:
    model = ref.NETWORKS[network](10)
    model.load_state_dict(state)
    return model


# ----- one measured run of each side ----------------------------------------------------------
def measure_reference(variant: Variant, state: dict, bundle: DataBundle, sizes: Sizes) -> float:
    train = bundle.train
    data = ref.TrainSet(train.images, train.labels, bundle.info.mean, bundle.info.std)
    trainer = ref.Trainer(fresh_model(variant.network, state), data, sizes.batch,
                          precision=variant.precision, compile=variant.compile)
    return trainer.run(sizes.warmup, sizes.steps).images_per_s


def measure_engine(variant: Variant, telemetry: bool, state: dict, bundle: DataBundle,
                   sizes: Sizes) -> float:
    """Images/s of the engine's steps after the warm-up (see the module docstring)."""
    device = bundle.train.images.device
    # A window closes at least every `steps` steps, so one ends between the warm-up and the
    # last step whatever the timing flushes do (10, the engine's default, for longer runs).
    config = engine_config(variant, telemetry, sizes.batch, device,
                           data_config(sizes.train_size, sizes.batch),
                           telemetry_every=min(10, sizes.steps))
    windows: dict[int, float] = {}  # last step of a delivered window → when it arrived
    holder: dict[str, Engine] = {}

    def mark(record: object) -> None:
        if isinstance(record, StepRecord):
            windows.setdefault(holder["engine"].step, time.perf_counter())

    engine = Engine(fresh_model(variant.network, state), config, [CallbackSink(mark)],
                    data=bundle)
    holder["engine"] = engine
    end = engine.run()
    engine.close()
    if end.status != "finished":
        raise SystemExit(f"the engine run failed: {end.message}")
    return window_rate(windows, sizes)


def window_rate(windows: dict[int, float], sizes: Sizes) -> float:
    """Images/s between the first window ending at or after the warm-up and the last one."""
    last = max(windows)
    starts = [s for s in windows if sizes.warmup <= s < last]
    if not starts:
        raise SystemExit(f"no telemetry window ended between the warm-up ({sizes.warmup} "
                         f"steps) and the last step ({last}); give more --steps")
    first = min(starts)
    return (last - first) * sizes.batch / max(windows[last] - windows[first], 1e-9)


def measure_group(variant: Variant, bundle: DataBundle, sizes: Sizes, repeats: int,
                  seed: int = 0) -> dict[str, list[float]]:
    """Images/s of every side, ``repeats`` times, interleaved (the order turns each repeat)."""
    torch.manual_seed(seed)
    state = ref.NETWORKS[variant.network](10).state_dict()
    if variant.compile:
        # Each group compiles afresh: the fresh instances of one class then share one cache
        # entry, and no earlier group's entries count towards dynamo's recompile limit (past
        # it, a model would silently run eagerly).
        torch._dynamo.reset()
    results: dict[str, list[float]] = {side: [] for side in SIDES}
    for repeat in range(repeats):
        order = SIDES[repeat % 3:] + SIDES[: repeat % 3]
        for side in order:
            if side == "reference":
                rate = measure_reference(variant, state, bundle, sizes)
            else:
                rate = measure_engine(variant, side == "engine", state, bundle, sizes)
            results[side].append(rate)
    return results


# ----- time to 94 % of the final accuracy -----------------------------------------------------
def time_to_share(epochs: list[EpochRecord], share: float = 0.94) -> tuple[float, float, int]:
    """(final validation accuracy A, wall seconds until accuracy first reached share·A, that
    epoch); the seconds are the summed epoch durations up to and including it."""
    final = epochs[-1].val_acc
    elapsed = 0.0
    for record in epochs:
        elapsed += record.duration
        if record.val_acc >= share * final:
            return final, elapsed, record.epoch
    raise AssertionError("the last epoch always reaches its own accuracy")


def train_to_accuracy(network: str, precision: str, epochs: int, train_size: int,
                      val_size: int, batch: int, device: torch.device) -> list[EpochRecord]:
    seen: list[EpochRecord] = []
    config = engine_config(Variant(network, precision, False), True, batch, device,
                           data_config(train_size, val_size), epochs=epochs,
                           schedule="cosine")
    torch.manual_seed(0)
    engine = Engine(ref.NETWORKS[network](10), config,
                    [CallbackSink(lambda r: isinstance(r, EpochRecord) and seen.append(r))])
    end = engine.run()
    engine.close()
    if end.status != "finished":
        raise SystemExit(f"the engine run failed: {end.message}")
    return seen


# ----- report ---------------------------------------------------------------------------------
def spread(values: list[float], digits: int = 0) -> str:
    return (f"{statistics.median(values):,.{digits}f} "
            f"({min(values):,.{digits}f}–{max(values):,.{digits}f})")


def table_rows(variant: Variant, results: dict[str, list[float]]) -> list[list[str]]:
    rows = []
    reference = results["reference"]
    for side, telemetry in (("engine", "on"), ("engine, no telemetry", "off")):
        ratios = [e / r for e, r in zip(results[side], reference)]
        rows.append([variant.network, variant.precision, "on" if variant.compile else "off",
                     telemetry, spread(reference), spread(results[side]), spread(ratios, 3)])
    return rows


HEADER = ["network", "precision", "compile", "telemetry", "reference img/s", "engine img/s",
          "engine÷reference"]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    for row in [HEADER, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def variants(args: argparse.Namespace, device: torch.device) -> list[Variant]:
    precisions = ["bf16", "fp32"]
    if device.type != "cuda":
        print(f"fp32 only: the engine refuses mixed precision off CUDA (setup.check_amp), "
              f"and this run is on the {device.type}")
        precisions = ["fp32"]
    elif not ref.bf16_supported(device):
        print("fp32 only: this GPU has no bf16 support")
        precisions = ["fp32"]
    compiles = [False] if args.no_compile else [False, True]
    if device.type == "cpu" and not args.cpu_compile and True in compiles:
        print("compile off only: on the CPU inductor's first compilation of a training step "
              "takes minutes (ResNet-20: 92 s on 2 shared cores); give --cpu-compile to "
              "include it")
        compiles = [False]
    return [Variant(n, p, c) for n in args.networks for p in precisions for c in compiles]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--networks", nargs="+", choices=sorted(ref.NETWORKS),
                        default=["resnet18", "resnet20"])
    parser.add_argument("--batch-size", type=int, help="default 512 (--quick: 16)")
    parser.add_argument("--warmup", type=int, help="untimed steps per run (default 20; --quick 1)")
    parser.add_argument("--steps", type=int, help="timed steps per run (default 60; --quick 3)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="leave out torch.compile")
    parser.add_argument("--cpu-compile", action="store_true",
                        help="include the compile variants on the CPU")
    parser.add_argument("--tta-epochs", type=int, help="default 10 (--quick: 3)")
    parser.add_argument("--tta-train-size", type=int, help="default 10240 (--quick: 128)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args()
    quick = {"batch_size": 16, "warmup": 1, "steps": 3, "tta_epochs": 3, "tta_train_size": 128}
    full = {"batch_size": 512, "warmup": 20, "steps": 60, "tta_epochs": 10,
            "tta_train_size": 10240}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main() -> None:
    args = parse()
    device = torch.device(args.device)
    sizes = Sizes(args.batch_size, args.warmup, args.steps)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"batch {sizes.batch}, {sizes.warmup} warm-up + {sizes.steps} timed steps per run, "
          f"{args.repeats} repeats")
    bundle = make_bundle(sizes, device)
    rows: list[list[str]] = []
    for variant in variants(args, device):
        rows += table_rows(variant, measure_group(variant, bundle, sizes, args.repeats))
        print(f"  measured {variant}", flush=True)
    print_table(rows)
    precision = "bf16" if ref.bf16_supported(device) else "fp32"
    networks = args.networks
    if args.quick and device.type == "cpu" and "resnet18" in networks and len(networks) > 1:
        print("time to 94 %: ResNet-20 only under --quick on the CPU (ResNet-18 trains 14× "
              "the FLOPs per image)")
        networks = [n for n in networks if n != "resnet18"]
    for network in networks:
        epochs = train_to_accuracy(network, precision, args.tta_epochs, args.tta_train_size,
                                   max(args.tta_train_size // 5, sizes.batch), sizes.batch,
                                   device)
        final, seconds, epoch = time_to_share(epochs)
        total = sum(r.duration for r in epochs)
        print(f"{network} ({precision}, engine with telemetry): final validation accuracy "
              f"{final:.1%} after {len(epochs)} epochs ({total:.1f} s); 94 % of it "
              f"({0.94 * final:.1%}) first reached at epoch {epoch}, {seconds:.1f} s")


if __name__ == "__main__":
    main()
