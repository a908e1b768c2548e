"""Sanity tools: a learning-rate range test, overfitting one batch, an augmentation preview.

Each builds the same session the engine would (``setup.prepare``: data fitted to the network,
weights from the configured init and seed) and returns plain numbers, so the CLI and the app
show the same results. None of them writes a checkpoint or changes the project.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .config import TrainConfig
from .setup import Network, Session, prepare

# The sanity tools' loss is the task's, without label smoothing.
_PLAIN = TrainConfig()


@dataclass(frozen=True)
class RangeTest:
    """Smith 2017 (arXiv:1506.01186, §3.3): loss while the rate grows exponentially."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]    # smoothed (exponential moving average, debiased)
    suggested_lr: float | None   # steepest descent of the smoothed loss, None if none fell


def lr_range_test(network: Network, config: TrainConfig, *, start: float = 1e-6,
                  end: float = 1.0, steps: int = 100, progress: StepProgress | None = None,
                  cancel: CancelFlag | None = None) -> RangeTest:
    """Train ``steps`` batches with the rate rising from ``start`` to ``end``; stop early
    once the loss exceeds four times its best (it has diverged). ``progress(done, steps)``
    follows each step; a set ``cancel`` flag stops between two steps (``Cancelled``)."""
    session = prepare(network, config.replace(schedule="constant", warmup_epochs=0.0,
                                              warmup_steps=0))
    factor = (end / start) ** (1 / max(steps - 1, 1))
    lrs, losses, average, best = [], [], 0.0, math.inf
    for i, (x, y) in enumerate(_batches(session, steps)):
        _check(cancel)
        lr = start * factor ** i
        for group in session.optimizer.param_groups:
            group["lr"] = lr
        loss = _step(session, x, y)
        _report(progress, i + 1, steps)
        average = 0.98 * average + 0.02 * loss
        smoothed = average / (1 - 0.98 ** (i + 1))
        if not math.isfinite(smoothed) or smoothed > 4 * best:
            break
        best = min(best, smoothed)
        lrs.append(lr)
        losses.append(smoothed)
    return RangeTest(tuple(lrs), tuple(losses), suggest(lrs, losses))


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate where the smoothed loss falls fastest against log(lr), skipping the noisy
    first tenth; None when the loss never fell."""
    if len(losses) < 10:
        return None
    skip = len(losses) // 10
    slopes = np.gradient(np.asarray(losses[skip:]), np.log(np.asarray(lrs[skip:])))
    i = int(np.argmin(slopes))
    fell = min(losses[skip:]) < 0.99 * losses[skip]
    return float(lrs[skip + i]) if fell and slopes[i] < 0 else None


def write_range_test(result: RangeTest, csv_path: Path, png_path: Path | None) -> None:
    """The curve as CSV (lr, loss) and, if asked, as a PNG with the suggestion marked."""
    csv_path.write_text("lr,loss\n" + "".join(f"{lr:.6g},{loss:.6g}\n" for lr, loss in
                                             zip(result.lrs, result.losses)), encoding="utf-8")
    if png_path is None:
        return
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.semilogx(result.lrs, result.losses)
    if result.suggested_lr:
        ax.axvline(result.suggested_lr, color="tab:red", linestyle="--",
                   label=f"suggested {result.suggested_lr:.2g}")
        ax.legend()
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("Learning-rate range test")
    fig.savefig(png_path, dpi=100, bbox_inches="tight")


@dataclass(frozen=True)
class Overfit:
    losses: tuple[float, ...]
    accuracy: float     # on the batch, after the last step
    learned: bool       # the loss fell below 5 % of its start, or below 0.05

    def verdict(self) -> str:
        first, last = self.losses[0], self.losses[-1]
        if self.learned:
            right = f" ({self.accuracy:.0%} right)" if math.isfinite(self.accuracy) else ""
            return (f"the network can learn: one batch's loss fell from {first:.4f} to "
                    f"{last:.4f} in {len(self.losses)} steps{right}")
        return (f"the network could not fit one batch: its loss went from {first:.4f} to "
                f"{last:.4f} in {len(self.losses)} steps — check the learning rate, the init "
                "and the labels")


def overfit_batch(network: Network, config: TrainConfig, steps: int = 100,
                  progress: StepProgress | None = None,
                  cancel: CancelFlag | None = None) -> Overfit:
    """Train on the first training batch only, without augmentation, for ``steps`` steps;
    ``progress`` and ``cancel`` as in ``lr_range_test``."""
    data = config.data.replace(augment=False, cutout=0, color_jitter=0.0)
    session = prepare(network, config.replace(data=data, schedule="constant", warmup_epochs=0.0,
                                              warmup_steps=0))
    x, y = next(iter(session.data.train.epoch(0)))
    losses = []
    for i in range(steps):
        _check(cancel)
        losses.append(_step(session, x, y))
        _report(progress, i + 1, steps)
    with torch.no_grad():
        _, correct, count = session.task.step(session.model, x, y, _PLAIN)
        accuracy = float(correct) / count
    learned = losses[-1] < 0.05 * losses[0] or losses[-1] < 0.05
    return Overfit(tuple(losses), accuracy, bool(learned))


def preview_grid(network: Network, config: TrainConfig, path: Path, count: int = 32) -> int:
    """Save a grid of the first training batch exactly as the engine feeds it (augmented,
    then un-normalised for display); returns the number of images drawn."""
    return preview_batch(network, config, path, count)[0]


def preview_batch(network: Network, config: TrainConfig, path: Path,
                  count: int = 32) -> tuple[int, str]:
    """``preview_grid``, and the augmentation the batch went through in words ("" for none:
    augmentation off, or nothing to apply)."""
    from torchvision.utils import save_image

    session = prepare(network, config)
    x, _ = next(iter(session.data.train.epoch(0)))
    x = x[:count].float()
    info = session.data.info
    mean = torch.tensor(info.mean, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(info.std, device=x.device).view(1, -1, 1, 1)
    save_image((x * std + mean).clamp(0, 1).cpu(), path, nrow=8, padding=2)
    return len(x), session.data.train.augment.describe()


def _batches(session: Session, steps: int):
    epoch = 0
    while True:
        for batch in session.data.train.epoch(epoch):
            yield batch
            steps -= 1
            if steps == 0:
                return
        epoch += 1


class Cancelled(Exception):
    """A sanity tool's cancel flag was set; it stopped between two steps."""


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


StepProgress = Callable[[int, int], None]


def _check(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


def _report(progress: StepProgress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _step(session: Session, x: torch.Tensor, y: Any) -> float:
    """One step on the task's loss (cross-entropy without label smoothing for a classifier,
    a detector's summed losses, a segmenter's pixel cross-entropy)."""
    session.optimizer.zero_grad(set_to_none=True)
    loss, _, _ = session.task.step(session.train_model, x, y, _PLAIN)
    loss.backward()
    session.optimizer.step()
    return float(loss.detach())
