"""How good is a study's time estimate? Estimated against measured seconds per run.

Plans a degradation study of the small ResNet (depths 8 and 14, residual and plain) on the
built-in synthetic set with a small budget, estimates it (``study.estimate``: a short timing
of one network scaled by MACs), runs it with the study queue, and prints for every run the
estimated and the measured seconds and their ratio; then the median and spread of the ratios.
Repeated ``--repeats`` times in fresh study directories, so that a noisy machine shows.

    .venv/bin/python benchmarks/bench_study_estimate.py [--repeats 3] [--epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from resnet_studio.data import DataConfig
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.study.estimate import estimate
from resnet_studio.study.kinds import plan_degradation
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import TrainConfig


def one_round(epochs: int) -> list[tuple[str, float, float]]:
    data = DataConfig(train_size=512, val_size=128, image_size=16, augment=False)
    config = TrainConfig(epochs=epochs, batch_size=64, device="cpu", data=data)
    study = plan_degradation(create("small_resnet", InputSpec(3, 16, 16, 10)), config, (8, 14))
    guess = estimate(study)
    with tempfile.TemporaryDirectory() as folder:
        queue = StudyQueue(study, folder)
        queue.run()
        measured = {name: entry["seconds"] for name, entry in queue.state["runs"].items()}
    return [(r.name, guess.seconds[r.name], measured[r.name]) for r in study.runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ratios = []
    for repeat in range(args.repeats):
        for name, guessed, measured in one_round(args.epochs):
            ratios.append(measured / guessed)
            print(f"round {repeat + 1}  {name:<12} estimated {guessed:6.1f} s  measured "
                  f"{measured:6.1f} s  ratio {measured / guessed:.2f}")
    print(f"measured / estimated: median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f} – {max(ratios):.2f} over {len(ratios)} runs")


if __name__ == "__main__":
    main()
