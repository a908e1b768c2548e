"""Wall time of a small study one run after another against ``--parallel`` runs at once.

Plans a sweep of four seeds of the small ResNet on the built-in synthetic set and trains it
with the study queue, in a fresh study directory each time:

* sequential: ``trial.InProcess`` (the embedded default), torch using every CPU's thread,
  and again with one trial's share of them (on small shared machines fewer threads can be
  faster: thread hand-offs cost more than tiny tensors gain);
* parallel: ``study.parallel.Parallel(N)``, each child with its share of the CPU threads
  (CPUs // N), the child processes' start-up (a fresh interpreter importing torch) included.

They are interleaved (the order rotates each round) and repeated, so that a noisy, shared machine
hurts both alike; it prints each one's median wall time and range, and the speed-up. On a GPU
(``--device cuda``) it trains ResNet-20 instead and prints trials per hour with 1, 2 and 4
trials per GPU (``--gpus-per-trial`` 1, 0.5, 0.25).

    .venv/bin/python benchmarks/bench_study_parallel.py [--repeats 3] [--parallel 2]
    .venv/bin/python benchmarks/bench_study_parallel.py --device cuda [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from resnet_studio.data import DataConfig
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.parallel import Parallel
from resnet_studio.study.queue import StudyQueue
from resnet_studio.study.trial import InProcess
from resnet_studio.train import TrainConfig

SEEDS = [1, 2, 3, 4]


def cpu_study(epochs: int):
    data = DataConfig(train_size=1024, val_size=128, image_size=16, augment=False)
    config = TrainConfig(epochs=epochs, batch_size=64, device="cpu", data=data,
                         telemetry_every=8)
    return plan_sweep(create("small_resnet", InputSpec(3, 16, 16, 10)), config,
                      {"seed": SEEDS})


def gpu_study(epochs: int):
    data = DataConfig(train_size=10_000, val_size=1000, image_size=32)
    config = TrainConfig(epochs=epochs, batch_size=128, device="cuda", data=data,
                         telemetry_every=50)
    return plan_sweep(create("resnet20", InputSpec(3, 32, 32, 10)), config, {"seed": SEEDS})


STARTUPS: list[float] = []  # seconds from a child's spawn to its torch being ready


def timed(study, executor) -> float:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        outcome = StudyQueue(study, folder, executor=executor).run()
        seconds = time.perf_counter() - began
    STARTUPS.extend(c["startup_seconds"] for c in getattr(executor, "children", ()))
    if set(outcome.statuses.values()) != {"finished"}:
        raise SystemExit(f"a run did not finish: {outcome.statuses}")
    return seconds


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):6.1f} s, range {min(values):.1f} – "
            f"{max(values):.1f} s over {len(values)}")


def cpu(args: argparse.Namespace) -> None:
    cpus = os.cpu_count() or 1
    share = max(1, cpus // args.parallel)
    study = cpu_study(args.epochs)
    modes = {f"sequential, {cpus} threads": cpus, f"sequential, {share} threads": share,
             f"parallel {args.parallel}, {share} threads each": None}
    times: dict[str, list[float]] = {name: [] for name in modes}
    for repeat in range(args.repeats):
        names = list(modes)
        names = names[repeat % len(names):] + names[:repeat % len(names)]  # rotate the order
        for name in names:
            threads = modes[name]
            torch.set_num_threads(threads or 1)
            executor = InProcess() if threads else Parallel(args.parallel)
            seconds = timed(study, executor)
            times[name].append(seconds)
            print(f"round {repeat + 1}  {name:<32} {seconds:6.1f} s", flush=True)
    print(f"{len(SEEDS)} runs of the small ResNet on {cpus} CPUs, {args.epochs} epochs each")
    for name, values in times.items():
        print(f"{name:<32} {spread(values)}")
    print(f"child start-up (spawn to torch ready) {spread(STARTUPS)}")
    best = min(statistics.median(v) for n, v in times.items() if n.startswith("sequential"))
    par = statistics.median(times[f"parallel {args.parallel}, {share} threads each"])
    print(f"speed-up (best sequential median / parallel median): {best / par:.2f}×")


def gpu(args: argparse.Namespace) -> None:
    study = gpu_study(args.epochs)
    for per_gpu in (1, 2, 4):
        values = []
        for _ in range(args.repeats):
            executor = Parallel(per_gpu, gpus_per_trial=1 / per_gpu)
            values.append(timed(study, executor))
        hour = [3600 * len(SEEDS) / v for v in values]
        print(f"{per_gpu} per GPU: {spread(values)}; trials per hour: median "
              f"{statistics.median(hour):.0f}, range {min(hour):.0f} – {max(hour):.0f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    (gpu if args.device == "cuda" else cpu)(args)


if __name__ == "__main__":
    main()
