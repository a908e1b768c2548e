"""The training engine: configuration, optimisers and schedules, the loop, telemetry,
checkpoints, exact resume and DistributedDataParallel under ``torchrun``.

    from resnet_studio.train import Engine, TrainConfig, QueueSink
    sink = QueueSink()
    engine = Engine(graph, TrainConfig(epochs=3), [sink], run_dir="runs/first")
    end = engine.run()           # on a worker thread in the GUI; records arrive in ``sink``

No Qt here: the GUI and the ``resnet-studio train`` command drive the same object. The names
below are loaded on first use (PEP 562), so that ``resnet_studio.train.command`` can add its
sub-commands to ``resnet-studio --help`` without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "checkpoint": ("CheckpointError", "load_checkpoint", "save_checkpoint"),
    "config": ("ConfigError", "TrainConfig"),
    "engine": ("Engine",),
    "records": ("DiagnosisRecord", "EpochRecord", "Record", "RunEndRecord", "RunStartRecord",
                "StateRecord", "StepRecord"),
    "setup": ("EngineError", "resolve_device"),
    "sinks": ("CallbackSink", "QueueSink", "RunDirSink", "Sink", "SinkError", "TensorBoardSink"),
}

__all__ = [
    "CallbackSink", "CheckpointError", "ConfigError", "DiagnosisRecord", "Engine", "EngineError",
    "EpochRecord",
    "QueueSink", "Record", "RunDirSink", "RunEndRecord", "RunStartRecord", "Sink", "SinkError",
    "StateRecord", "StepRecord", "TensorBoardSink", "TrainConfig", "load_checkpoint",
    "resolve_device", "save_checkpoint",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from .config import ConfigError, TrainConfig
    from .engine import Engine
    from .records import (
        DiagnosisRecord,
        EpochRecord,
        Record,
        RunEndRecord,
        RunStartRecord,
        StateRecord,
        StepRecord,
    )
    from .setup import EngineError, resolve_device
    from .sinks import CallbackSink, QueueSink, RunDirSink, Sink, SinkError, TensorBoardSink
