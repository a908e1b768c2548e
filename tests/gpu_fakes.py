"""A fake ``train.devices`` provider: GPUs with given names and memory, no torch involved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from resnet_studio.train import devices

GIB = 2**30


class FakeGpus:
    """``gpus``: (name, total GiB) per GPU; ``memory_of[i]``: (allocated, reserved, peak) bytes;
    ``utilisation_of[i]``: per cent or None (no NVML)."""

    def __init__(self, gpus: list[tuple[str, float]]):
        self.gpus = gpus
        self.memory_of = {i: (0, 0, 0) for i in range(len(gpus))}
        self.utilisation_of: dict[int, int | None] = {i: None for i in range(len(gpus))}
        self.resets: list[int] = []  # the GPUs whose peak was reset, in order

    def count(self) -> int:
        return len(self.gpus)

    def properties(self, index: int) -> tuple[str, int]:
        name, total = self.gpus[index]
        return name, int(total * GIB)

    def memory(self, index: int) -> tuple[int, int, int]:
        return self.memory_of[index]

    def reset_peak(self, index: int) -> None:
        allocated, reserved, _ = self.memory_of[index]
        self.memory_of[index] = (allocated, reserved, allocated)
        self.resets.append(index)

    def utilisation(self, index: int) -> int | None:
        return self.utilisation_of[index]


@contextmanager
def fake_gpus(gpus: list[tuple[str, float]]) -> Iterator[FakeGpus]:
    """Install a fake provider for the block's duration."""
    fake, real = FakeGpus(gpus), devices.PROVIDER
    devices.PROVIDER = fake
    try:
        yield fake
    finally:
        devices.PROVIDER = real
