"""Helpers for the experiment tests: a tiny staged network (so that depth, block and plain
variants all apply), a tiny budget, prompts that answer the study questions, and a window
whose studies go to a temporary folder."""

from __future__ import annotations

from typing import Any

import numpy as np
from training_helpers import CLASSES, SIZE, TrainingPrompts

from resnet_studio.blocks import CATALOGUE
from resnet_studio.data import DataConfig
from resnet_studio.graph import Graph, InputSpec
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.results import RunCurves, StudyResults, table_row
from resnet_studio.train import TrainConfig


class StudyPrompts(TrainingPrompts):
    """TrainingPrompts plus the question of resuming a study."""

    def __init__(self) -> None:
        super().__init__()
        self.resume_answer = False

    def ask_resume_study(self, text: str) -> bool:
        self.asked.append(("resume_study", text))
        return self.resume_answer


def staged_net(blocks: int = 1) -> Graph:
    """Stem conv (4 channels), two stages of basic blocks (4 and 8 channels), pooling and a
    linear classifier on 8×8 images: depth 2 + 4·blocks."""
    g = Graph(CATALOGUE, InputSpec(channels=3, height=SIZE, width=SIZE, classes=CLASSES),
              name="tiny")
    chain = [("input", "input", {}), ("conv1", "conv2d", {"out_channels": 4, "bias": False}),
             ("bn1", "batchnorm2d", {}), ("relu", "relu", {}),
             ("layer1", "stage", {"block": "basicblock", "blocks": blocks, "planes": 4,
                                  "stride": 1}),
             ("layer2", "stage", {"block": "basicblock", "blocks": blocks, "planes": 8,
                                  "stride": 2}),
             ("pool", "adaptiveavgpool2d", {"output_size": 1}), ("flatten", "flatten", {}),
             ("fc", "linear", {"out_features": "$classes"}), ("output", "output", {})]
    previous = None
    for row, (node_id, type_id, params) in enumerate(chain):
        g.add_node(type_id, params, (0.0, 90.0 * row), node_id)
        if previous is not None:
            g.connect(previous, "out", node_id, "in")
        previous = node_id
    return g


def budget(**changes: Any) -> TrainConfig:
    """Batches of 8 from 24 synthetic 8×8 images: 3 steps per epoch, on the CPU."""
    data = DataConfig(dataset="synthetic", train_size=24, val_size=8, image_size=SIZE,
                      channels=3, classes=CLASSES, crop_padding=1, seed=3)
    values: dict[str, Any] = {"epochs": 2, "batch_size": 8, "lr": 0.05, "schedule": "constant",
                              "device": "cpu", "telemetry_every": 1, "seed": 1, "data": data}
    values.update(changes)
    return TrainConfig(**values).validate()


def finished_sweep_results() -> StudyResults:
    """A two-run sweep of the staged network, both runs finished."""
    study = plan_sweep(staged_net(), budget(), {"seed": [1, 2]})
    curves, rows = {}, []
    for spec, acc in zip(study.runs, (0.6, 0.8)):
        curves[spec.name] = run = RunCurves(
            status="finished", step=np.arange(1.0, 7.0), accuracy=np.linspace(0.2, acc, 6),
            epoch_step=np.array([3.0, 6.0]), val_acc=np.array([acc - 0.1, acc]))
        rows.append(table_row(spec, run, (100, 1000), 0.8))
    return StudyResults(study, curves, rows)


def study_window(make_window, tmp_path, prompts: StudyPrompts | None = None,
                 config: TrainConfig | None = None, *, shown: bool = False):
    """A window on ``staged_net()`` whose studies train with ``config`` (the tiny budget by
    default) and go under ``tmp_path``; ``shown``: the Experiments workspace on screen, its
    set-up form rebuilt from that budget."""
    window = make_window(staged_net(), prompts or StudyPrompts())
    window.studies.settings = lambda graph: config or budget()
    window.studies.unsaved_studies_dir = tmp_path / "studies"
    if shown:
        window.studies.setup.refresh()  # the form built at start-up used the panel's settings
        window.show_workspace("experiments")
    return window
