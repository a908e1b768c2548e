"""Training throughput: the engine on fixed in-memory batches, for ``resnet-studio bench`` and
``benchmarks/bench_engine.py``.

Random images of the network's input shape are made once, on the device, so the figure is the
training step itself (forward, backward, optimiser, telemetry) and not data preparation; any
input size and class count works, unlike the synthetic dataset.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..data import DataBundle, DataInfo
from ..graph import InputSpec
from .config import TrainConfig
from .distributed import detect
from .engine import Engine
from .records import RunEndRecord, StepRecord
from .setup import Network, resolve_device
from .sinks import CallbackSink


class FixedBatches:
    """Pre-made batches served in the same order every epoch (the ``Batches`` protocol)."""

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, epoch: int,
              start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(self.batches[start_batch:])


def random_batches(spec: InputSpec, batch_size: int, count: int, device: torch.device,
                   seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    shape = (batch_size, spec.channels, spec.height, spec.width)
    return [(torch.randn(shape, generator=gen).to(device),
             torch.randint(0, spec.classes, (batch_size,), generator=gen).to(device))
            for _ in range(count)]


def fixed_bundle(spec: InputSpec, train: list, val: list, name: str = "random") -> DataBundle:
    info = DataInfo(spec.channels, spec.height, spec.width, spec.classes,
                    [str(i) for i in range(spec.classes)], (0.0,) * spec.channels,
                    (1.0,) * spec.channels, sum(len(y) for _, y in train),
                    sum(len(y) for _, y in val), name)
    return DataBundle(FixedBatches(train), FixedBatches(val), info)


@dataclass(frozen=True)
class BenchResult:
    """Images per second of each telemetry window after the warm-up, and the run's end."""

    device: str
    rates: tuple[float, ...]
    end: RunEndRecord

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def measure(network: Network, spec: InputSpec, config: TrainConfig, steps: int,
            on_step: Callable[[int, int], bool] | None = None) -> BenchResult:
    """Train one telemetry window (``config.telemetry_every`` steps) to warm up, then
    ``steps`` more, all in one epoch of random batches; return the rate of each window after
    the first. ``on_step(step, of)`` hears of each step; when it returns False the timing
    stops there (the result's ``end`` says "stopped")."""
    device = resolve_device(config.device, detect())
    every = warmup = config.telemetry_every
    rates: list[float] = []

    def keep(record: object) -> None:
        if not isinstance(record, StepRecord):
            return
        if record.step % every == 0 and record.step - every >= warmup:
            rates.append(record.images_per_s)
        if on_step is not None and not on_step(record.step, warmup + steps):
            engine.stop()

    train = random_batches(spec, config.batch_size, warmup + steps, device)
    engine = Engine(network, config.replace(epochs=1), [CallbackSink(keep)],
                    data=fixed_bundle(spec, train, train[:1]))
    try:
        end = engine.run()
    finally:
        engine.close()
    return BenchResult(str(device), tuple(rates), end)
