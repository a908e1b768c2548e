"""The study's figures, drawn with matplotlib's object API on an Agg canvas (no pyplot, no
global backend: the app's Qt plots are not disturbed) and written as PNG and SVG.

    files = write_report(collect(study, folder), folder)

Every figure takes ``StudyResults`` and draws only; the numbers come from ``results``.
matplotlib is imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_text_atomic
from .results import StudyResults, pareto_front

SMOOTH = 0.1  # moving-average window as a share of the run's steps (training curves are noisy)
LOG_SETTINGS = ("lr", "weight_decay")


def _figure(width: float = 11.0, height: float = 4.6) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Any, base: Path) -> list[Path]:
    """``base``.png and ``base``.svg."""
    paths = [base.with_suffix(".png"), base.with_suffix(".svg")]
    for path in paths:
        figure.savefig(path)
    return paths


def smooth(values: np.ndarray, share: float = SMOOTH) -> np.ndarray:
    """A centred moving average over ``share`` of the points (NaN-free input)."""
    window = max(1, int(len(values) * share)) | 1
    if window == 1 or len(values) < window:
        return values
    padded = np.pad(values, window // 2, mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def _styles(results: StudyResults) -> dict[str, dict[str, Any]]:
    """One colour per run, or per depth with residual solid and plain dashed (degradation)."""
    from matplotlib import colormaps

    runs = results.study.runs
    if results.study.kind == "degradation":
        depths = results.study.settings["depths"]
        colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(depths)))
        return {r.name: {"color": colours[depths.index(r.values["depth"])],
                         "linestyle": "-" if r.values["skip"] else "--"} for r in runs}
    palette = colormaps["tab10"].colors
    return {r.name: {"color": palette[i % 10], "linestyle": "-"} for i, r in enumerate(runs)}


def draw_curves(results: StudyResults) -> Any:
    """Training error (smoothed per step) and validation error (per epoch) against step,
    every run overlaid, one legend for both panels."""
    figure = _figure()
    train_ax, val_ax = figure.subplots(1, 2, sharex=True)
    styles = _styles(results)
    for spec in results.study.runs:
        run = results.curves[spec.name]
        style = styles[spec.name]
        if len(run.step):
            train_ax.plot(run.step, 100 * smooth(1 - np.nan_to_num(run.accuracy)),
                          label=spec.label, lw=1.4, **style)
        if len(run.epoch_step):
            val_ax.plot(run.epoch_step, 100 * (1 - run.val_acc), marker="o", ms=3, lw=1.4,
                        label=spec.label, **style)
    for ax, title in ((train_ax, "Training error (moving average)"),
                      (val_ax, "Validation error (each epoch)")):
        ax.set(title=title, xlabel="step", ylabel="error (%)")
        ax.grid(alpha=0.3)
    handles, labels = max(train_ax.get_legend_handles_labels(),
                          val_ax.get_legend_handles_labels(), key=lambda h: len(h[0]))
    figure.legend(handles, labels, loc="outside right center", fontsize=8)
    figure.suptitle(results.study.title, fontsize=11)
    return figure


def draw_degradation(results: StudyResults) -> Any:
    """Final training and validation error against depth, residual and plain (He et al.
    2015, Fig. 1 and 6 summarised)."""
    figure = _figure(9.0, 4.2)
    axes = figure.subplots(1, 2, sharey=False)
    rows = results.rows
    for ax, column, title in ((axes[0], "final_train_error", "Final training error"),
                              (axes[1], "final_val_error", "Final validation error")):
        for skip, label, style in ((True, "residual", "-o"), (False, "plain", "--s")):
            points = sorted((r["depth"], 100 * r[column]) for r in rows
                            if r["skip"] is skip and math.isfinite(r[column]))
            if points:
                ax.plot(*zip(*points), style, label=label, lw=1.6)
        ax.set(title=title, xlabel="depth (weighted layers)", ylabel="error (%)")
        ax.set_xticks(results.study.settings["depths"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle("Error against depth, with and without skip connections", fontsize=11)
    return figure


def draw_pareto(results: StudyResults, cost: str = "params") -> Any:
    """Final validation accuracy against ``cost`` (params or macs), the Pareto front joined."""
    figure = _figure(7.5, 4.8)
    ax = figure.subplots()
    rows = results.rows
    x = [float(r[cost]) for r in rows]
    y = [100 * r["final_val_acc"] for r in rows]
    ax.scatter(x, y, s=30, zorder=3)
    for xi, yi, row in zip(x, y, rows):
        if math.isfinite(yi):
            ax.annotate(row["label"], (xi, yi), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")
    front = pareto_front(x, [v / 100 for v in y])
    if front:
        ax.plot([x[i] for i in front], [y[i] for i in front], "-", color="tab:red", lw=1.2,
                label="Pareto front", zorder=2)
        ax.legend(fontsize=8, loc="lower right")
    ax.set(title=f"Accuracy against cost ({'parameters' if cost == 'params' else 'MACs'})",
           xlabel="parameters" if cost == "params" else "multiply-accumulates per image",
           ylabel="final validation accuracy (%)")
    ax.grid(alpha=0.3)
    return figure


def draw_sweep(results: StudyResults) -> Any:
    """Final validation accuracy against the first swept setting, one line per value of the
    second (if any)."""
    names: Sequence[str] = results.study.settings["settings"]
    figure = _figure(7.5, 4.6)
    ax = figure.subplots()
    groups: dict[Any, list[tuple[Any, float]]] = {}
    for row in results.rows:
        key = row[names[1]] if len(names) > 1 else None
        groups.setdefault(key, []).append((row[names[0]], 100 * row["final_val_acc"]))
    numeric = all(isinstance(r[names[0]], (int, float)) for r in results.rows)
    for key, points in groups.items():
        points.sort(key=lambda p: p[0] if numeric else str(p[0]))
        xs = [p[0] if numeric else str(p[0]) for p in points]
        label = f"{names[1]} = {key}" if len(names) > 1 else "final validation accuracy"
        ax.plot(xs, [p[1] for p in points], "-o", label=label)
    if numeric and names[0] in LOG_SETTINGS:
        ax.set_xscale("log")
    ax.set(title=f"Sweep of {' × '.join(names)}", xlabel=names[0],
           ylabel="final validation accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure


def write_report(results: StudyResults, directory: str | Path) -> list[Path]:
    """results.csv, results.json and the study kind's figures (PNG + SVG) in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / "results.csv", results.to_csv())
    write_text_atomic(directory / "results.json", results.to_json())
    written = [directory / "results.csv", directory / "results.json"]
    drawings = [("curves", draw_curves)]
    kind = results.study.kind
    if kind == "degradation":
        drawings.append(("degradation", draw_degradation))
    if kind in ("variants", "sweep"):
        drawings.append(("pareto", draw_pareto))
        drawings.append(("pareto_macs", lambda r: draw_pareto(r, "macs")))
    if kind == "sweep":
        drawings.append(("sweep", draw_sweep))
    for name, draw in drawings:
        written += save(draw(results), directory / name)
    return written

