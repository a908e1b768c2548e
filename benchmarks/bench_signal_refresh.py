"""How long the app's signal-propagation view takes to refresh after an edit.

    .venv/bin/python benchmarks/bench_signal_refresh.py [--repeats 5] [--threads 1]

One refresh is what the app's worker does: rebuild the project from its saved form, then
``signal_propagation`` (build and initialise the network and its plain twin, one forward and
one backward pass each on one batch of the built-in synthetic set). Cases: the ResNet-20 and
ResNet-56 presets at 3×32×32 with a batch of 32, and ResNet-20 at 3×16×16. The table gives
the median and the spread (fastest … slowest) over the rounds.

Never part of the test suite; it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from resnet_studio.analysis.signal import signal_propagation
from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import InputSpec, project
from resnet_studio.presets import create


def refresh_case(preset: str, size: int, batch: int):
    saved = project.to_dict(create(preset, InputSpec(channels=3, height=size, width=size,
                                                     classes=10)))

    def run() -> None:
        graph = project.from_dict(saved, CATALOGUE, "bench")
        signal_propagation(graph, batch_size=batch)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = {"ResNet-20, 32×32, batch 32": refresh_case("resnet20", 32, 32),
             "ResNet-20, 16×16, batch 32": refresh_case("resnet20", 16, 32),
             "ResNet-56, 32×32, batch 32": refresh_case("resnet56", 32, 32)}
    for run in cases.values():
        run()  # warm-up: imports, allocator
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, run in cases.items():
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)
    print(f"signal refresh, {args.threads} thread(s), {args.repeats} rounds")
    for name, values in times.items():
        print(f"  {name:28s} median {statistics.median(values) * 1000:7.0f} ms   "
              f"({min(values) * 1000:.0f} … {max(values) * 1000:.0f})")


if __name__ == "__main__":
    main()
