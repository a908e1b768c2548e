"""The study's figures, drawn with matplotlib's object API on an Agg canvas (no pyplot, no
global backend: the app's Qt plots are not disturbed) and written as PNG and SVG.

    files = write_report(collect(study, folder), folder)

Every figure takes ``StudyResults`` and draws only; the numbers come from ``results`` (the
summary figures from its per-configuration ``summary``: means with 95 % intervals as error
bars). Each figure's title carries the effective training settings, and a red line at its
foot says when nothing was learned at the study's budget.
matplotlib is imported on first use.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_text_atomic
from .aggregate import NOTHING_LEARNED
from .report import write_markdown
from .results import StudyResults, pareto_front
from .stats import Estimate
from .trial import EARLY

SMOOTH = 0.1  # moving-average window as a share of the run's steps (training curves are noisy)
LOG_SETTINGS = ("lr", "weight_decay")
REPEAT_ALPHA = 0.3  # each seed's own curve, behind the mean of the seeds


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
    padded = np.pad(np.asarray(values, np.float64), window // 2, mode="edge")
    # Running sums: O(n) whatever the window (a live study view smooths its running run's
    # whole curve several times a second; a convolution would cost n × window).
    sums = np.concatenate(([0.0], np.cumsum(padded)))
    return (sums[window:] - sums[:-window]) / window


def _styles(results: StudyResults) -> dict[str, dict[str, Any]]:
    """One colour per configuration, or per depth with residual solid and plain dashed
    (degradation)."""
    from matplotlib import colormaps

    runs = results.study.runs
    if results.study.kind == "degradation":
        depths = results.study.settings["depths"]
        colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(depths)))
        return {r.name: {"color": colours[depths.index(r.values["depth"])],
                         "linestyle": "-" if r.values["skip"] else "--"} for r in runs}
    palette = colormaps["tab10"].colors  # one colour per configuration, shared by its seeds
    return {name: {"color": palette[i % 10], "linestyle": "-"}
            for i, config in enumerate(results.summary) for name in config.runs}


def decorate(figure: Any, results: StudyResults, title: str) -> None:
    """The title with the effective training settings under it, and the budget warning as a
    red line at the foot of the figure when nothing was learned."""
    effective = results.study.settings.get("effective")
    text = title if not effective else f"{title}\n{textwrap.fill(str(effective), _chars(figure))}"
    figure.suptitle(text, fontsize=10)
    if results.nothing_learned:
        figure.supxlabel(NOTHING_LEARNED, color="tab:red", fontsize=10, fontweight="bold")


def _chars(figure: Any, fontsize: float = 10.0) -> int:
    """Characters of a ``fontsize`` line that fit the figure's width (a character of
    DejaVu Sans averages about 0.6 em; a margin is kept on both sides)."""
    width_points = figure.get_figwidth() * 72 * 0.94
    return max(40, int(width_points / (0.6 * fontsize)))


def _groups(results: StudyResults) -> list[tuple[Any, list[Any]]]:
    """(configuration summary, its run specs) in plan order."""
    specs = {s.name: s for s in results.study.runs}
    return [(c, [specs[name] for name in c.runs]) for c in results.summary]


def mean_curve(xs: list[np.ndarray], ys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The mean of several runs' curves at each point of the longest, over the runs that
    reached it with a finite value (NaN where none did: a diverged run stays visible)."""
    longest = max(range(len(xs)), key=lambda i: len(xs[i]))
    table = np.full((len(ys), len(xs[longest])), np.nan)
    for row, y in zip(table, ys):
        row[: len(y)] = y
    counts = np.isfinite(table).sum(axis=0)
    sums = np.nansum(table, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xs[longest], np.where(counts > 0, sums / counts, np.nan)


def draw_curves(results: StudyResults) -> Any:
    """Training error (smoothed per step) and validation error (per epoch) against step, one
    line per configuration (the mean of its seeds, each seed drawn faintly behind it), one
    legend for both panels."""
    figure = _figure()
    train_ax, val_ax = figure.subplots(1, 2, sharex=True)
    styles = _styles(results)
    for config, specs in _groups(results):
        runs = [results.curves[spec.name] for spec in specs]
        style = styles[specs[0].name]
        label = config.label + (f" ({EARLY})" if any(r.status == EARLY for r in runs) else "")
        _draw_repeats(train_ax, [(r.step, 100 * smooth(1 - np.nan_to_num(r.accuracy)))
                                 for r in runs if len(r.step)], label, style, {})
        _draw_repeats(val_ax, [(r.epoch_step, 100 * (1 - r.val_acc)) for r in runs
                               if len(r.epoch_step)], label, style,
                      {"marker": "o", "ms": 3})
    for ax, title in ((train_ax, "Training error (moving average)"),
                      (val_ax, "Validation error (each epoch)")):
        ax.set(title=title, xlabel="step", ylabel="error (%)")
        ax.grid(alpha=0.3)
    handles, labels = max(train_ax.get_legend_handles_labels(),
                          val_ax.get_legend_handles_labels(), key=lambda h: len(h[0]))
    if handles:
        figure.legend(handles, labels, loc="outside right center", fontsize=8)
    decorate(figure, results, results.study.title)
    return figure


def _draw_repeats(ax: Any, curves: list[tuple[np.ndarray, np.ndarray]], label: str,
                  style: dict[str, Any], marks: dict[str, Any]) -> None:
    """One run as a line; several: each faintly (no legend entry), their mean on top."""
    if not curves:
        return
    if len(curves) > 1:
        for x, y in curves:
            ax.plot(x, y, lw=0.8, alpha=REPEAT_ALPHA, label="_seed", **style)
    x, y = mean_curve([c[0] for c in curves], [c[1] for c in curves])
    ax.plot(x, y, lw=1.6, label=label, **marks, **style)


def _errorbar(ax: Any, xs: Sequence[Any], estimates: Sequence[Estimate], fmt: str,
              label: str) -> Any:
    """Means (in %) with their 95 % intervals as error bars (none where one seed)."""
    kept = [(x, e) for x, e in zip(xs, estimates) if e.n]
    if not kept:
        return None
    x = [k[0] for k in kept]
    y = [100 * e.mean for _, e in kept]
    err = [100 * (e.half if math.isfinite(e.half) else 0.0) for _, e in kept]
    return ax.errorbar(x, y, yerr=err, fmt=fmt, capsize=3, lw=1.6, label=label)


def draw_degradation(results: StudyResults) -> Any:
    """Final training and validation error (mean ± 95 % interval over seeds) against depth,
    residual and plain (He et al. 2015, Fig. 1 and 6 summarised)."""
    figure = _figure(9.0, 4.4)
    axes = figure.subplots(1, 2, sharey=False)
    for ax, measure, title in ((axes[0], "train_error", "Final training error"),
                               (axes[1], "val_error", "Final validation error")):
        for skip, label, fmt in ((True, "residual", "-o"), (False, "plain", "--s")):
            configs = sorted((c for c in results.summary if c.values["skip"] is skip),
                             key=lambda c: c.values["depth"])
            _errorbar(ax, [c.values["depth"] for c in configs],
                      [getattr(c, measure) for c in configs], fmt, label)
        ax.set(title=title, xlabel="depth (weighted layers)", ylabel="error (%)")
        ax.set_xticks(results.study.settings["depths"])
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    decorate(figure, results, "Error against depth, with and without skip connections")
    return figure


def draw_bars(results: StudyResults) -> Any:
    """Final training and validation error of each configuration as bars, the 95 %
    interval over seeds as error bars (variants and twin)."""
    figure = _figure(max(6.0, 1.2 * len(results.summary) + 3), 4.6)
    ax = figure.subplots()
    configs = results.summary
    positions = np.arange(len(configs))
    for offset, measure, label in ((-0.2, "train_error", "training error"),
                                   (0.2, "val_error", "validation error")):
        estimates = [getattr(c, measure) for c in configs]
        heights = [100 * e.mean if e.n else 0.0 for e in estimates]
        errors = [100 * e.half if math.isfinite(e.half) else 0.0 for e in estimates]
        ax.bar(positions + offset, heights, width=0.4, yerr=errors, capsize=3, label=label)
    ax.set_xticks(positions, [c.label for c in configs], rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="final error (%)", title="Final error of each configuration (mean ± 95 % CI)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    decorate(figure, results, results.study.title)
    return figure


def draw_pareto(results: StudyResults, cost: str = "params") -> Any:
    """Final validation accuracy (mean ± 95 % interval over seeds) against ``cost`` (params
    or macs), one point per configuration, the Pareto front joined."""
    figure = _figure(7.5, 4.8)
    ax = figure.subplots()
    configs = results.summary
    x = [float(getattr(c, cost)) for c in configs]
    y = [100 * (1 - c.val_error.mean) for c in configs]
    err = [100 * c.val_error.half if math.isfinite(c.val_error.half) else 0.0 for c in configs]
    ax.errorbar(x, y, yerr=err, fmt="o", ms=5, capsize=3, zorder=3)
    for xi, yi, config in zip(x, y, configs):
        if math.isfinite(yi):
            ax.annotate(config.label, (xi, yi), fontsize=8, xytext=(4, 4),
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
    decorate(figure, results, results.study.title)
    return figure


def draw_sweep(results: StudyResults) -> Any:
    """Final validation accuracy (mean ± 95 % interval over seeds) against the first swept
    setting, one line per value of the second (if any)."""
    names: Sequence[str] = results.study.settings["settings"]
    figure = _figure(7.5, 4.6)
    ax = figure.subplots()
    groups: dict[Any, list[Any]] = {}
    for config in results.summary:
        key = config.values[names[1]] if len(names) > 1 else None
        groups.setdefault(key, []).append(config)
    numeric = all(isinstance(c.values[names[0]], (int, float)) for c in results.summary)
    for key, configs in groups.items():
        configs.sort(key=lambda c: c.values[names[0]] if numeric else str(c.values[names[0]]))
        xs = [c.values[names[0]] if numeric else str(c.values[names[0]]) for c in configs]
        accuracy = [Estimate(1 - c.val_error.mean, c.val_error.half, c.val_error.n)
                    for c in configs]
        label = f"{names[1]} = {key}" if len(names) > 1 else "final validation accuracy"
        _errorbar(ax, xs, accuracy, "-o", label)
    if numeric and names[0] in LOG_SETTINGS:
        ax.set_xscale("log")
    ax.set(title=f"Sweep of {' × '.join(names)}", xlabel=names[0],
           ylabel="final validation accuracy (%)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    decorate(figure, results, results.study.title)
    return figure


def write_report(results: StudyResults, directory: str | Path) -> list[Path]:
    """results.csv (one row per run), summary.csv (one per configuration), results.json,
    report.md and the study kind's figures (PNG + SVG) in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / "results.csv", results.to_csv())
    write_text_atomic(directory / "summary.csv", results.summary_csv())
    write_text_atomic(directory / "results.json", results.to_json())
    written = [directory / "results.csv", directory / "summary.csv",
               directory / "results.json", write_markdown(results, directory / "report.md")]
    drawings = [("curves", draw_curves)]
    kind = results.study.kind
    if kind == "degradation":
        drawings.append(("degradation", draw_degradation))
    if kind in ("variants", "twin"):
        drawings.append(("errors", draw_bars))
    if kind in ("variants", "sweep"):
        drawings.append(("pareto", draw_pareto))
        drawings.append(("pareto_macs", lambda r: draw_pareto(r, "macs")))
    if kind == "sweep":
        drawings.append(("sweep", draw_sweep))
    for name, draw in drawings:
        written += save(draw(results), directory / name)
    return written

