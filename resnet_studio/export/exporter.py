"""``export_checkpoint``: one entry point for every export format."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from .backbone import export_backbone
from .bundle import export_bundle
from .errors import ExportError
from .formats import export_onnx, export_pt2, export_safetensors
from .staging import STAGES, ExportResult, Report, stage, watched
from .trained import Trained, open_trained

Writer = Callable[[Trained, Path, bool], ExportResult]

#: format → (writer, what it is, the file suffix a path usually has)
FORMATS: dict[str, tuple[Writer, str, str]] = {
    "bundle": (export_bundle, "folder: project, model.py, checkpoint, torchrun-ready train.py",
               ""),
    "backbone": (export_backbone, "folder: backbone.py (the stages' feature maps, optionally "
                 "with torchvision's feature pyramid) and the backbone's weights", ""),
    "onnx": (export_onnx, "ONNX model with a dynamic batch dimension", ".onnx"),
    "pt2": (export_pt2, "torch.export program (load only from trusted sources)", ".pt2"),
    "safetensors": (export_safetensors, "weights with the project in the metadata",
                    ".safetensors"),
}


def export_checkpoint(source: str | os.PathLike, fmt: str, out: str | os.PathLike, *,
                      overwrite: bool = False, progress: Report | None = None,
                      cancel: threading.Event | None = None) -> ExportResult:
    """Export the checkpoint (or run directory: its best.pt, else last.pt) ``source`` as
    ``fmt`` to ``out``.

    The export is written under a temporary name, checked by comparing its outputs with the
    trained network's on a random batch, and renamed to ``out`` only if they agree. Raises
    ExportError (with ``max_abs_diff`` when the check failed) and then leaves nothing behind;
    an existing ``out`` is replaced only with ``overwrite``. ``progress(done, total, text)``
    hears of each stage; once ``cancel`` is set the export ends at the next stage with
    ExportCancelled, and nothing is written (``staging.watched``).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format ‘{fmt}’; choose one of {', '.join(FORMATS)}.")
    out = Path(out)
    if out.exists() and not overwrite:  # before the (slow) loading: refuse at once
        raise ExportError(f"{out} already exists; choose another path or allow overwriting "
                          "(--force).")
    with watched(progress, cancel):
        stage(0, "loading the checkpoint")
        trained = open_trained(source)
        stage(1, f"writing the {fmt} export and checking it against the trained network")
        result = FORMATS[fmt][0](trained, out, overwrite)
        if progress is not None:
            progress(STAGES, STAGES, "done")
        return result

