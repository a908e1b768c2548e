"""PNG figures of the analyses' results, drawn with matplotlib's Agg backend.

Drawing is kept apart from computing: every function here takes a result object and a path,
and matplotlib is imported only when a figure is drawn (the app renders results itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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
