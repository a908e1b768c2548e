"""The engine's checkpoints: writing ``last.pt`` / ``best.pt`` and restoring a run from one.

What a checkpoint holds is the contract in ``checkpoint.py`` (``MARKER``, ``DATA_INFO``, the
validated fields); this module fills it from a running engine and reads it back into one.
``CheckpointWriting`` is a part of ``Engine`` (a mixin kept in its own module): it works on the
engine's counters, session and sinks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..files import remove_temporaries
from . import distributed
from .checkpoint import (
    DATA_INFO,
    DATA_SPEC,
    FORMAT,
    MARKER,
    DiskFullError,
    restore_rng_state,
    rng_state,
    save_checkpoint,
    versions,
)
from .config import TrainConfig
from .setup import RunFailure, Session, data_info_dict


class CheckpointWriting:
    """Saving and restoring the engine's progress, for ``Engine`` (whose ``_flush``,
    ``_check_weights`` and ``is_main`` it uses: a checkpoint follows the records it covers and
    only ever holds finite weights)."""

    config: TrainConfig
    session: Session | None
    sinks: list[Any]
    run_dir: Path | None
    epoch: int
    batch: int
    step: int
    history: list[dict[str, float]]
    best_epoch: int | None
    best_val_acc: float | None
    last_checkpoint: tuple[Path, int] | None
    _epoch_sums: list[float]
    _epoch_time: float
    _last_lr: float

    def _save_last(self, best: bool = False) -> None:
        """Write last.pt (and best.pt) after checking that the weights are finite, so a
        diverged run never overwrites a good checkpoint. Every rank takes part (the RNG
        states are gathered); only rank 0 writes."""
        self._flush()
        self._check_weights()
        if self.run_dir is None:  # the same on every rank
            return
        state = self._checkpoint_state()
        if not self.session.env.is_main:
            return
        for sink in self.sinks:  # the run files first: never behind the checkpoint
            if hasattr(sink, "sync"):
                sink.sync()
        path = self.run_dir / "last.pt"
        try:
            if best:  # first: a kill between the two leaves last.pt before this epoch's end,
                save_checkpoint(state, self.run_dir / "best.pt")  # which redoes it
            save_checkpoint(state, path)
            self.last_checkpoint = (path, self.step)
        except DiskFullError as exc:
            raise RunFailure(self._disk_full_message(exc)) from None

    def _disk_full_message(self, exc: DiskFullError) -> str:
        """A full disk stops the run (training on would only lose more work): the file being
        written is as it was, so the last checkpoint that was written can be resumed."""
        last = self.run_dir / "last.pt"
        kept = (f"the last checkpoint, {last}, is intact" if last.is_file()
                else "no checkpoint had been written yet")
        return (f"{exc}; training stopped at step {self.step} and {kept}. Free some space and "
                "resume.")

    def _remove_temporaries(self) -> None:
        """Delete the temporary files of writes cut short by a kill (or a failure)."""
        if self.run_dir is not None and self.is_main:
            remove_temporaries(self.run_dir)

    def _checkpoint_state(self) -> dict[str, Any]:
        s = self.session
        rngs = distributed.gather_objects(rng_state(s.device), s.env)
        return {
            MARKER: FORMAT, "model": s.model.state_dict(), "optimizer": s.optimizer.state_dict(),
            "scheduler": s.scheduler.state_dict(),
            "scaler": s.scaler.state_dict() if s.scaler is not None else None,
            "epoch": self.epoch, "step": self.step, "batch": self.batch, "last_lr": self._last_lr,
            "epoch_sums": list(self._epoch_sums), "epoch_seconds": self._epoch_time, "rng": rngs,
            "config": self.config.to_dict(),
            "graph": s.graph, "layers": list(s.layers.names),
            # class names and input normalisation travel with the weights (exports need them)
            DATA_INFO: data_info_dict(s.data.info), DATA_SPEC: s.spec,
            "metrics": {"epochs": [dict(h) for h in self.history], "best_epoch": self.best_epoch,
                        "best_val_acc": self.best_val_acc},
            "versions": versions(),
        }

    def _batches_done(self, checkpoint: dict[str, Any]) -> int:
        """The batches of the current epoch done, in this run's batch size: a run resumed with
        another one (say, half after running out of memory) goes on after the images already
        seen — the epoch's order does not depend on the batch size — not after as many
        batches of the new size."""
        batch = int(checkpoint["batch"])
        saved = (checkpoint.get("config") or {}).get("batch_size")
        size = self.config.batch_size
        if not isinstance(saved, int) or saved == size:
            return batch
        return min(batch * saved // size, len(self.session.data.train))

    def _restore_progress(self, checkpoint: dict[str, Any]) -> None:
        s = self.session
        self.epoch, self.step = int(checkpoint["epoch"]), int(checkpoint["step"])
        self.batch = self._batches_done(checkpoint)
        self._epoch_sums = [float(v) for v in checkpoint.get("epoch_sums", (0.0, 0.0, 0.0))]
        self._epoch_time = float(checkpoint.get("epoch_seconds", 0.0))
        # the lr of the last step done: the epoch's row when resuming between its last step
        # and its validation (older checkpoints: the lr the next step would use)
        self._last_lr = float(checkpoint.get("last_lr", s.optimizer.param_groups[0]["lr"]))
        metrics = checkpoint.get("metrics") or {}
        self.history = [dict(h) for h in metrics.get("epochs", [])]
        self.best_epoch, self.best_val_acc = metrics.get("best_epoch"), metrics.get("best_val_acc")
        rngs = checkpoint.get("rng") or []
        if len(rngs) == s.env.world_size:
            restore_rng_state(rngs[s.env.rank], s.device)
        else:  # a different number of processes: fresh, but still reproducible, streams
            torch.manual_seed(self.config.seed + 1_000_003 * self.step + s.env.rank)
