"""Writing what a run shows to files: its checkpoint, its plots as PNG, its curves as CSV."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # registers ImageExporter on pg.exporters

from .plots import MetricPlots

CSV_COLUMNS = ("step", "loss", "loss_smoothed", "accuracy", "accuracy_smoothed", "lr",
               "val_loss", "val_acc")


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


def metrics_csv(plots: MetricPlots) -> str:
    """One row per step: raw and smoothed training values, the learning rate, and the
    validation values on the steps where an epoch ended (empty elsewhere)."""
    steps = plots.loss.raw.x
    val_at = {float(s): (l, a) for s, l, a in zip(plots.loss.val.x, plots.loss.val.y,
                                                   plots.accuracy.val.y)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    columns = (plots.loss.raw.y, plots.loss.smooth.y, plots.accuracy.raw.y,
               plots.accuracy.smooth.y, plots.lr.y)
    for i, step in enumerate(steps):
        val_loss, val_acc = val_at.get(float(step), ("", ""))
        writer.writerow([int(step), *(_cell(c[i]) for c in columns), _cell(val_loss),
                         _cell(val_acc)])
    return out.getvalue()


def _cell(value: object) -> str:
    if value == "" or value is None:
        return ""
    number = float(value)
    return repr(number) if np.isfinite(number) else ("nan" if np.isnan(number) else
                                                     ("inf" if number > 0 else "-inf"))


def export_metrics(plots: MetricPlots, target: Path) -> Path:
    target.write_text(metrics_csv(plots), encoding="utf-8")
    return target
