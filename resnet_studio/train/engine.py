"""The training engine: a plain object that the GUI (on a worker thread) and the CLI drive alike.

    engine = Engine(graph, TrainConfig(epochs=5), sinks=[QueueSink()], run_dir="runs/a")
    end = engine.run()          # blocks; call from any thread
    engine.pause(); engine.resume(); engine.stop()   # from any other thread

Control requests are checked once per step (under DDP: once per telemetry flush, so that all
ranks stop at the same step). Stopping keeps everything trained so far and writes ``last.pt``;
``run()`` may be called again afterwards and goes on where it stopped. The loop never waits
for the device except at telemetry flushes, validation and checkpoints.

The loop, validation and control live here; closing telemetry windows and delivering records
are in ``engine_telemetry``, writing and restoring checkpoints in ``engine_checkpoints`` (both
parts of ``Engine``).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..budget import BudgetError
from ..compiler import BuildError
from ..data import DataError
from ..graph import GraphError
from . import distributed
from .checkpoint import CheckpointError, load_checkpoint
from .config import ConfigError, TrainConfig
from .diagnose import Diagnoser, DiagnosticsFileSink
from .engine_checkpoints import CheckpointWriting
from .engine_telemetry import FLUSH_SECONDS, TelemetryWindows
from .largest_batch import cuda_fitting_batch
from .records import EpochRecord, RunEndRecord, RunStartRecord, StateRecord
from .runlock import LockBusy, hold_run_dir
from .setup import EngineError, Network, RunFailure, Session, data_info_dict, prepare
from .sinks import RunDirSink, SinkError
from .task import Context, Validation

__all__ = ["FLUSH_SECONDS", "USER_ERRORS", "Engine"]

# Failures a user can cause or fix: reported in the RunEndRecord, not raised.
# torch's message when batch norm trains on a single value per channel
ONE_VALUE = "Expected more than 1 value per channel when training"

USER_ERRORS = (EngineError, DataError, CheckpointError, ConfigError, BuildError, GraphError,
               SinkError, BudgetError)


class Engine(TelemetryWindows, CheckpointWriting):
    """Trains one network with one configuration.

    ``network`` is a Graph (built with ``compiler.build``), an ``nn.Module``, or a function
    taking the dataset's InputSpec and returning a Graph (used for presets). ``run_dir``
    receives the checkpoints and, through a ``RunDirSink`` the engine adds itself, the run
    files. ``data`` may be a ready DataBundle; ``resume_from`` a checkpoint path or dict;
    ``suggested_lr`` the LR finder's suggestion, if known (a rate far from it is diagnosed).
    The task (classification, detection, segmentation; ``task.py``) is the graph's, from its
    head blocks, and its dataset must serve it; a plain module trains for its dataset's task
    (``config.data.task``), so a torchvision detector trains on ``shapes-detection`` as is.
    The constructor raises ``ConfigError`` for an invalid configuration; everything that goes
    wrong later (data, device, divergence, memory) ends ``run()`` with a "failed" record.
    """

    def __init__(self, network: Network, config: TrainConfig, sinks: Iterable[Any] = (),
                 run_dir: str | Path | None = None, *, data: Any = None,
                 resume_from: str | Path | dict | None = None,
                 suggested_lr: float | None = None):
        self.config = config.validate()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.sinks = list(sinks)
        if self.run_dir is not None and not any(isinstance(s, RunDirSink) for s in self.sinks):
            self.sinks.append(RunDirSink(self.run_dir))
        if self.run_dir is not None:
            self.sinks.append(DiagnosticsFileSink(self.run_dir))
        self.diagnoser = Diagnoser(suggested_lr)
        self._network, self._bundle, self._resume_from = network, data, resume_from
        self._stop, self._go = threading.Event(), threading.Event()
        self._go.set()
        self.state = "idle"  # idle | running | paused | finished | stopped | failed
        self.session: Session | None = None
        self.epoch = self.batch = self.step = 0  # epochs done, batches done in it, steps done
        self.history: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.best_val_acc: float | None = None
        self.last_checkpoint: tuple[Path, int] | None = None  # (path, step) of the last save
        self._epoch_sums = [0.0, 0.0, 0.0]  # loss·n, correct, n of the epoch in progress
        self._epoch_time = 0.0
        self._broken: str | None = None
        self._slot, self._lrs = 0, []
        self._window_start = 0.0
        self._step_seconds = 0.0  # the mean step time of the last telemetry window
        self._windows = [0.0, 0.0]  # images and seconds of the telemetry windows so far
        self._last_lr = config.lr
        self._last_finite: tuple[int, float] | None = None  # (step, loss)

    # ----- control (any thread) ---------------------------------------------------------------
    def pause(self) -> None:
        """Hold before the next step until ``resume()`` or ``stop()``."""
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        """End ``run()`` after the current step, saving ``last.pt``; also ends a pause."""
        self._stop.set()
        self._go.set()

    @property
    def model(self) -> nn.Module | None:
        return self.session.model if self.session else None

    @property
    def layer_names(self) -> tuple[str, ...]:
        return self.session.layers.names if self.session else ()

    # ----- the run ----------------------------------------------------------------------------
    def run(self) -> RunEndRecord:
        """Train until the configured number of epochs, a stop request or a failure. The run
        directory is locked meanwhile: a run directory another run is writing fails this one
        at once, naming that run, and nothing is written into it."""
        if self.state in ("running", "paused"):
            raise RuntimeError("this engine is already running")
        try:
            lock = hold_run_dir(self.run_dir)
        except LockBusy as exc:
            return self._refused(str(exc))
        with lock:
            return self._run_locked()

    def _refused(self, message: str) -> RunEndRecord:
        """End a run that could not lock its directory: the end record goes to every sink
        except those writing into that directory (another run's)."""
        self.state = "failed"
        record = RunEndRecord("failed", message, self.step, self.epoch, self.best_epoch,
                              self.best_val_acc, None, None)
        for sink in self.sinks:
            if not isinstance(sink, (RunDirSink, DiagnosticsFileSink)):
                sink.on_record(record)
        return record

    def _run_locked(self) -> RunEndRecord:
        self.state = "running"
        try:
            end = self._run()
        except RunFailure as exc:
            end = self._end("failed", str(exc))
        except USER_ERRORS as exc:
            end = self._end("failed", str(exc))
        except KeyboardInterrupt:
            self._end("failed", "interrupted in the middle of a step; the last checkpoint is "
                                "kept")
            raise
        except BaseException as exc:
            self._end("failed", f"internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._stop.clear()
            if self.state == "failed":
                self._remove_temporaries()
        return end

    def _run(self) -> RunEndRecord:
        if self._broken:
            raise RunFailure(self._broken)
        if self.session is None:
            self._setup()
        self._remove_temporaries()
        self._emit(self._start_record())
        while self.epoch < self.config.epochs:
            if not self._train_epoch():
                self._save_last()
                return self._end("stopped", self._stopped_message())
            self._end_epoch()
        return self._end("finished", self._finished_message())

    def _setup(self) -> None:
        checkpoint = self._resume_from
        if checkpoint is not None and not isinstance(checkpoint, dict):
            checkpoint = load_checkpoint(checkpoint)
        self.session = prepare(self._network, self.config, bundle=self._bundle,
                               checkpoint=checkpoint)
        if checkpoint is not None:
            self._restore_progress(checkpoint)
        else:
            torch.manual_seed(self.config.seed + self.session.env.rank)
        self._resume_from = None

    def _start_record(self) -> RunStartRecord:
        s = self.session
        return RunStartRecord(
            s.layers.names, s.layers.types, s.layers.sizes, self.config.to_dict(),
            data_info_dict(s.data.info), s.graph, str(s.device), s.env.world_size,
            s.plan.steps_per_epoch, s.plan.total_steps, self.step,
            str(self.run_dir) if self.run_dir else None, self.epoch, s.spec,
            s.precision.to_dict())

    def _end(self, status: str, message: str) -> RunEndRecord:
        self.state = status
        digests = None
        s = self.session
        if s is not None and s.env.enabled and status != "failed":
            digest = distributed.parameter_digest(s.model)
            digests = tuple(distributed.gather_objects(digest, s.env))
        path = str(self.last_checkpoint[0]) if self.last_checkpoint else None
        images, seconds = self._windows
        record = RunEndRecord(status, message, self.step, self.epoch, self.best_epoch,
                              self.best_val_acc, path, digests,
                              images / seconds if seconds > 0 else None)
        with contextlib.suppress(Exception) if status == "failed" else contextlib.nullcontext():
            self._emit(record)
        return record

    # ----- one epoch --------------------------------------------------------------------------
    def _train_epoch(self) -> bool:
        """Train the rest of the current epoch; False when a stop request ended it."""
        s = self.session
        last_batch = len(s.data.train) - 1
        started = time.perf_counter()
        self._window_start = started
        try:
            for x, y in s.data.train.epoch(self.epoch, start_batch=self.batch):
                if not self._go.is_set():
                    started += self._hold()
                if self._stop.is_set() and not s.env.enabled:
                    self._flush()
                    return False
                flush = self._flush_due(last_batch)
                self._train_step(x, y, measure=flush)
                if flush and self._flush():
                    return False
                if self.config.checkpoint_every and self.step % self.config.checkpoint_every == 0:
                    self._save_last()
        finally:
            self._epoch_time += time.perf_counter() - started
        return True

    def _hold(self) -> float:
        """Wait while paused; return the time spent, which rates and durations leave out."""
        if not self.session.env.enabled:
            self._flush()  # show everything up to the pause
        begun = time.perf_counter()
        self.state = "paused"
        self._emit(StateRecord("paused", self.step))
        self._go.wait()
        self.state = "running"
        self._emit(StateRecord("running", self.step))
        held = time.perf_counter() - begun
        self._window_start += held
        return held

    def _train_step(self, x: torch.Tensor, y: torch.Tensor, *, measure: bool) -> None:
        s, cfg = self.session, self.config
        try:
            if s.precision.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            s.optimizer.zero_grad(set_to_none=True)
            with self._autocast():
                loss, correct, count = s.task.step(s.train_model, x, y, cfg)
            self._backward(loss, measure)
        except torch.cuda.OutOfMemoryError:
            raise self._out_of_memory() from None
        except RuntimeError as exc:
            if "can't allocate memory" in str(exc) or "out of memory" in str(exc):
                raise self._out_of_memory() from None
            raise
        except ValueError as exc:
            if ONE_VALUE in str(exc):
                raise self._one_value_per_channel() from None
            raise
        s.stats.record_batch(self._slot, loss, correct, count)
        self._slot += 1
        self.batch += 1
        self.step += 1

    def _backward(self, loss: torch.Tensor, measure: bool) -> None:
        s, cfg = self.session, self.config
        group = s.optimizer.param_groups[0]  # the base rate, whatever a stage multiplies it by
        self._lrs.append(group["lr"] / group.get("lr_mult", 1.0))
        if s.scaler is not None:
            s.scaler.scale(loss).backward()
            s.scaler.unscale_(s.optimizer)
        else:
            loss.backward()
        total = s.stats.record_grads(self._slot)
        if cfg.grad_clip:
            _clip(s.stats.params, total, cfg.grad_clip)
        if measure:
            s.stats.snapshot()
        if s.scaler is not None:
            s.scaler.step(s.optimizer)
            s.scaler.update()
        else:
            s.optimizer.step()
        s.scheduler.step()
        if measure:
            s.stats.measure_update()

    def _autocast(self):
        amp = self.session.precision.amp
        if amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        return torch.autocast(device_type="cuda", dtype=dtype)

    def _out_of_memory(self) -> RunFailure:
        """The step in progress ran out of memory (called in its ``except`` clause): drop it,
        deliver the steps before it, save them (the weights are those before the failed step:
        the optimiser had not stepped) and say which batch size should fit. The engine keeps
        its state: ``run()`` again retries the step; a new engine resumed from ``last.pt``
        with a smaller batch size goes on from it. (Batch-norm running statistics keep the
        failed batch's update when the forward pass had finished.)"""
        s = self.session
        message = _release_failed_step()
        s.optimizer.zero_grad(set_to_none=True)
        self._lrs = self._lrs[: self._slot]
        if not s.env.enabled:
            self._flush()
        size = self.config.batch_size
        fitting = cuda_fitting_batch(s.device, size, message)
        advice = (f"try batch size {fitting} (a linear estimate from the memory the failed "
                  "step reached)" if fitting is not None else
                  f"try a smaller batch size (e.g. {max(1, size // 2)})")
        saved = self._saved_before_failure()
        return RunFailure(
            f"out of memory at step {self.step + 1} with batch size {size} on {s.device}; "
            f"{advice}, mixed precision (amp bf16) or a smaller network. `resnet-studio "
            f"find-batch PROJECT --device {s.device}` finds the largest batch size that fits "
            f"by trying. {saved}")

    def _saved_before_failure(self) -> str:
        """Write last.pt at the last step done (not under DDP: the other ranks are not
        here to take part) and say where the run can go on from."""
        if self.run_dir is None or self.session.env.enabled:
            return "The engine is unchanged: run again to go on."
        try:
            self._save_last()
        except RunFailure as exc:
            return f"The engine is unchanged: run again to go on ({exc})."
        return (f"The steps before it are saved in {self.run_dir / 'last.pt'}: resume from it "
                "with a smaller batch size, or run again to go on.")

    def _one_value_per_channel(self) -> RunFailure:
        per_process = self.config.batch_size
        return RunFailure(
            f"step {self.step + 1}: a batch normalisation layer saw one value per channel (a "
            f"1×1 map of a batch of {per_process} image{'s' if per_process != 1 else ''} per "
            "process, as after global pooling — DeepLabV3's image-pooling branch is one), "
            "which it cannot normalise while training; use a batch size of 2 or more.")

    # ----- validation and epoch end -----------------------------------------------------------
    def _validate(self) -> Validation:
        """The task's validation pass (loss, main metric, confusion, metrics, preview)."""
        s = self.session
        ctx = Context(s.env, s.precision.channels_last, self._autocast, self.epoch + 1,
                      self.step)
        return s.task.validate(s.model, s.data, s.device, ctx)

    def _end_epoch(self) -> None:
        began = time.perf_counter()
        self._check_weights()
        result = self._validate()
        val_acc = result.main
        loss_n, correct, count = self._epoch_sums
        best = self.best_val_acc is None or val_acc > self.best_val_acc
        if best:
            self.best_epoch, self.best_val_acc = self.epoch + 1, val_acc
        lr = self._last_lr
        duration = self._epoch_time + time.perf_counter() - began
        record = EpochRecord(self.epoch + 1, self.step, loss_n / max(count, 1),
                             correct / max(count, 1), result.loss, val_acc, result.confusion,
                             best, duration, lr, dict(result.metrics))
        self.history.append({**{k: getattr(record, k) for k in (
            "epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
            "duration")}, **record.metrics})
        self.epoch, self.batch = self.epoch + 1, 0
        self._epoch_sums, self._epoch_time = [0.0, 0.0, 0.0], 0.0
        self._emit(record)
        if result.preview is not None:
            self._emit(result.preview)
        self._save_last(best=best)

    def _check_weights(self) -> None:
        """One fused norm over all weights: a finite loss can still come with an update that
        overflowed, which the next forward pass would only reveal later."""
        params = [p.detach() for p in self.session.layers.params]
        if not bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all()):
            self._fail_diverged(f"the weights became non-finite by step {self.step} "
                                f"(epoch {self.epoch + (1 if self.batch else 0)})")

    # ----- messages and teardown --------------------------------------------------------------
    def _finished_message(self) -> str:
        epochs = self.config.epochs
        text = f"Finished {epochs} epoch{'s' if epochs != 1 else ''} ({self.step} steps)"
        if self.best_epoch is not None:
            label = self.session.task.main_label if self.session else "validation accuracy"
            text += f"; best {label} {self.best_val_acc:.1%} at epoch {self.best_epoch}"
        return text + "."

    def _stopped_message(self) -> str:
        where = f"Stopped at step {self.step} (epoch {self.epoch + 1}, batch {self.batch})"
        if self.run_dir is None:
            return where + "; the trained weights are in engine.model."
        return where + f"; everything trained so far is in {self.run_dir / 'last.pt'}."

    def close(self) -> None:
        """Close the sinks and leave the process group this engine joined."""
        for sink in self.sinks:
            sink.close()
        if self.session is not None:
            distributed.leave(self.session.created_group)
            self.session.created_group = False


def _release_failed_step() -> str:
    """The message of the exception being handled, after letting go of the tensors its
    traceback holds (the failed forward pass's locals), so that emptying the cache frees
    them."""
    exc = sys.exc_info()[1]
    if exc is None:
        return ""
    traceback.clear_frames(exc.__traceback__)
    return str(exc)


def _clip(params, total: torch.Tensor, max_norm: float) -> None:
    """Scale all gradients by min(1, max_norm / ‖g‖), as ``clip_grad_norm_`` does, reusing
    the global norm already computed for telemetry."""
    grads = [p.grad for p in params if p.grad is not None]
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, coef)

