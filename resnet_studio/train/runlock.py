"""The run directory's lock: one writer per run directory (``resnet_studio.locks``).

The engine takes it for the whole of ``run()``; the ``train`` command takes it first, before
it looks at what the directory holds, so that a second command is refused at once. Under
torchrun only rank 0 writes the run directory, so only rank 0 takes the lock.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..locks import LockBusy, hold

__all__ = ["HINT", "LockBusy", "hold_run_dir"]

HINT = "wait for it or choose another run directory"


def hold_run_dir(run_dir: str | Path | None, what: str | None = None,
                 hint: str = HINT) -> Any:
    """A context manager holding ``run_dir``'s lock (nothing for no run directory or on a
    rank other than 0); raises ``LockBusy`` naming the holder when another has it."""
    if run_dir is None or not _main_rank():
        return contextlib.nullcontext()
    return hold(run_dir, what, hint=hint)


def _main_rank() -> bool:
    # torchrun's RANK, read as distributed.detect does (a malformed value fails later, there)
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True
