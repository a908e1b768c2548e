"""Writing what a run shows to files: its checkpoint, its plots as PNG, its curves as CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # registers ImageExporter on pg.exporters

from ...train.history import RunHistory


def export_checkpoint(run_dir: Path, target: Path, which: str = "last.pt") -> Path:
    """Copy the run's checkpoint (``last.pt``: the latest weights) to ``target``.

    Raises FileNotFoundError naming the file when the run has none yet (no epoch finished
    and never stopped), OSError when ``target`` cannot be written."""
    source = run_dir / which
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist yet: a checkpoint is written at the "
                                "end of each epoch and when a run is stopped.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def export_png(layout: pg.GraphicsLayoutWidget, target: Path, width: int = 1600) -> Path:
    """Render every plot of ``layout`` into one PNG ``width`` pixels wide."""
    exporter = pg.exporters.ImageExporter(layout.ci)
    exporter.parameters()["width"] = width
    exporter.export(str(target))
    return target


def export_metrics(history: RunHistory, target: Path) -> Path:
    """The run's per-step values as CSV (``RunHistory.to_csv``)."""
    target.write_text(history.to_csv(), encoding="utf-8")
    return target
