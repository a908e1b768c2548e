"""Batch sizes that fit in a device's memory: found by trying, or estimated after a failure.

    search = largest_batch(model, (3, 32, 32), torch.device("cuda", 0), limit=4096)
    search.size       # the largest batch size whose training step ran
    search.tries      # every size tried, in order, and whether it fitted

``largest_batch`` doubles the batch size from ``start`` until a training step runs out of
memory (or ``limit`` is reached), then halves the interval between the last size that fitted
and the first that did not until they are neighbours: the answer is exact, to one image, in
about 2·log2(answer / start) tries. Each try is one forward, backward and optimiser step of
random images; the device's cache is emptied between tries.

``estimate_fitting_batch`` is the engine's answer after an out-of-memory failure (``Engine.
_out_of_memory``): a linear estimate from the memory the failed step used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MARGIN = 0.9  # of the free memory a step may plan to use (fragmentation, what never ran)
ROUND = 8     # estimated sizes are rounded down to a multiple of this (when at least this)
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


class DoesNotFit(Exception):
    """A try that was refused before it ran (an estimate says it cannot fit): it counts as
    running out of memory, without risking the host's memory."""


@dataclass(frozen=True)
class BatchSearch:
    """The largest batch size that ran (0: not even one image), the sizes tried in order
    with whether each fitted, and whether the search stopped at its limit (the device may
    take more)."""

    size: int
    tries: tuple[tuple[int, bool], ...]
    at_limit: bool


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's ``OutOfMemoryError``, or the CPU allocator's "can't allocate memory"."""
    import torch

    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError, DoesNotFit)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text
                                              or "out of memory" in text)


def largest_batch(model: Any, input_shape: tuple[int, ...], device: Any, *,
                  try_step: Callable[[int], Any] | None = None, start: int = 8,
                  limit: int = 4096, on_try: Callable[[int, bool], Any] | None = None
                  ) -> BatchSearch:
    """Search the largest batch size from 1 to ``limit`` whose training step fits.
    ``try_step(batch)`` runs one step (default: ``training_step``, random images of
    ``input_shape`` through ``model``) and raises when the memory runs out; any other error
    ends the search. ``on_try(batch, fitted)`` follows each try (progress)."""
    if start < 1 or limit < 1:
        raise ValueError("start and limit must be at least 1")
    step = try_step or training_step(model, input_shape, device)
    tries: list[tuple[int, bool]] = []

    def fits(batch: int) -> bool:
        fitted = _attempt(step, batch, device)
        tries.append((batch, fitted))
        if on_try is not None:
            on_try(batch, fitted)
        return fitted

    good, bad, batch = 0, None, min(start, limit)
    while bad is None:
        if not fits(batch):
            bad = batch
        elif batch >= limit:
            return BatchSearch(batch, tuple(tries), True)
        else:
            good, batch = batch, min(batch * 2, limit)
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return BatchSearch(good, tuple(tries), False)


def _attempt(step: Callable[[int], Any], batch: int, device: Any) -> bool:
    """Run one try; False when it ran out of memory. The memory is given back after the
    ``except`` clause: inside it the traceback still holds the failed step's tensors."""
    fitted = True
    try:
        step(batch)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        fitted = False
    _release(device)
    return fitted


def _release(device: Any) -> None:
    """Give a CUDA device's cached blocks back (after collecting cycles that may hold
    tensors), so the next try and ``mem_get_info`` see them free; the host's allocator frees
    a tensor as soon as it is dropped."""
    import gc

    import torch

    if str(device).startswith("cuda"):
        gc.collect()
        torch.cuda.empty_cache()


def training_step(model: Any, input_shape: tuple[int, ...], device: Any, *,
                  optimizer: Any = None, autocast: Any = None, channels_last: bool = False
                  ) -> Callable[[int], None]:
    """One training step at a batch size: random images of ``input_shape`` on ``device``,
    forward (under ``autocast``, a context factory, if given), a loss over the output,
    backward and an ``optimizer`` step (SGD with momentum by default, whose state then stays
    as a run's would). The weights change: use a network built for the search."""
    import contextlib

    import torch

    model.to(device).train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer or torch.optim.SGD(params, lr=1e-6, momentum=0.9)

    def step(batch: int) -> None:
        x = torch.randn(batch, *input_shape, device=device)
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        with autocast() if autocast is not None else contextlib.nullcontext():
            out = model(x)
        out.float().square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


# ----- the estimate after a failure -----------------------------------------------------------
def requested_bytes(message: str) -> int:
    """The allocation an out-of-memory message says failed ("Tried to allocate 2.00 GiB");
    0 when it names none."""
    found = re.search(r"Tried to allocate ([\d.]+) ?(B|KiB|MiB|GiB|TiB)", message)
    return int(float(found.group(1)) * UNITS[found.group(2)]) if found else 0


def estimate_fitting_batch(batch: int, peak: int, fixed: int, free: int,
                           requested: int = 0) -> int | None:
    """A batch size that should fit where ``batch`` ran out of memory, or None when none can
    be estimated.

    The model is linear: a step at batch size b holds ``fixed + b · per_image`` bytes.
    ``fixed`` is what stays allocated once the failed step is released (weights, gradients'
    and optimiser's state, data held on the device); the failed step held ``peak - fixed``
    for its batch and asked for ``requested`` more, so ``per_image ≥ (peak + requested -
    fixed) / batch`` — a lower bound, as the step died before its end, so the estimate leans
    high when it died early (``largest_batch`` finds the size by trying). A step may plan on
    ``MARGIN`` of ``free``, the device's free memory with the cache emptied (other processes'
    use left out), so the estimate is ``⌊MARGIN · free / per_image⌋``, rounded down to a
    multiple of ``ROUND`` when it is at least that. None when the failed step measured no
    growth (``peak + requested ≤ fixed``: the peak was reset, or the memory is another
    device's) or the estimate is not below ``batch`` (then the numbers contradict the
    failure)."""
    grown = peak + requested - fixed
    if batch < 2 or grown <= 0 or free <= 0:
        return None
    size = int(MARGIN * free * batch // grown)
    if size >= ROUND:
        size -= size % ROUND
    return size if 1 <= size < batch else None


def cuda_fitting_batch(device: Any, batch: int, message: str) -> int | None:
    """``estimate_fitting_batch`` with ``device``'s figures, read after a failure: the peak
    of allocated memory (then reset, so that a later run starts its own), what stays
    allocated and the free memory once the cache is emptied. None off CUDA. (Called after
    the failure, so reading the device's figures may wait for it.)"""
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        return None
    peak = torch.cuda.max_memory_allocated(device)
    _release(device)
    fixed = torch.cuda.memory_allocated(device)
    # free on the device, and the part of this process's cache that holds no tensor
    free = torch.cuda.mem_get_info(device)[0] + torch.cuda.memory_reserved(device) - fixed
    torch.cuda.reset_peak_memory_stats(device)
    return estimate_fitting_batch(batch, peak, fixed, free, requested_bytes(message))


# ----- a project's network ------------------------------------------------------------------
def search_project(graph: Any, config: Any, *, start: int = 8, limit: int = 4096,
                   on_try: Callable[[int, bool], Any] | None = None) -> tuple[BatchSearch, Any]:
    """``largest_batch`` for a project's network (a Graph) trained as ``config`` says: its
    device (``cuda:N`` included), optimiser, mixed precision and memory format; returns the
    search and the device. Off CUDA each size is first checked against the host's available
    memory with the training estimate (``limits.training_bytes``), so that a try never
    drives the machine into swapping: a size refused so counts as not fitting. Dense
    networks (detection, segmentation) take targets with their images and are refused."""
    from ..compiler.task import task_of
    from .distributed import DistEnv
    from .setup import EngineError, check_amp, resolve_device

    task = task_of(graph)
    if task not in (None, "classification"):
        raise EngineError(f"the largest batch is searched for classifiers only; this network "
                          f"is a {task} network (its batches hold targets as well as images).")
    device = resolve_device(config.device, DistEnv())
    check_amp(config, device)
    try:
        return _search(graph, config, device, start, limit, on_try), device
    finally:
        _release(device)  # the network and its optimiser's state have left the device


def _search(graph: Any, config: Any, device: Any, start: int, limit: int,
            on_try: Callable[[int, bool], Any] | None) -> BatchSearch:
    import torch

    from ..budget import BudgetError, check_memory
    from ..compiler import build
    from .limits import training_bytes
    from .optim import build_optimizer

    torch.manual_seed(config.seed)
    model = build(graph, init=config.init)
    autocast = None
    if config.amp != "off":
        dtype = torch.bfloat16 if config.amp == "bf16" else torch.float16
        autocast = lambda: torch.autocast(device_type="cuda", dtype=dtype)  # noqa: E731
    spec = graph.input_spec
    shape = (spec.channels, spec.height, spec.width)
    step = training_step(model, shape, device, optimizer=build_optimizer(model, config),
                         autocast=autocast, channels_last=config.channels_last)

    def guarded(batch: int) -> None:
        if device.type != "cuda":
            needed = training_bytes(graph, config.replace(batch_size=batch))
            try:
                check_memory(needed or 0, "", device)
            except BudgetError as exc:
                raise DoesNotFit(str(exc)) from None
        step(batch)

    return largest_batch(model, shape, device, try_step=guarded, start=start, limit=limit,
                         on_try=on_try)
