"""Telemetry records: what the engine tells its sinks, and nothing else.

Records hold plain Python values and NumPy arrays only (never tensors), so they can cross
threads and processes, be queued for a GUI timer, or be written as JSON. Counting follows one
rule: ``step`` and ``epoch`` are 1-based counts of what has been done (the first optimiser
step is step 1, the first epoch is epoch 1). A "layer" is a top-level child module with
trainable parameters, which for a compiled graph is one graph node; per-layer arrays follow
``RunStartRecord.layer_names``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

STATUSES = ("finished", "stopped", "failed")


@dataclass(frozen=True)
class RunStartRecord:
    """Sent once at the start of each ``Engine.run()``.

    ``resumed_step`` is the number of steps already done (0 for a fresh run), and
    ``resumed_epoch`` the number of epochs completed (validated) before it;
    ``config`` is ``TrainConfig.to_dict()``; ``data`` describes the dataset (name, channels,
    height, width, classes, class_names, mean, std, train_size, val_size); ``graph`` is the
    project dict, or None when the engine was given a plain module. ``data_spec`` is the
    ``data.spec.DataSpec`` as a dict (None when the engine was handed ready-made batches).
    ``precision`` is how the run computes on its device, ``{"amp": "off" | "bf16" | "fp16",
    "channels_last": bool}``: ``config`` keeps what was asked for (amp "auto"), this what it
    became (None from an engine that did not say).
    """

    layer_names: tuple[str, ...]
    layer_types: tuple[str, ...]
    layer_params: tuple[int, ...]
    config: dict[str, Any]
    data: dict[str, Any]
    graph: dict[str, Any] | None
    device: str
    world_size: int
    steps_per_epoch: int
    total_steps: int
    resumed_step: int
    run_dir: str | None
    resumed_epoch: int = 0
    data_spec: dict[str, Any] | None = None
    precision: dict[str, Any] | None = None


@dataclass(frozen=True)
class StepRecord:
    """One optimiser step (records arrive in batches, once per telemetry flush).

    ``loss`` and ``accuracy`` are the training batch's (averaged over ranks under DDP);
    ``lr`` is the learning rate the step used; ``images_per_s`` is the training rate over the
    flush window (all processes together under DDP, pauses left out). ``grad_norms`` is the L2
    norm of each layer's gradient before clipping. ``weight_norms`` (‖w‖ after the update) and
    ``update_ratios`` (‖Δw‖ / ‖w‖ of this step's update) are measured on the last step of each
    flush window only and are None on the others. Records of one window share one array.
    """

    step: int
    epoch: int
    loss: float
    accuracy: float
    lr: float
    images_per_s: float
    grad_norms: np.ndarray
    weight_norms: np.ndarray | None = None
    update_ratios: np.ndarray | None = None


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: training averages, validation loss (plain cross-entropy, without
    label smoothing) and top-1 accuracy, the confusion matrix (rows: true class, columns:
    predicted), whether this epoch is the best so far by validation accuracy, and its wall
    time in seconds (pauses excluded)."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    confusion: np.ndarray
    best: bool
    duration: float
    lr: float = 0.0
    # A dense task's validation metrics by name (detection: "map", "map_50"; segmentation:
    # "miou", "pixel_acc"), all in [0, 1]; empty for a classifier.
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StateRecord:
    """The engine paused (``state="paused"``) or went on (``state="running"``) at ``step``."""

    state: str
    step: int


@dataclass(frozen=True)
class RunEndRecord:
    """Sent once at the end of each ``Engine.run()``.

    ``status`` is "finished", "stopped" (by ``stop()``; ``last.pt`` holds everything trained)
    or "failed" (``message`` says why and what to do). ``replica_digests`` holds one SHA-256
    of the parameters per DDP rank (None without DDP): equal digests mean identical weights.
    ``images_per_s`` is the training rate of this ``run()`` by the steps' own definition: the
    images of all its telemetry windows over their summed time (pauses, validation and
    checkpoints between epochs left out), i.e. the streamed ``StepRecord.images_per_s``
    averaged with each window weighted by its time; None before any step.
    """

    status: str
    message: str
    step: int
    epoch: int
    best_epoch: int | None = None
    best_val_acc: float | None = None
    checkpoint: str | None = None
    replica_digests: tuple[str, ...] | None = None
    images_per_s: float | None = None


@dataclass(frozen=True)
class DiagnosisRecord:
    """Something the run recognised as going wrong, while it happens (see ``diagnose.py``).

    ``kind`` is one of "dead" (layers receive exactly no gradient), "chance" (the loss stays
    at ln(classes)), "diverged" (a non-finite loss), "exploding", "lr_far" (far from the LR
    finder's suggestion); ``severity`` "error" or "warning"; ``layers`` the layers concerned.
    """

    kind: str
    severity: str
    step: int
    epoch: int
    message: str
    suggestion: str
    layers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "step": self.step,
                "epoch": self.epoch, "message": self.message, "suggestion": self.suggestion,
                "layers": list(self.layers)}


@dataclass(frozen=True)
class PreviewRecord:
    """A dense task's predictions on a few validation images, after an epoch, for the app to
    draw. ``images`` are display-ready (uint8, N×H×W×3, the normalisation undone). Detection
    fills ``boxes`` / ``labels`` / ``scores`` (per image: M×4 float pixel corners x1 y1 x2 y2,
    M int class ids, M floats) and ``true_boxes`` / ``true_labels``; segmentation fills
    ``masks`` and ``true_masks`` (N×H×W uint8 class ids, 255 where ignored). Class id 0 is the
    background; ``class_names`` names every id."""

    epoch: int
    step: int
    task: str
    images: np.ndarray
    class_names: tuple[str, ...]
    boxes: tuple[np.ndarray, ...] = ()
    labels: tuple[np.ndarray, ...] = ()
    scores: tuple[np.ndarray, ...] = ()
    true_boxes: tuple[np.ndarray, ...] = ()
    true_labels: tuple[np.ndarray, ...] = ()
    masks: np.ndarray | None = None
    true_masks: np.ndarray | None = None


Record = (RunStartRecord | StepRecord | EpochRecord | StateRecord | RunEndRecord
          | DiagnosisRecord | PreviewRecord)
