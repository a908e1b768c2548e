"""Writing exports atomically and checking them before they appear.

Every export is written under a hidden temporary name beside its destination, checked there,
and only then renamed into place. A failed check, an error or an interruption removes the
temporary file or folder, so a destination either holds a complete, verified export or is
left exactly as it was.

A caller that shows progress or may cancel wraps the export in ``watched(progress, cancel)``:
each stage (loading, writing and checking, putting in place) is reported, and a cancel takes
effect at the next stage — at the latest just before the rename, so a cancelled export
leaves nothing behind either.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ExportCancelled, ExportError

FILE_MODE, FOLDER_MODE = 0o644, 0o755  # mkstemp/mkdtemp make private ones; exports are shared
# Exported and trained outputs agree when |a - b| <= ATOL + RTOL * max|b| everywhere. Float32
# kernels of other runtimes reorder sums, which moves logits by about 1e-6 of their size.
ATOL, RTOL = 1e-4, 1e-4
EXAMPLE_BATCH, CHECK_BATCH = 2, 3  # the check uses another batch size than the export


STAGES = 3  # loading the checkpoint; writing and checking the export; putting it in place
Report = Callable[[int, int, str], None]
_WATCH: ContextVar[tuple[Report | None, threading.Event | None]] = ContextVar(
    "export_watch", default=(None, None))


@contextmanager
def watched(progress: Report | None, cancel: threading.Event | None) -> Iterator[None]:
    """Report the stages of the exports made in this block to ``progress(done, STAGES,
    text)``, and end them with ``ExportCancelled`` at the next stage once ``cancel`` is set."""
    token = _WATCH.set((progress, cancel))
    try:
        yield
    finally:
        _WATCH.reset(token)


def stage(done: int, text: str) -> None:
    """``done`` stages are over and ``text`` is next (ExportCancelled once cancelled)."""
    progress, cancel = _WATCH.get()
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("the export was cancelled; nothing was written.")
    if progress is not None:
        progress(done, STAGES, text)


def check_destination(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ExportError(f"{out} already exists; choose another path or allow overwriting "
                          "(--force).")
    if not out.parent.is_dir():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create the folder {out.parent}: {exc}") from None


@contextmanager
def staged_file(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary path beside ``out`` (same suffix, so tools that look at it are content);
    renamed to ``out`` when the block ends without an error, removed otherwise."""
    check_destination(out, overwrite)
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give a file name for this format.")
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".partial{out.suffix}",
                                dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        stage(STAGES - 1, f"putting {out.name} in place")
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def staged_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out``, renamed to ``out`` when the block succeeds. An
    existing ``out`` (with ``overwrite``) is moved aside first and deleted after the rename."""
    check_destination(out, overwrite)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; a bundle is a folder.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
        stage(STAGES - 1, f"putting {out.name} in place")
        os.chmod(tmp, FOLDER_MODE)
        _publish_folder(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish_folder(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ----- verification ---------------------------------------------------------------------------
def random_batch(shape: tuple[int, int, int], batch: int, seed: int = 0) -> torch.Tensor:
    """A reproducible batch of standard-normal images (what normalised images look like)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *shape, generator=gen)


def compare(what: str, got: torch.Tensor, want: torch.Tensor) -> float:
    """The largest absolute difference; raises ExportError (carrying it) when too large."""
    if tuple(got.shape) != tuple(want.shape):
        raise ExportError(f"{what}: gives outputs of shape {tuple(got.shape)} instead of "
                          f"{tuple(want.shape)}; nothing was written.")
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    if not bool(torch.isfinite(got).all()):
        raise ExportError(f"{what}: gives non-finite outputs; nothing was written.",
                          float("inf"))
    diff = float((got - want).abs().max()) if got.numel() else 0.0
    limit = ATOL + RTOL * float(want.abs().max()) if want.numel() else ATOL
    if not diff <= limit:
        raise ExportError(f"{what}: outputs differ from the trained network by up to "
                          f"{diff:.3g} (allowed {limit:.3g}) on a random batch of "
                          f"{got.shape[0]}; nothing was written.", diff)
    return diff


@dataclass(frozen=True)
class ExportResult:
    """A finished, verified export."""

    format: str
    path: Path
    checkpoint: Path          # what it was exported from
    max_abs_diff: float       # largest output difference found by the check
    checked_batch: int        # the batch size the check ran at

    def summary(self) -> str:
        return (f"Wrote {self.path} ({self.format}) from {self.checkpoint}; checked on a "
                f"random batch of {self.checked_batch}: outputs agree (max difference "
                f"{self.max_abs_diff:.2g}).")
