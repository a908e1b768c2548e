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

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "checkpoint": ("CheckpointError", "load_checkpoint", "save_checkpoint"),
    "config": ("ConfigError", "TrainConfig"),
    "engine": ("Engine",),
    "records": ("EpochRecord", "Record", "RunEndRecord", "RunStartRecord", "StateRecord",
                "StepRecord"),
    "setup": ("EngineError", "resolve_device"),
    "sinks": ("CallbackSink", "QueueSink", "RunDirSink", "Sink", "SinkError", "TensorBoardSink"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CallbackSink", "CheckpointError", "ConfigError", "Engine", "EngineError", "EpochRecord",
    "QueueSink", "Record", "RunDirSink", "RunEndRecord", "RunStartRecord", "Sink", "SinkError",
    "StateRecord", "StepRecord", "TensorBoardSink", "TrainConfig", "load_checkpoint",
    "resolve_device", "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from .config import ConfigError, TrainConfig
    from .engine import Engine
    from .records import EpochRecord, Record, RunEndRecord, RunStartRecord, StateRecord, StepRecord
    from .setup import EngineError, resolve_device
    from .sinks import CallbackSink, QueueSink, RunDirSink, Sink, SinkError, TensorBoardSink
