"""The training dock: settings, Start / Pause / Resume / Stop, progress and the run's state.

The buttons are the window's actions (so their shortcuts work anywhere in the window); the
panel only lays them out and shows progress: epoch, step, images per second and the time
left, estimated from the rate since the run (or its resumption) began. While a run streams on
a CUDA GPU, a line under them shows its memory and utilisation ("GPU 0: 3.1 / 80 GiB (peak
5.2) · 97 %"), sampled every ``GPU_MS`` from this thread: the figures are host-side counters
(``train.devices``), so sampling never waits for the GPU, and the run is in this process.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...train import devices
from ...train.history import MAIN_METRIC, METRIC_LABELS, RunHistory
from ...train.progress import data_lines, format_duration
from ...train.records import RunStartRecord, StepRecord
from .defaults import Devices
from .diagnosis import DiagnosisView
from .settings import TrainingSettings

ERROR_STYLE = "color: #b42318; font-weight: 600;"
INFO_STYLE = "color: #5f6b76;"
READY = "Ready to train."
GPU_MS = 500  # the GPU line's refresh: at most twice a second


class TrainingPanel(QWidget):
    """Settings above, controls and progress below."""

    def __init__(self, prompts: Any, devices: Devices, actions: dict[str, QAction],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = TrainingSettings(prompts, devices, self)
        self.progress = QProgressBar(self, minimum=0, maximum=1, value=0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.details = QLabel("", self)
        self.details.setStyleSheet(INFO_STYLE)
        # Text that changes ten times a second must not change the label's size hint: that
        # would lay out (and repaint) the whole window each time.
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.gpu = QLabel(self)
        self.gpu.setStyleSheet(INFO_STYLE)
        self.gpu.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.gpu.hide()
        self._gpu_device: str | None = None  # the CUDA device of the run streaming
        self._gpu_timer = QTimer(self, interval=GPU_MS)
        self._gpu_timer.timeout.connect(self.show_gpu)
        self.metrics = QLabel(self)
        self.metrics.setTextFormat(Qt.TextFormat.RichText)
        self.metrics.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.locked = QLabel(self, wordWrap=True)
        self.locked.setStyleSheet(INFO_STYLE)
        self.locked.hide()
        self.state = QLabel(READY, self, wordWrap=True)
        self.state.setStyleSheet(INFO_STYLE)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_note = QLabel(self, wordWrap=True)
        self.data_note.setStyleSheet(INFO_STYLE)
        self.data_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_note.hide()
        self.diagnoses = DiagnosisView(self)
        self._start: RunStartRecord | None = None
        self._began = 0.0
        self._lay_out(actions)

    def _lay_out(self, actions: dict[str, QAction]) -> None:
        self.scroll = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.settings)
        buttons = QGridLayout()
        for i, key in enumerate(("train_start", "train_pause", "train_resume", "train_stop")):
            button = QToolButton(self)
            button.setDefaultAction(actions[key])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(button.sizePolicy().horizontalPolicy().Expanding,
                                 button.sizePolicy().verticalPolicy())
            buttons.addWidget(button, 0, i)
        twin = QToolButton(self)
        twin.setDefaultAction(actions["train_twin"])
        twin.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        buttons.addWidget(twin, 1, 0, 1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.details)
        layout.addWidget(self.gpu)
        layout.addWidget(self.state)
        layout.addWidget(self.data_note)
        layout.addWidget(self.diagnoses)
        layout.addWidget(self.metrics)
        layout.addWidget(self.locked)
        layout.addWidget(scroll, 1)
        layout.addStretch(0)  # takes the room only while the settings are hidden

    # ----- progress ---------------------------------------------------------------------------
    def run_started(self, start: RunStartRecord) -> None:
        self._start, self._began = start, time.monotonic()
        self.metrics.setText("")
        self.progress.setRange(0, max(start.total_steps, 1))
        self.progress.setValue(start.resumed_step)
        self.progress.setFormat(f"epoch {start.resumed_step // max(start.steps_per_epoch, 1) + 1}"
                                f" · step {start.resumed_step:,}/{start.total_steps:,}")
        self.details.setText(f"{start.device} · {start.steps_per_epoch:,} steps per epoch")
        self.show_data_note(data_lines(start.data or {}))
        self._watch_gpu(start.device)

    # ----- the GPU line -----------------------------------------------------------------------
    def _watch_gpu(self, device: str | None) -> None:
        """Sample ``device`` from now on if it is a CUDA GPU; show nothing otherwise."""
        cuda = device is not None and devices.cuda_index(device) is not None
        self._gpu_device = device if cuda else None
        if cuda:
            devices.reset_peak(device)  # the peak shown is this run's (to within a step)
            self.show_gpu()
            self._gpu_timer.start()
        else:
            self._gpu_timer.stop()
            self.gpu.hide()

    def show_gpu(self) -> None:
        """Show the GPU's memory and utilisation now (the timer calls this)."""
        device = self._gpu_device
        found = devices.sample(device) if device is not None else None
        if found is None:
            self.gpu.hide()
            return
        self.gpu.setText(found.text(devices.cuda_index(device)))
        self.gpu.show()

    def run_ended(self) -> None:
        """The run ended: its GPU's last figures stay, no longer refreshed."""
        self._gpu_timer.stop()
        if self._gpu_device is not None:
            self.show_gpu()

    def show_data_note(self, lines: list[str]) -> None:
        """What the run trains on and what was done to the images (the run's first lines)."""
        self.data_note.setText("\n".join(lines))
        self.data_note.setVisible(bool(lines))

    def show_step(self, record: StepRecord) -> str:
        """Show the progress at ``record``; returns the one-line summary (for the status bar)."""
        start = self._start
        if start is None:
            return ""
        epochs = max(start.total_steps // max(start.steps_per_epoch, 1), 1)
        done = record.step - start.resumed_step
        elapsed = time.monotonic() - self._began
        left = elapsed / done * (start.total_steps - record.step) if done > 0 else 0.0
        self._set_progress(min(record.step, start.total_steps))
        self.progress.setFormat(f"epoch {record.epoch}/{epochs} · step {record.step:,}/"
                                f"{start.total_steps:,}")
        self.details.setText(f"{record.images_per_s:,.0f} images/s · ETA "
                             f"{format_duration(left)} · {start.device}")
        return (f"epoch {record.epoch}/{epochs}, step {record.step:,}/{start.total_steps:,}, "
                f"{record.images_per_s:,.0f} images/s, {format_duration(left)} left")

    def show_run_rate(self, images_per_s: float | None) -> None:
        """A run ended: its images/s over all its steps (``RunEndRecord.images_per_s``, the
        streamed figures' time-weighted mean) in place of the last window's."""
        if images_per_s and self._start is not None:
            self.details.setText(f"{images_per_s:,.0f} images/s over the run · "
                                 f"{self._start.device}")

    def _set_progress(self, value: int) -> None:
        """``QProgressBar.setValue`` repaints the bar at once, inside the caller (so that
        progress shows even where no event loop runs). Here it would add a paint to every
        render of the live views, the GUI thread's longest task; with updates off the value
        changes alone, and turning them back on asks for an ordinary, later repaint."""
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(value)
        self.progress.setUpdatesEnabled(True)

    def clear(self) -> None:
        """Nothing trained in this project yet: idle progress, no run's figures or notes."""
        self._start = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.details.setText("")
        self._watch_gpu(None)
        self.show_metrics([])
        self.set_state(READY)
        self.show_data_note([])
        self.diagnoses.clear()

    def show_metrics(self, rows: list[tuple[str, str]]) -> None:
        """The latest values, one (label, text) per row."""
        cells = "".join(f"<tr><td style='color:#5f6b76; padding-right:10px'>{label}</td>"
                        f"<td>{text}</td></tr>" for label, text in rows)
        self.metrics.setText(f"<table>{cells}</table>" if rows else "")

    def set_state(self, text: str, error: bool = False) -> None:
        self.state.setText(text)
        self.state.setStyleSheet(ERROR_STYLE if error else INFO_STYLE)

    def set_editable(self, editable: bool) -> None:
        """Settings are fixed while a run uses them: hidden, and summed up in one line."""
        self.locked.setText("Settings of this run: " + self.settings.summary())
        self.settings.setEnabled(editable)
        self.scroll.setVisible(editable)
        self.locked.setVisible(not editable)


def metric_rows(h: RunHistory) -> list[tuple[str, str]]:
    """The latest values for the panel: smoothed training loss and accuracy (a segmenter's
    pixel accuracy, none for a detector), the last validation (with a dense task's metrics)
    and the best so far."""
    rows = []
    if len(h):
        text = f"loss {h.loss.smooth.y[-1]:.4g}"
        if h.train_acc_label is not None:
            text += f" · {h.train_acc_label} {h.accuracy.smooth.y[-1]:.1%}"
        rows.append(("Training (smoothed)", text))
    if h.val_loss.size:
        epoch = h.val_loss.size  # one validation per epoch, earlier ones included on resume
        parts = [f"loss {h.val_loss.y[-1]:.4g}", f"{h.val_acc_label} {h.val_acc.y[-1]:.1%}"]
        parts += [f"{METRIC_LABELS.get(k, k)} {s.y[-1]:.1%}"
                  for k, s in h.task_metrics.items() if k != MAIN_METRIC.get(h.task)]
        rows.append((f"Validation, epoch {epoch}", " · ".join(parts)))
        best = h.best_epoch()
        if best is not None:
            label = f"{h.val_acc_label} " if h.dense else ""
            rows.append(("Best validation", f"{label}{best[1]:.1%} at epoch {best[0]}"))
    return rows
