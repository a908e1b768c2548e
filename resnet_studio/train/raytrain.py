"""One run trained data-parallel on a Ray cluster: ``train PROJECT --cluster ADDR --workers N``.

    run = ClusterRun(Launch(network, config, "/shared/runs/big", workers=4), "HEAD:6379", sinks)
    end = run.run()     # blocks; run.stop() from a signal handler or any thread

Ray Train's ``TorchTrainer`` starts ``workers`` processes on the cluster, joins them in one
process group (gloo on the CPU, NCCL on GPUs) and sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
as torchrun does; each runs our engine as that rank (``train.distributed``: the engine uses the
group it finds). Rank 0 writes the run directory, an absolute path on the driver's disk (one
machine) or on storage every node mounts at the same path, and sends its records through one
``Channel`` actor on the driver's node, bounded, to the driver, which hands them to its sinks
(the same progress lines as a run trained here). ``stop()`` reaches rank 0 at its next record;
the ranks then stop together at the next telemetry flush, keeping ``last.pt``. A worker that
dies makes Ray Train start the whole group again (``FailureConfig``), which goes on from
``last.pt``; so does the same command run again.

This module imports Ray: ``command`` imports it only for ``--cluster``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ..data.config import FOLDER_PREFIX
from .command import PRESET_PREFIX, CommandError
from .command_cluster import answering
from .ray_support import BoundedChannel, Fitting, first_line
from .ray_support import connected as ray_connected
from .records import RunEndRecord, RunStartRecord
from .rundir import LAST

TAKE_SECONDS = 0.2  # how long the driver waits for records before it looks at the trainer


class ClusterError(CommandError):
    """A cluster that cannot be used (address, connection): one line for the user."""


@dataclass(frozen=True)
class Launch:
    """What each worker trains: the network (a Graph, or ``preset:NAME``), its settings, the
    run directory (made absolute), and the group's shape. A Graph travels as its project
    dict (``network_of`` makes it again on the worker)."""

    network: Any
    config: Any  # TrainConfig
    run_dir: str
    workers: int = 2
    cpus: float = 1.0
    gpus: float = 0.0
    max_failures: int = 3
    resume: str | None = None  # a checkpoint to start from when the run directory has none
    buffer: int = 256  # records that may wait for the driver

    def portable(self) -> Launch:
        """Absolute paths (run directory, checkpoint, data folders): a worker's current
        directory is not the driver's."""
        data = self.config.data
        data = data.replace(root=str(Path(data.root).absolute()))
        if data.is_folder:
            data = data.replace(dataset=FOLDER_PREFIX + str(Path(data.folder).absolute()))
        if data.val_folder:
            data = data.replace(val_folder=str(Path(data.val_folder).absolute()))
        resume = str(Path(self.resume).absolute()) if self.resume else None
        network = self.network
        if not isinstance(network, str):
            from ..graph import project

            network = project.to_dict(network)
        return replace(self, run_dir=str(Path(self.run_dir).absolute()), resume=resume,
                       config=self.config.replace(data=data), network=network)

    def network_of(self) -> Any:
        """The network to train, as the engine takes it."""
        from ..blocks import CATALOGUE
        from ..graph import project
        from ..presets import create

        if isinstance(self.network, str):
            name = self.network.removeprefix(PRESET_PREFIX)
            return lambda spec: create(name, spec)  # the preset adapts to the data
        return project.from_dict(self.network, CATALOGUE, "the run's project")


class Channel(BoundedChannel):
    """Rank 0's way back to the driver: (kind, value) items, and the stop flag, which every
    ``put`` answers with."""

    def __init__(self, size: int):
        super().__init__(size)
        self._stopped = False

    def answer(self, item: tuple[str, Any]) -> bool:
        return self._stopped

    async def stop(self) -> None:
        self._stopped = True


class ChannelSink:
    """A worker's sink: every record but the end (which the worker sends once it knows the
    attempt ended normally) goes to the driver; a stop the driver asked for stops the engine."""

    def __init__(self, channel: Any):
        self.channel, self.engine = channel, None

    def on_record(self, record: Any) -> None:
        if isinstance(record, RunEndRecord):
            return
        if ray.get(self.channel.put.remote(("record", record))) and self.engine is not None:
            self.engine.stop()

    def close(self) -> None:
        pass


def train_worker(config: dict[str, Any]) -> None:
    """Ray Train's function for each worker: one rank of the run, from ``last.pt`` when the
    run directory holds one (a stopped run, or an attempt whose group lost a worker), else
    from the launch's checkpoint, if any."""
    import torch

    from .engine import Engine

    launch: Launch = config["launch"]
    channel = config["channel"]
    torch.set_num_threads(max(1, int(launch.cpus)))
    last = Path(launch.run_dir, LAST)
    sink = ChannelSink(channel)
    engine = Engine(launch.network_of(), launch.config, [sink], launch.run_dir,
                    resume_from=last if last.exists() else launch.resume)
    sink.engine = engine
    try:
        end = engine.run()
    finally:
        engine.close()
    if engine.is_main:
        ray.get(channel.put.remote(("end", end)))


class ClusterRun:
    """Drives a ``Launch`` on the cluster at ``address`` and hands rank 0's records to
    ``sinks``; shaped like the ``Engine`` for the ``train`` command (``run``, ``stop``,
    ``close``, ``is_main``, ``session``: not None once the run has started). ``storage`` is
    where Ray Train keeps its files meanwhile (default: the run directory's ``.ray-train``)."""

    is_main = True
    resume_hint = "the same command (it goes on from last.pt on the cluster)"

    def __init__(self, launch: Launch, address: str, sinks: Iterable[Any],
                 storage: str | Path | None = None):
        self.launch, self.address, self.sinks = launch.portable(), address, list(sinks)
        self.storage = storage
        self.session: RunStartRecord | None = None
        self.attempts = 0
        self._stopping = False

    def stop(self) -> None:
        """Only a flag (safe in a signal handler): the driver's loop passes it on."""
        self._stopping = True

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def run(self) -> RunEndRecord:
        with connected(self.address):
            here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), False)
            channel = ray.remote(num_cpus=0, scheduling_strategy=here)(Channel).remote(
                self.launch.buffer)
            storage = self._storage()
            try:
                return self._drive(channel, storage)
            finally:
                ray.kill(channel)
                shutil.rmtree(storage, ignore_errors=True)

    def _storage(self) -> Path:
        """Where Ray Train keeps its own files meanwhile: by default the run directory's
        ``.ray-train``, on storage every node sees (emptied first: a killed driver's are left;
        removed at the end)."""
        storage = Path(self.storage or Path(self.launch.run_dir, ".ray-train")).absolute()
        shutil.rmtree(storage, ignore_errors=True)
        storage.mkdir(parents=True)
        return storage

    def _drive(self, channel: Any, storage: Path) -> RunEndRecord:
        fitting = Fitting(self._trainer(channel, storage), "ray-train-fit")
        told, end = False, None
        while True:
            alive = fitting.is_alive()
            if self._stopping and not told:
                ray.get(channel.stop.remote())
                told = True
            for kind, value in ray.get(channel.take.remote(TAKE_SECONDS if alive else 0)):
                end = value if kind == "end" else end
                self._deliver(value)
            if not alive:
                break
        return end or self._lost(fitting.outcome())

    def _deliver(self, record: Any) -> None:
        if isinstance(record, RunStartRecord):
            self.attempts += 1
            self.session = record
        for sink in self.sinks:
            sink.on_record(record)

    def _lost(self, outcome: Any) -> RunEndRecord:
        """The end of a run whose rank 0 never sent one: Ray Train gave up (its workers died
        more than ``max_failures`` times), or the trainer could not start."""
        why = first_line(outcome) if isinstance(outcome, BaseException) else \
            "the workers ended without a result"
        step = self.session.resumed_step if self.session else 0
        record = RunEndRecord("failed", f"on the cluster: {why}; the last checkpoint is kept",
                              step, 0, None, None, None, None)
        self._deliver(record)
        return record

    def _trainer(self, channel: Any, storage: Path) -> Any:
        from ray.train import FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        launch = self.launch
        resources = {"CPU": launch.cpus, **({"GPU": launch.gpus} if launch.gpus else {})}
        return TorchTrainer(
            train_worker, train_loop_config={"launch": launch, "channel": channel},
            torch_config=TorchConfig(backend="nccl" if launch.gpus else "gloo"),
            scaling_config=ScalingConfig(num_workers=launch.workers, use_gpu=launch.gpus > 0,
                                         resources_per_worker=resources),
            run_config=RunConfig(name=f"train-{time.strftime('%Y%m%d-%H%M%S')}",
                                 storage_path=str(storage.absolute()),
                                 failure_config=FailureConfig(
                                     max_failures=launch.max_failures)))


def connected(address: str) -> Any:
    """Connected to the cluster at ``address`` meanwhile (``auto``, ``HOST:PORT``,
    ``ray://HOST:PORT``); an existing connection is used and kept."""
    if address != "auto":
        answering(address)
    return ray_connected(address, ClusterError)

