"""The CUDA GPUs of this machine and how full they are, read without waiting for the device.

    list_gpus()            # [GpuInfo(0, "NVIDIA H100 80GB HBM3", 85_520_809_984), …]
    sample("cuda:0")       # DeviceSample(allocated, reserved, peak, total, utilisation)
    sample("cpu")          # None: only CUDA devices are sampled

Nothing here synchronises a device: the memory figures are the caching allocator's counters,
kept on the host (``torch.cuda.memory_allocated``, ``memory_reserved``,
``max_memory_allocated``), the total is the device's properties, and the utilisation is
NVML's (``torch.cuda.utilization``, which needs the ``pynvml`` module of ``nvidia-ml-py``;
without it the utilisation is None). So the app may sample a GPU from its own thread while a
run streams on it.

Everything goes through ``PROVIDER``, a small object tests replace with a fake (two GPUs with
given memory) instead of patching torch. torch is imported inside the functions: importing
this module is cheap.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Protocol

GIB = 2**30


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA GPU as PyTorch numbers it (after ``CUDA_VISIBLE_DEVICES``)."""

    index: int
    name: str
    total_bytes: int

    @property
    def key(self) -> str:
        """The device setting that picks this GPU: ``cuda:1``."""
        return f"cuda:{self.index}"

    def title(self) -> str:
        """"GPU 1 · NVIDIA H100 · 80 GiB"."""
        return f"GPU {self.index} · {self.name} · {self.total_bytes / GIB:.0f} GiB"


@dataclass(frozen=True)
class DeviceSample:
    """A GPU's memory in bytes (what tensors hold, what the allocator reserved, the most
    tensors held since the last reset of the peak, the device's total) and its utilisation in
    per cent (None where NVML cannot be asked)."""

    allocated: int
    reserved: int
    peak: int
    total: int
    utilisation: int | None = None

    def text(self, index: int) -> str:
        """"GPU 0: 3.1 / 80 GiB (peak 5.2) · 97 %"."""
        line = (f"GPU {index}: {self.allocated / GIB:.1f} / {self.total / GIB:.0f} GiB "
                f"(peak {self.peak / GIB:.1f})")
        return line if self.utilisation is None else f"{line} · {self.utilisation} %"


class Provider(Protocol):
    """Where the figures come from (torch's CUDA functions; a fake in tests)."""

    def count(self) -> int: ...
    def properties(self, index: int) -> tuple[str, int]: ...
    def memory(self, index: int) -> tuple[int, int, int]: ...
    def utilisation(self, index: int) -> int | None: ...
    def reset_peak(self, index: int) -> None: ...


class TorchProvider:
    """The real figures, from ``torch.cuda``."""

    def __init__(self) -> None:
        self._nvml: bool | None = None  # whether pynvml can be imported (asked once)

    def count(self) -> int:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0

    def properties(self, index: int) -> tuple[str, int]:
        import torch

        props = torch.cuda.get_device_properties(index)
        return props.name, int(props.total_memory)

    def memory(self, index: int) -> tuple[int, int, int]:
        import torch

        return (int(torch.cuda.memory_allocated(index)), int(torch.cuda.memory_reserved(index)),
                int(torch.cuda.max_memory_allocated(index)))

    def reset_peak(self, index: int) -> None:
        import torch

        torch.cuda.reset_peak_memory_stats(index)

    def utilisation(self, index: int) -> int | None:
        if self._nvml is None:
            self._nvml = importlib.util.find_spec("pynvml") is not None
        if not self._nvml:
            return None
        import torch

        try:
            return int(torch.cuda.utilization(index))
        except Exception:  # NVML missing from the driver, or the device not visible to it
            return None


PROVIDER: Provider = TorchProvider()


def list_gpus() -> list[GpuInfo]:
    """The CUDA GPUs PyTorch sees, in its order (none on a machine without CUDA)."""
    return [GpuInfo(i, *PROVIDER.properties(i)) for i in range(PROVIDER.count())]


def cuda_index(device: Any) -> int | None:
    """The GPU index of a CUDA device (``"cuda:1"``, ``torch.device("cuda", 1)``; plain
    ``"cuda"`` is GPU 0, torch's default); None for any other device. (A run's device is
    always indexed: ``setup.resolve_device`` returns ``cuda:N``.)"""
    text = str(device)
    if text == "cuda":
        return 0
    if text.startswith("cuda:") and text[5:].isdigit():
        return int(text[5:])
    return None


def reset_peak(device: Any) -> None:
    """Start ``device``'s peak afresh (a new run's peak is its own, not that of an earlier
    run or search in this process); nothing for other devices. The allocator's counters are
    guarded by its lock: any thread may do this while another trains."""
    index = cuda_index(device)
    if index is not None and index < PROVIDER.count():
        PROVIDER.reset_peak(index)


def sample(device: Any) -> DeviceSample | None:
    """How full ``device`` is now; None for the CPU, MPS and a GPU that is not there."""
    index = cuda_index(device)
    if index is None or index >= PROVIDER.count():
        return None
    allocated, reserved, peak = PROVIDER.memory(index)
    total = PROVIDER.properties(index)[1]
    return DeviceSample(allocated, reserved, peak, total, PROVIDER.utilisation(index))
