"""Shared helpers of the training-engine tests: tiny networks, configurations and runs.

Imported by the other ``test_train_*`` files (pytest puts this folder on ``sys.path``); it
holds no tests itself. Data come from the real ``resnet_studio.data`` synthetic set, made
tiny: 8×8 images, a few dozen samples.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_studio.blocks import CATALOGUE
from resnet_studio.data import DataConfig
from resnet_studio.graph import Graph, InputSpec, project
from resnet_studio.train import CallbackSink, Engine, TrainConfig

SIZE, CLASSES = 8, 4


def tiny_graph(channels: int = 3, size: int = SIZE, classes: int = CLASSES,
               dropout: float = 0.0) -> Graph:
    """Two small stages (conv-BN-ReLU, then a residual conv-BN with an Add) and a linear head:
    six layers with parameters, enough to tell layers apart in the telemetry."""
    g = Graph(CATALOGUE, InputSpec(channels=channels, height=size, width=size, classes=classes))
    g.add_node("input")
    chain = [("conv1", "conv2d", {"out_channels": 4, "bias": False}),
             ("bn1", "batchnorm2d", {}), ("relu1", "relu", {}),
             ("conv2", "conv2d", {"out_channels": 4, "bias": False}),
             ("bn2", "batchnorm2d", {})]
    previous = "input"
    for node_id, type_id, params in chain:
        g.add_node(type_id, params, node_id=node_id)
        g.connect(previous, "out", node_id, "in")
        previous = node_id
    g.add_node("add", node_id="add")
    g.connect("bn2", "out", "add", "in")
    g.connect("relu1", "out", "add", "in")
    tail = [("relu2", "relu", {}), ("pool", "adaptiveavgpool2d", {"output_size": 1}),
            ("flatten", "flatten", {})]
    if dropout:
        tail.append(("drop", "dropout", {"p": dropout}))
    tail.append(("fc", "linear", {"out_features": "$classes"}))
    previous = "add"
    for node_id, type_id, params in tail:
        g.add_node(type_id, params, node_id=node_id)
        g.connect(previous, "out", node_id, "in")
        previous = node_id
    g.add_node("output")
    g.connect(previous, "out", "output", "in")
    return g


LAYERS = ("conv1", "bn1", "conv2", "bn2", "fc")


def tiny_data(**changes: Any) -> DataConfig:
    values = {"dataset": "synthetic", "train_size": 48, "val_size": 16, "image_size": SIZE,
              "channels": 3, "classes": CLASSES, "augment": True, "crop_padding": 1, "seed": 3}
    values.update(changes)
    return DataConfig(**values)


def tiny_config(**changes: Any) -> TrainConfig:
    """Batches of 8 from 48 images: 6 steps per epoch."""
    values: dict[str, Any] = {"epochs": 2, "batch_size": 8, "lr": 0.05, "schedule": "constant",
                              "device": "cpu", "telemetry_every": 2, "seed": 1,
                              "data": tiny_data()}
    values.update(changes)
    return TrainConfig(**values).validate()


class Recorder:
    """A sink keeping every record; optional ``on_step(engine, record)`` hook."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def on_record(self, record: Any) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass

    def of(self, kind: type) -> list[Any]:
        return [r for r in self.records if isinstance(r, kind)]


def run_engine(config: TrainConfig, run_dir: Path | None = None, graph: Any = None,
               **kwargs: Any) -> tuple[Engine, Recorder, Any]:
    recorder = Recorder()
    engine = Engine(graph if graph is not None else tiny_graph(), config, [recorder], run_dir,
                    **kwargs)
    end = engine.run()
    return engine, recorder, end


def stop_at(step: int):
    """A sink that asks its engine to stop once ``step`` steps are done."""
    holder: dict[str, Engine] = {}

    def callback(record: Any) -> None:
        if getattr(record, "step", None) == step and type(record).__name__ == "StepRecord":
            holder["engine"].stop()

    return holder, CallbackSink(callback)


def state_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ----- the command line -----------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
CLI_DATA = ["--dataset", "synthetic", "--train-size", "48", "--val-size", "16", "--image-size",
            "8", "--classes", "4", "--channels", "3", "--batch-size", "8", "--device", "cpu"]


def tiny_project(folder: Path) -> Path:
    """The tiny network saved as a project file in ``folder``."""
    path = folder / "tiny.rstudio.json"
    project.save(tiny_graph(), path)
    return path


def child_env() -> dict[str, str]:
    """Environment for ``python -m resnet_studio`` children: one thread each, this checkout."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def csv_rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]
