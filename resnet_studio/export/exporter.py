"""``export_checkpoint``: one entry point for every export format."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .bundle import export_bundle
from .errors import ExportError
from .formats import export_onnx, export_pt2, export_safetensors
from .staging import ExportResult
from .trained import Trained, open_trained

Writer = Callable[[Trained, Path, bool], ExportResult]

#: format → (writer, what it is, the file suffix a path usually has)
FORMATS: dict[str, tuple[Writer, str, str]] = {
    "bundle": (export_bundle, "folder: project, model.py, checkpoint, torchrun-ready train.py",
               ""),
    "onnx": (export_onnx, "ONNX model with a dynamic batch dimension", ".onnx"),
    "pt2": (export_pt2, "torch.export program (load only from trusted sources)", ".pt2"),
    "safetensors": (export_safetensors, "weights with the project in the metadata",
                    ".safetensors"),
}


def export_checkpoint(source: str | os.PathLike, fmt: str, out: str | os.PathLike, *,
                      overwrite: bool = False) -> ExportResult:
    """Export the checkpoint (or run directory: its best.pt, else last.pt) ``source`` as
    ``fmt`` to ``out``.

    The export is written under a temporary name, checked by comparing its outputs with the
    trained network's on a random batch, and renamed to ``out`` only if they agree. Raises
    ExportError (with ``max_abs_diff`` when the check failed) and then leaves nothing behind;
    an existing ``out`` is replaced only with ``overwrite``.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format ‘{fmt}’; choose one of {', '.join(FORMATS)}.")
    out = Path(out)
    if out.exists() and not overwrite:  # before the (slow) loading: refuse at once
        raise ExportError(f"{out} already exists; choose another path or allow overwriting "
                          "(--force).")
    trained = open_trained(source)
    writer = FORMATS[fmt][0]
    return writer(trained, out, overwrite)
