"""Checkpoint files: a plain dict saved with ``torch.save``, written atomically, read safely.

A checkpoint holds only tensors and plain Python values, so ``torch.load(weights_only=True)``
reads it; nothing here ever falls back to unsafe unpickling, which could run code from a file
someone else made. Writing goes to a temporary file in the same folder, is flushed and
fsync'ed, then renamed over the old file with ``os.replace``: a crash or a full disk at any
moment leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..budget import reading_problem
from ..files import out_of_space, write_atomic
from .checkpoint_fields import field_problem

MARKER = "resnet_studio_checkpoint"
FORMAT = 1
DATA_INFO = "data_info"  # the dataset's description (class names, mean, std), when known
DATA_SPEC = "data_spec"  # data.spec.DataSpec.to_dict() of the data it trained on, when known
REQUIRED = ("model", "optimizer", "scheduler", "epoch", "step", "batch", "config")
_ZIP_MAGIC = b"PK\x03\x04"


class CheckpointError(Exception):
    """A checkpoint that cannot be written or read; the message names the file."""

    def __init__(self, path: str | os.PathLike, message: str, *, named: bool = False):
        super().__init__(message if named else f"{path}: {message}")
        self.path = str(path)


class DiskFullError(CheckpointError):
    """A checkpoint that could not be written because the disk (or quota) is full. The file
    it would have replaced is intact and its temporary file is removed."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path, f"no space left on device while writing {path}", named=True)


def versions() -> dict[str, str]:
    # plain str: TorchVersion is a class
    return {"resnet_studio": str(__version__), "torch": str(torch.__version__)}


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` (which must carry the marker) to ``path`` atomically. Raises
    ``DiskFullError`` when the disk is full (torch reports that as a ``RuntimeError``),
    ``CheckpointError`` for other failures of the file system; either way ``path`` is as
    it was."""
    if state.get(MARKER) != FORMAT:
        raise ValueError(f"checkpoint state must carry {MARKER}={FORMAT}")
    path = Path(path)
    try:
        write_atomic(path, lambda handle: torch.save(state, handle))
    except (OSError, RuntimeError) as exc:
        if out_of_space(exc, path.parent):
            raise DiskFullError(path) from None
        if not isinstance(exc, OSError):
            raise
        raise CheckpointError(path, f"cannot be written ({exc.strerror or exc}).") from None


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint. Raises ``CheckpointError`` for a missing, damaged,
    foreign or unsafe file; never unpickles anything ``weights_only`` refuses."""
    path = Path(path)
    if not path.is_file():
        not_one = "is not a file (a folder, a device or a pipe); give a checkpoint file."
        raise CheckpointError(path, not_one if path.exists() else "no such checkpoint file.")
    _check_container(path)
    problem = reading_problem(path)
    if problem:
        raise CheckpointError(path, f"{problem}; it is not loaded.")
    _check_crcs(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(path, _refusal(exc)) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise CheckpointError(path,
                              f"is damaged and cannot be read ({_first_line(exc)}).") from None
    return _checked(path, state)


def _check_container(path: Path) -> None:
    """torch.save writes a zip archive; anything else is not one of ours."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if zipfile.is_zipfile(path):
        return
    if head == _ZIP_MAGIC:
        raise CheckpointError(path, "is truncated or damaged (its archive directory is missing); "
                                    "the write was probably interrupted. Use an earlier "
                                    "checkpoint.")
    raise CheckpointError(path, "is not a ResNet Studio checkpoint (not a PyTorch archive).")


def _check_crcs(path: Path) -> None:
    try:
        bad = damaged_member(path)
    except (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, zlib.error) as exc:
        raise CheckpointError(path, f"is damaged and cannot be read ({_first_line(exc)}).") \
            from None
    if bad is not None:
        raise CheckpointError(path, f"is damaged: its member ‘{bad}’ does not match the checksum "
                                    "stored when it was written (a changed or corrupted byte). "
                                    "It is not loaded; use an earlier checkpoint.")


def damaged_member(path: str | os.PathLike) -> str | None:
    """The first member of the zip archive ``path`` (a torch.save file) whose bytes do not
    match the CRC-32 the writer stored, or None. ``torch.load`` does not check them, so a
    flipped bit in a tensor would otherwise load as a wrong weight. Raises what a damaged
    archive raises (``BadZipFile``, ``zlib.error``, ``OSError``…)."""
    with zipfile.ZipFile(path) as archive:
        return archive.testzip()


def _refusal(exc: Exception) -> str:
    found = re.search(r"WeightsUnpickler error: ([^\n]*)", str(exc))
    reason = found.group(1).strip().rstrip(".") if found else _first_line(exc)
    return ("holds Python objects that a safe load refuses "
            f"({reason}). It was not written by ResNet Studio, or was altered; it is not loaded, "
            "because unpickling it could run arbitrary code.")


def _checked(path: Path, state: Any) -> dict[str, Any]:
    if not isinstance(state, dict) or MARKER not in state:
        raise CheckpointError(path, "is not a ResNet Studio checkpoint (the format marker "
                                    f"‘{MARKER}’ is missing).")
    version = state[MARKER]
    if not isinstance(version, int) or version > FORMAT:
        raise CheckpointError(path, f"has checkpoint format {version!r}; this version reads "
                                    f"format {FORMAT}. Use a newer ResNet Studio.")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(path, f"is incomplete (missing {', '.join(missing)}).")
    problem = field_problem(state)
    if problem:
        raise CheckpointError(path, f"is damaged or was altered: {problem}. It is not loaded.")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


# ----- random number generators ---------------------------------------------------------------
def rng_state(device: torch.device) -> dict[str, Any]:
    """The generators training draws from (dropout, drop-path): torch's CPU generator and the
    CUDA generators. The data pipeline seeds its own from (seed, epoch, batch)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda")
    if device.type == "cuda" and cuda and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
