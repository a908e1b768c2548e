"""PNG figures of the analyses' results, drawn with matplotlib's Agg backend.

Drawing is kept apart from computing: every function here takes a result object and a path,
and matplotlib is imported only when a figure is drawn (the app renders results itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .tables import images

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display, no Qt)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path


def signal_figure(result: Any, path: Path, title: str) -> Path:
    """Three panels over depth: activation RMS, output-gradient norm, weight-gradient norm."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), layout="constrained")
    panels = (("activation_rms", "forward: RMS of each layer's output"),
              ("output_grad_norm", "backward: ‖∂loss/∂output‖ of each layer"),
              ("weight_grad_norm", "‖∂loss/∂weight‖ of each layer"))
    for ax, (attr, label) in zip(axes, panels):
        for colour, curve in zip(COLOURS, result.curves):
            values = getattr(curve, attr)
            ax.plot(np.arange(1, len(values) + 1), values, marker=".", markersize=3,
                    color=colour, label=f"{curve.label} (first layer {values[0]:.3g})")
        ax.set_yscale("log")
        ax.set_xlabel("layer (convolution / linear, in forward order)")
        ax.set_ylabel(label.split(": ")[-1])
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return save(fig, path)


def lesion_figure(results: list[Any], path: Path, chance: float | None = None) -> Path:
    """One bar chart per network: accuracy without each block, the intact network's accuracy
    as a line; blocks that could not be removed are marked "n/a"."""
    plt = pyplot()
    widths = [max(6.0, 0.32 * len(r.blocks) + 2) for r in results]
    fig, axes = plt.subplots(1, len(results), figsize=(sum(widths), 4.8), squeeze=False,
                             layout="constrained", width_ratios=widths)
    for ax, colour, result in zip(axes[0], COLOURS, results):
        x = np.arange(len(result.blocks))
        ax.bar(x, np.nan_to_num(result.accuracy * 100), color=colour, alpha=0.8,
               label="accuracy with this block removed")
        ax.axhline(result.baseline_accuracy * 100, color="black", linestyle="--",
                   label=f"intact network ({result.baseline_accuracy:.1%})")
        if chance:
            ax.axhline(chance * 100, color="grey", linestyle=":", label=f"chance ({chance:.0%})")
        for i in np.flatnonzero(np.isnan(result.accuracy)):
            ax.text(i, 1, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_xticks(x, result.blocks, rotation=90, fontsize=7)
        ax.set_ylim(0, 119)
        ax.set_xlabel("removed block")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(f"{result.label}: lesion study on {images(result.samples)}", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", ncol=3)
    return save(fig, path)


def landscape_figures(results: list[Any], folder: Path) -> list[Path]:
    """The 1-D curves (all networks on one axis), and per network a contour and a surface
    of the 2-D slice; the networks side by side."""
    return [_landscape_curve(results, folder / "landscape_1d.png"),
            _landscape_contours(results, folder / "landscape_contour.png"),
            _landscape_surfaces(results, folder / "landscape_surface.png")]


def _landscape_curve(results: list[Any], path: Path) -> Path:
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for colour, r in zip(COLOURS, results):
        ax_loss.plot(r.alphas, r.loss_1d, color=colour, marker=".", label=r.label)
        ax_acc.plot(r.alphas, r.accuracy_1d * 100, color=colour, marker=".", label=r.label)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("cross-entropy loss (log scale)")
    ax_acc.set_ylabel("accuracy (%)")
    for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("α (step along a filter-normalised random direction)")
        ax.set_title(f"1-D slice: {what} at trained weights + α·d", fontsize=10)
        ax.axvline(0, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Loss landscape around the trained weights "
                 f"({images(results[0].samples, 'validation image')})")
    return save(fig, path)


def _landscape_contours(results: list[Any], path: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 5), squeeze=False,
                             layout="constrained")
    levels = _log_levels(results)
    for ax, r in zip(axes[0], results):
        a, b = np.meshgrid(r.alphas_2d, r.betas_2d, indexing="ij")
        filled = ax.contourf(a, b, np.log10(r.loss_2d), levels=levels, cmap="viridis")
        ax.contour(a, b, np.log10(r.loss_2d), levels=levels, colors="white", linewidths=0.4)
        ax.plot(0, 0, marker="*", color="red", markersize=12, label="trained weights")
        ax.set_xlabel("α (direction d₁)")
        ax.set_ylabel("β (direction d₂)")
        ax.set_title(f"{r.label}: loss at w + α·d₁ + β·d₂", fontsize=10)
        ax.legend(fontsize=8, loc="upper right")
    fig.colorbar(filled, ax=axes[0].tolist(), label="log₁₀ loss")
    return save(fig, path)


def _landscape_surfaces(results: list[Any], path: Path) -> Path:
    plt = pyplot()
    fig = plt.figure(figsize=(6.5 * len(results), 5.5), layout="constrained")
    for index, r in enumerate(results, 1):
        ax = fig.add_subplot(1, len(results), index, projection="3d")
        a, b = np.meshgrid(r.alphas_2d, r.betas_2d, indexing="ij")
        ax.plot_surface(a, b, r.loss_2d, cmap="viridis", edgecolor="none", alpha=0.9)
        ax.set_xlabel("α (d₁)")
        ax.set_ylabel("β (d₂)")
        ax.set_zlabel("loss")
        ax.set_title(f"{r.label}: loss surface", fontsize=10)
    return save(fig, path)


def _log_levels(results: list[Any]) -> np.ndarray:
    """Shared contour levels (log₁₀ loss) so side-by-side plots compare at a glance."""
    values = np.concatenate([np.log10(r.loss_2d).ravel() for r in results])
    values = values[np.isfinite(values)]
    return np.linspace(values.min(), values.max() + 1e-9, 25)


def explain_figure(result: Any, path: Path, title: str) -> Path:
    """Top row: the image, Grad-CAM over it, the pixel attribution, the top-k bars; below,
    one mosaic of the first feature-map channels per stage."""
    plt = pyplot()
    stages = list(result.feature_maps.items())
    fig = plt.figure(figsize=(16, 8.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 0.9))
    axes = top.subplots(1, 4, width_ratios=(1, 1, 1, 1.3))
    image = result.image[..., 0] if result.image.shape[-1] == 1 else result.image
    cmap = "gray" if image.ndim == 2 else None
    axes[0].imshow(image, cmap=cmap)
    axes[0].set_title("input, as fitted to the network", fontsize=10)
    axes[1].imshow(image, cmap=cmap)
    shown = axes[1].imshow(result.gradcam, cmap="jet", alpha=0.5, vmin=0, vmax=1)
    axes[1].set_title(f"Grad-CAM on {result.gradcam_layer} for ‘{result.target}’", fontsize=10)
    axes[2].imshow(result.attribution, cmap="inferno", vmin=0, vmax=1)
    axes[2].set_title(f"{result.method.replace('_', ' ')} for ‘{result.target}’", fontsize=10)
    for ax in axes[:3]:
        ax.set_xticks([])
        ax.set_yticks([])
    top.colorbar(shown, ax=axes[1:3].tolist(), shrink=0.8, label="relevance (scaled to 0–1)")
    _top_k_bars(axes[3], result)
    _feature_mosaics(bottom, stages)
    fig.suptitle(title)
    return save(fig, path)


def _top_k_bars(ax: Any, result: Any) -> None:
    y = np.arange(len(result.classes))[::-1]
    ax.barh(y, np.array(result.probabilities) * 100, color=COLOURS[0])
    ax.set_yticks(y, result.classes)
    for yi, p in zip(y, result.probabilities):
        ax.text(p * 100 + 1, yi, f"{p:.1%}", va="center", fontsize=8)
    ax.set_xlim(0, 115)
    scores = getattr(result, "scores", "probability")
    ax.set_xlabel(f"{scores} (%)")
    ax.set_title(f"top {len(result.classes)} predictions" if scores == "probability" else
                 f"top {len(result.classes)} classes by {scores}", fontsize=10)


def _feature_mosaics(fig: Any, stages: list[tuple[str, np.ndarray]]) -> None:
    axes = np.atleast_1d(fig.subplots(1, max(1, len(stages))))
    for ax, (name, maps) in zip(axes, stages):
        ax.imshow(mosaic(maps), cmap="viridis")
        ax.set_title(f"{name}: first {len(maps)} channels ({maps.shape[1]}×{maps.shape[2]})",
                     fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("feature maps of each stage (each channel scaled to its own range)",
                 fontsize=10)


def mosaic(maps: np.ndarray, columns: int = 4) -> np.ndarray:
    """Channels tiled in rows of ``columns``, each scaled to [0, 1], one pixel of gap."""
    k, h, w = maps.shape
    rows = -(-k // columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, m in enumerate(maps):
        span = m.max() - m.min()
        r, c = divmod(i, columns)
        out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = (
            (m - m.min()) / span if span > 0 else 0.0)
    return out
