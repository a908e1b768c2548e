"""Writing what a run shows to files: its checkpoint, its plots as PNG, its curves as CSV."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # registers ImageExporter on pg.exporters

from ...train.history import RunHistory


def export_checkpoint(source: Path, target: Path) -> Path:
    """Copy the checkpoint ``source`` to ``target`` with the data's description
    (``export.trained.copy_checkpoint``), so exports made from the copy keep the input
    normalisation. Raises ExportError naming the file that cannot be read or written."""
    from ...export.trained import copy_checkpoint  # torch: not on the GUI start-up path

    return copy_checkpoint(source, target)


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
