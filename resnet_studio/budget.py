"""What a piece of work will cost, checked before it starts.

Analyses, study plans and training allocate in proportion to their parameters (grid points,
batch size, input size, number of runs). A value typed by mistake — a 100,000-point grid, a
batch of a billion images, a 100,000-pixel input — must be refused with the estimate and the
limit, not discovered by the allocator minutes later. The estimates here are plain
arithmetic on numbers the caller supplies (the compiler's parameter and activation counts,
the input size, the batch); the limits are what this machine (or GPU) has free now.

Standard library only, so any layer (and the CLI's parser) may use it; torch is looked at
only when a CUDA device's free memory is asked for and torch is already loaded.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

GIB = 2 ** 30
FLOAT = 4                    # bytes per float32 value
MAX_RUNS = 1000              # runs one study may plan
MAX_LANDSCAPE_STEPS = 10_001  # points of a landscape's 1-D slice
MAX_LANDSCAPE_GRID = 201     # points per side of its 2-D slice (40,401 evaluations)
MAX_EVALUATIONS = 50_000     # a landscape's evaluations of the network, both slices
TRAINING_STATE = 4           # weights, gradients and two optimiser moments per parameter
BACKWARD = 2                 # a backward pass keeps every activation and makes its gradient
_FALLBACK = 16 * GIB         # when the machine cannot say


class BudgetError(Exception):
    """Work that cannot fit; the message gives the estimate, the limit and what to change."""


def gib(n: float) -> str:
    return f"{n / GIB:,.1f} GiB" if n >= GIB / 10 else f"{n / 2 ** 20:,.1f} MiB"


# ----- what the machine has -------------------------------------------------------------------
def available_memory() -> int:
    """Bytes of host memory free for new work: MemAvailable from /proc/meminfo (else free
    pages from sysconf, else 16 GiB), or less where this process's address space is limited
    (``ulimit -v``) and that limit is nearer."""
    machine = _machine_memory()
    left = address_space_left()
    return machine if left is None else min(machine, left)


def address_space_left() -> int | None:
    """Bytes this process may still map under RLIMIT_AS (None: no limit, or not known)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except (ImportError, OSError, ValueError, IndexError):
        return None
    return None


def _machine_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK


def device_memory(device: Any = "cpu") -> tuple[int, str]:
    """Free bytes on ``device`` and how to name them: a CUDA device's free memory (when torch
    is loaded and sees it), else the host's available memory."""
    name = str(device)
    torch = sys.modules.get("torch")
    if name.startswith("cuda") and torch is not None and torch.cuda.is_available():
        try:
            return int(torch.cuda.mem_get_info(torch.device(name))[0]), f"{name} has free"
        except (RuntimeError, ValueError):
            pass
    left = address_space_left()
    if left is not None and left < _machine_memory():
        return left, "this process may still use (ulimit -v)"
    return available_memory(), "this machine has available"


def check_memory(needed: int, what: str, device: Any = "cpu", advice: str = "",
                 limit: int | None = None) -> None:
    """BudgetError when ``needed`` bytes exceed what ``device`` has free (or ``limit``)."""
    have, where = (limit, "the limit is") if limit is not None else device_memory(device)
    if needed > have:
        tail = f"; {advice}" if advice else ""
        raise BudgetError(f"{what} needs about {gib(needed)} of memory, more than the "
                          f"{gib(have)} {where}{tail}.")


# ----- counts ---------------------------------------------------------------------------------
def check_runs(value_counts: Sequence[int], what: str = "the study") -> int:
    """The product of ``value_counts`` (runs of a grid of settings), refused past MAX_RUNS —
    checked before a single run is planned."""
    total = 1
    for count in value_counts:
        total *= max(int(count), 0)
    if total > MAX_RUNS:
        shape = " × ".join(f"{c:,}" for c in value_counts)
        raise BudgetError(f"{what} would plan {total:,} runs ({shape}), more than the "
                          f"{MAX_RUNS:,} one study may hold; give fewer values.")
    return total


def check_landscape(steps: int, grid: int) -> int:
    """The evaluations a landscape makes (``steps + grid²``), refused past the bounds."""
    if steps > MAX_LANDSCAPE_STEPS:
        raise BudgetError(f"--steps {steps:,}: the 1-D slice takes at most "
                          f"{MAX_LANDSCAPE_STEPS:,} points.")
    if grid > MAX_LANDSCAPE_GRID:
        raise BudgetError(f"--grid {grid:,}: the plane would take {grid ** 2:,} evaluations; "
                          f"at most {MAX_LANDSCAPE_GRID} points per side.")
    total = steps + grid * grid
    if total > MAX_EVALUATIONS:
        raise BudgetError(f"the landscape would evaluate the network {total:,} times, more "
                          f"than {MAX_EVALUATIONS:,}; lower --steps or --grid.")
    return total


# ----- memory estimates -----------------------------------------------------------------------
def images_bytes(count: int, shape: Iterable[int], itemsize: int = FLOAT) -> int:
    """Bytes of ``count`` images of ``shape`` (C, H, W)."""
    size = count * itemsize
    for side in shape:
        size *= int(side)
    return size


def forward_bytes(params: int, node_activations: Iterable[int], batch: int) -> int:
    """Peak of an evaluation without gradients: the weights plus, per image, the two largest
    activations that are alive at once (a node's input and output)."""
    largest = sorted(node_activations, reverse=True)[:2]
    return params * FLOAT + batch * sum(largest)


def backward_bytes(params: int, activations: int, batch: int, state: int = 2) -> int:
    """Peak of a forward and backward pass: ``state`` float32 copies of every parameter (2:
    weights and gradients; training adds the optimiser's) and every activation of the batch
    kept for the backward pass, with its gradient."""
    return params * FLOAT * state + batch * activations * BACKWARD


def network_numbers(analysis: Any) -> tuple[int, int, list[int]]:
    """(parameters, activation bytes per image, per-node activation bytes per image) from a
    compiler ``Analysis``."""
    nodes = [int(info.activation_bytes) for info in analysis.nodes.values()]
    return int(analysis.total_params), sum(nodes), nodes


# ----- files ----------------------------------------------------------------------------------
def reading_problem(path: str | os.PathLike) -> str | None:
    """Words when reading ``path`` whole (``torch.load``, safetensors) would take more memory
    than this process has free, else None. ``torch.load`` holds every tensor of the file at
    once, and a zip member may claim far more bytes than the file has (a deflated one
    unpacks to its stated size), so the members' stated sizes are counted; a file that is
    no zip archive counts its own size. The file's own size is checked first, so that a
    huge archive's directory is never read."""
    have, where = device_memory("cpu")
    needed = os.stat(path).st_size
    if needed <= have:
        needed = unpacked_bytes(path)
    if needed <= have:
        return None
    return (f"would take about {gib(needed)} of memory to read, more than the {gib(have)} "
            f"{where}")


def unpacked_bytes(path: str | os.PathLike) -> int:
    """The bytes ``path``'s zip members unpack to (its size when it is no zip archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return os.stat(path).st_size
