"""Helpers for the Ray tests: a tiny sweep, its runs' weights and step rows, and the study's
progress events gathered on the driver. Holds no tests."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import torch
from test_study_support import budget, staged_graph

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.plan import Study
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint

STEPS = 12  # 48 images in batches of 8, 2 epochs


def sweep(seeds: tuple[int, ...] = (1, 2)) -> Study:
    """Runs of 12 steps, a record per step, a checkpoint every 2 steps."""
    config = budget(checkpoint_every=2, data=budget().data.replace(train_size=48))
    return plan_sweep(staged_graph(), config, {"seed": list(seeds)})


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(Path(folder) / "last.pt")["model"]


def same_weights(a: Path, b: Path) -> bool:
    first, second = weights(a), weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k])
                                                 for k in first)


def step_rows(folder: Path) -> list[int]:
    """The step of every row of the run's steps.jsonl, in file order."""
    lines = (Path(folder) / "steps.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines if line.strip()]


class Watch:
    """The queue's progress reports, each with the thread it came on; ``then`` is called with
    each report (to cancel or kill at a chosen one)."""

    def __init__(self, then: Any = None):
        self.reports: list[Any] = []
        self.threads: set[int] = set()
        self.then = then or (lambda report: None)

    def __call__(self, report: Any) -> None:
        self.reports.append(report)
        self.threads.add(threading.get_ident())
        self.then(report)

    def steps(self, name: str) -> list[int]:
        return [r.step for r in self.reports if r.event == "step" and r.name == name]

    def events(self, name: str) -> list[str]:
        return [r.event for r in self.reports if r.name == name and r.event != "step"]


def reference(study: Study, folder: Path) -> Path:
    """``study`` trained in this process, one run after another (the embedded default), on
    one thread like a trial of 1 CPU: CPU kernels sum in another order on more threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcome = StudyQueue(study, folder).run()
    finally:
        torch.set_num_threads(threads)
    assert set(outcome.statuses.values()) == {"finished"}
    return folder
