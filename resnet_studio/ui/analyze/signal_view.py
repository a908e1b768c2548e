"""The signal-propagation tab: per-layer activation RMS and weight-gradient norm at init, for
the project and its plain twin side by side, on log scales, with a note that says which
BatchNorm mode was used and what the numbers mean (they depend on it: with the batch's
statistics a deep plain network's early gradients blow up; with running statistics they
die away, while the residual network's grow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton

from ...analysis.tables import images
from ..train import plotstyle as style
from .base import AnalysisView, log_room_for_legend, plot_widget

PANELS = (("activation_rms", "Forward: RMS of each layer's output", "activation RMS"),
          ("weight_grad_norm", "Backward: ‖∂loss/∂W‖ of each layer", "weight-gradient norm"))


def mode_text(settings: dict[str, Any]) -> str:
    """What the BatchNorm mode means for the curves shown."""
    if settings.get("batchnorm_layers") == 0:
        return ("The network has no BatchNorm layer, so normalising with the batch's or the "
                "running statistics makes no difference here.")
    if settings.get("batch_stats", True):
        return ("BatchNorm normalised with each batch's statistics (training mode, as on the "
                "first step). In this mode a deep plain network's early-layer gradients tend "
                "to explode relative to the residual one's.")
    return ("BatchNorm used its initial running statistics (mean 0, variance 1), i.e. no "
            "normalisation. In this mode a deep plain network's early-layer gradients tend to "
            "vanish, while the residual network's grow with depth.")


def summary_text(result: Any) -> str:
    """The first-layer gradients of each network and their ratio, in one sentence."""
    first = result.first_layer_gradients()
    parts = [f"{label} {value:.3g}" for label, value in first.items()]
    text = "First-layer ‖∂loss/∂W‖: " + ", ".join(parts)
    values = list(first.values())
    if len(values) == 2 and values[0] > 0:
        text += f" (twin ÷ network = {values[1] / values[0]:.3g})"
    settings = result.settings
    return (f"{text}. One batch of {images(settings.get('batch_size', 0))}, init seed "
            f"{settings.get('seed')}" + (", zero-init residual" if settings.get(
                "zero_init_residual") else "") + ". " + mode_text(settings))


class SignalView(AnalysisView):
    """Refresh re-measures the project as it is now; with "re-run after edits" on, the
    feature refreshes it after each edit while the tab is visible."""

    refresh_requested = Signal()
    title = "Signal propagation at initialisation"
    empty_text = ("Nothing measured yet: press Refresh below, or Analyze ▸ Signal Propagation "
                  "at Init… to choose its options.")
    key = "signal"
    source_text = ("Of the project being edited, freshly initialised: no trained run is "
                   "needed.")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots = [plot_widget(title, "layer (conv / linear, forward order)", axis, True)
                      for _, title, axis in PANELS]
        row = QHBoxLayout(self.body)
        row.setContentsMargins(0, 0, 0, 0)
        for plot in self.plots:
            style.card_legend(plot.getPlotItem(), (-6, 6))
            row.addWidget(plot)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Measure the project again, as it is now")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.follow_edits = QCheckBox("Re-run after edits", checked=True)
        self.buttons.insertWidget(0, self.follow_edits)
        self.buttons.insertWidget(0, self.refresh_button)
        self.options: dict[str, Any] | None = None  # the settings of the last run, for Refresh

    def draw(self, result: Any, context: dict[str, Any]) -> None:
        self.note.setText(summary_text(result))
        for plot, (attr, _, _) in zip(self.plots, PANELS):
            item = plot.getPlotItem()
            item.clear()
            drawn = []
            for colour, curve in zip(style.RUN_COLOURS, result.curves):
                values = np.asarray(getattr(curve, attr), dtype=np.float64)
                depth = np.arange(1, len(values) + 1)
                item.plot(depth, np.where(values > 0, values, np.nan), name=curve.label,
                          pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4,
                          symbolBrush=colour, symbolPen=None, connect="finite")
                drawn.append(values)
            item.enableAutoRange(axis="x")
            log_room_for_legend(item, drawn)

    def export(self, folder: Path) -> list[Path]:
        from ...analysis.common import write_csv, write_json
        from ...analysis.figures import signal_figure
        from ...analysis.tables import signal_table

        write_csv(folder / "signal.csv", *signal_table(self.result))
        write_json(folder / "signal.json", self.result.to_json())
        png = signal_figure(self.result, folder / "signal.png", self.context["title"])
        return [png, folder / "signal.csv", folder / "signal.json"]
