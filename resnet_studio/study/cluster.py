"""Studies on a Ray cluster: ``RayTune`` runs a study's trials as a Ray Tune experiment.

    queue = StudyQueue(study, directory, executor=RayTune("127.0.0.1:6379", cpus=1))
    queue.run()     # blocks; queue.cancel() from any thread stops every trial

Each Tune trial is one of our engine's runs (``trial.run_trial`` in ``train_trial``), writing
its normal run directory under the study directory: an absolute path, on the driver's disk
(one machine) or on storage every node mounts at the same path. Its records come back through
one ``Channel`` actor, bounded, so a driver that falls behind slows the trials instead of
filling memory; the executor hands them to the events on the thread that called ``run``.

Faults: a trial whose worker process or node dies is started again by Tune (``FailureConfig``,
``max_failures`` times) and goes on from its ``last.pt`` (the engine then drops the rows after
that checkpoint, so the run's files read as one run); a driver that dies leaves the study's
``state.json`` and run directories, and the same command resumes it. Cancel reaches every
trial at its next record (a flag the channel answers with), and each stops after its current
step keeping ``last.pt``; a trial not started yet does not start.

A sweep may also be searched (TPE) and its hopeless runs stopped early (ASHA): ``search``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.progress_reporter import TrialProgressCallback
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ..train.ray_support import BoundedChannel, Fitting, address_problem, first_line
from ..train.ray_support import connected as ray_connected
from .cluster_options import EARLY_STOPS, SEARCHES
from .plan import StudyError
from .search import EPOCH, METRIC, AmongPlanned, GentleASHA, search_space
from .trial import EARLY, FAILED, STOPPED, UNSEARCHED, Trial, TrialEnd, TrialEvents, run_trial

LOCAL = "local"
TAKE_SECONDS = 0.2  # how long the driver waits for records before it looks at the experiment
LOCK_WAIT_SECONDS = 60.0


class Channel(BoundedChannel):
    """The trials' way back to the driver: (kind, index, value) items, and the study's cancel
    flag and ASHA's stops, which every ``put`` answers with. Made an actor on the driver's
    node for each experiment."""

    def __init__(self, size: int):
        super().__init__(size)
        self._cancelled = False
        self._stopping: set[int] = set()

    def answer(self, item: tuple[str, int, Any]) -> bool:
        """Whether trial ``item[1]`` is to stop: the study was cancelled, or ASHA stops it."""
        return self._cancelled or item[1] in self._stopping

    async def stop_early(self, index: int) -> None:
        self._stopping.add(index)

    async def stopped_early(self, index: int) -> bool:
        return index in self._stopping

    async def cancel(self) -> None:
        self._cancelled = True

    async def cancelled(self) -> bool:
        return self._cancelled


def train_trial(config: dict[str, Any], trials: dict[int, Trial], channel: Any,
                threads: int, report: bool = False) -> None:
    """Tune's function for one trial (runs on a worker): train it from its ``last.pt`` when
    there is one (a stopped run, or this trial's earlier attempt on a worker that died);
    with ``report``, its validation accuracy goes to Tune after every epoch (for ASHA and
    TPE), and a run that ASHA stopped ends "stopped early"."""
    import torch

    from ..train.records import EpochRecord

    trial = trials[config["index"]]
    if ray.get(channel.cancelled.remote()):
        return
    torch.set_num_threads(threads)
    await_writer(Path(trial.folder))
    trial = dataclasses.replace(trial, resume=Path(trial.folder, "last.pt").exists())
    ray.get(channel.put.remote(("start", trial.index, trial.resume)))
    held: dict[str, Any] = {}

    def emit(record: Any) -> None:
        if ray.get(channel.put.remote(("record", trial.index, record))) and held:
            held["engine"].stop()
        if report and isinstance(record, EpochRecord):
            held["epoch"] = record.epoch
            tune.report({METRIC: float(record.val_acc), EPOCH: record.epoch})

    end = run_trial(trial, emit, lambda: ray.get(channel.cancelled.remote()),
                    lambda engine: held.update(engine=engine))
    if end.status == STOPPED and ray.get(channel.stopped_early.remote(trial.index)):
        end = TrialEnd(EARLY, f"stopped early by ASHA after epoch {held.get('epoch', 0)}",
                       end.step)
    ray.get(channel.put.remote(("end", trial.index, end)))


def await_writer(folder: Path, seconds: float = LOCK_WAIT_SECONDS) -> None:
    """Wait (at most ``seconds``) while another process still writes ``folder``: the trial
    of a driver that was just killed, which Ray is still stopping. Past that, the engine
    refuses the run directory and says who holds it."""
    from ..locks import LockBusy, hold

    deadline = time.monotonic() + seconds
    while folder.is_dir():
        try:
            with hold(folder):
                return
        except LockBusy:
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)


class RayTune:
    """Runs trials as one Ray Tune experiment on the cluster at ``address`` (``auto``,
    ``HOST:PORT``, ``ray://HOST:PORT`` as ``ray.init`` takes it, or ``local`` to start one
    here); when this process is already connected to Ray, on that connection. Each trial gets
    ``cpus`` CPUs and ``gpus`` GPUs (a fraction packs several on one GPU); ``slots`` caps the
    trials at once (0: as many as the cluster holds); a trial whose worker or node dies is
    started again up to ``max_failures`` times; ``buffer`` records may wait for the driver.
    ``storage`` is where Tune keeps its own files meanwhile (emptied first: a killed driver's
    are left; removed at the end); by default a temporary directory. A sweep's runs may be
    stopped early (``early_stop="asha"``) or searched (``search="tpe"``, ``samples`` trials,
    0: every run; ``seed`` TPE's): see ``study.search``."""

    def __init__(self, address: str = "auto", *, cpus: float = 1.0, gpus: float = 0.0,
                 slots: int = 0, max_failures: int = 3, buffer: int = 256,
                 storage: str | Path | None = None, early_stop: str | None = None,
                 search: str | None = None, samples: int = 0, seed: int = 0):
        self.address, self.cpus, self.gpus = address, cpus, gpus
        self.slots, self.max_failures, self.buffer = slots, max_failures, buffer
        self.storage = storage
        if early_stop not in (None, *EARLY_STOPS) or search not in (None, *SEARCHES):
            raise ValueError(f"early_stop {early_stop!r} or search {search!r} is unknown")
        self.early_stop, self.search, self.samples, self.seed = early_stop, search, samples, seed
        self._cancelled = False

    def cancel(self) -> None:
        """Only a flag (safe in a signal handler, on any thread): the thread running the
        experiment passes it on to the trials before it takes their next records."""
        self._cancelled = True

    def run(self, trials: Iterator[Trial], events: TrialEvents) -> None:
        todo = {}
        for trial in trials:
            if self._cancelled:
                return
            todo[trial.index] = trial
        if not todo:
            return
        with connected(self.address):
            self._experiment(todo, events)

    def _experiment(self, todo: dict[int, Trial], events: TrialEvents) -> None:
        # on the driver's node: the channel must outlive any other node that leaves
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), False)
        channel = ray.remote(num_cpus=0, scheduling_strategy=here)(Channel).remote(self.buffer)
        storage = self._storage()
        relay = Relay(todo, events)
        try:
            fitting = Fitting(self._tuner(todo, channel, storage), "ray-tune-fit")
            told = False
            while fitting.is_alive():
                if self._cancelled and not told:  # set before the next take, so that
                    ray.get(channel.cancel.remote())  # no trial gets far past what was seen
                    told = True
                relay.pass_on(ray.get(channel.take.remote(TAKE_SECONDS)))
            relay.pass_on(ray.get(channel.take.remote(0)))
            relay.end_the_lost(fitting.outcome())
            if self.search and not self._cancelled:
                relay.end_the_unsearched()
        finally:
            ray.kill(channel)
            shutil.rmtree(storage, ignore_errors=True)

    def _storage(self) -> Path:
        if self.storage is None:
            return Path(tempfile.mkdtemp(prefix="resnet-studio-tune-"))
        storage = Path(self.storage).absolute()
        shutil.rmtree(storage, ignore_errors=True)
        storage.mkdir(parents=True)
        return storage

    def _tuner(self, todo: dict[int, Trial], channel: Any, storage: Path) -> Any:
        sent = {index: portable(trial) for index, trial in todo.items()}
        function = tune.with_parameters(train_trial, trials=sent, channel=channel,
                                        threads=max(1, int(self.cpus)),
                                        report=bool(self.early_stop or self.search))
        space, strategy = self._strategy(todo, channel)
        function = tune.with_resources(function, {"cpu": self.cpus, "gpu": self.gpus})
        # Tune's own console output (a table, then a line per trial) would interleave with the
        # study's progress lines, which already say everything: its older reporter, silenced.
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        return tune.Tuner(
            function, param_space=space,
            tune_config=tune.TuneConfig(max_concurrent_trials=self.slots or None, **strategy),
            run_config=tune.RunConfig(
                name=f"study-{time.strftime('%Y%m%d-%H%M%S')}", storage_path=str(storage),
                failure_config=tune.FailureConfig(max_failures=self.max_failures),
                callbacks=[Silent()], verbose=0))


    def _strategy(self, todo: dict[int, Trial], channel: Any) -> tuple[dict, dict]:
        """The tuner's search space and ``TuneConfig`` options: a grid of every run, or TPE
        among them; with ASHA as the scheduler when asked."""
        options: dict[str, Any] = {}
        if self.search == "tpe":
            runs = {index: trial.values for index, trial in todo.items()}
            if not all(runs.values()):
                raise StudyError("--search tpe: the study's runs vary no setting to search "
                                 "(a sweep's do).")
            space = search_space(runs)
            options.update(search_alg=AmongPlanned(runs, self.seed),
                           num_samples=min(self.samples or len(todo), len(todo)))
        else:
            space = {"index": tune.grid_search(sorted(todo))}
        if self.early_stop == "asha":
            epochs = max(int(trial.config.get("epochs", 1)) for trial in todo.values())
            options["scheduler"] = GentleASHA(
                lambda index: ray.get(channel.stop_early.remote(index)), epochs)
        return space, options


class Silent(TrialProgressCallback):
    """Tune's per-trial console lines, not printed."""

    def _print(self, msg: str) -> None:
        pass


def portable(trial: Trial) -> Trial:
    """``trial`` with absolute paths (its run directory, the data folder): a worker's current
    directory is not the driver's."""
    config = dict(trial.config)
    data = config.get("data")
    if isinstance(data, dict) and isinstance(data.get("root"), str):
        config["data"] = {**data, "root": str(Path(data["root"]).absolute())}
    return dataclasses.replace(trial, folder=str(Path(trial.folder).absolute()), config=config)


class Relay:
    """Hands the channel's items to the events: a trial is started once however often Tune
    starts it again, and its records go on from where the new attempt resumed."""

    def __init__(self, todo: dict[int, Trial], events: TrialEvents):
        self.todo, self.events = todo, events
        self.started: set[int] = set()
        self.ended: set[int] = set()

    def pass_on(self, items: list[tuple[str, int, Any]]) -> None:
        for kind, index, value in items:
            trial = self.todo[index]
            if kind == "start" and index not in self.started:
                self.started.add(index)
                self.events.started(dataclasses.replace(trial, resume=value))
            elif kind == "record":
                self.events.record(trial, value)
            elif kind == "end":
                self.ended.add(index)
                self.events.ended(trial, value)

    def end_the_lost(self, outcome: Any) -> None:
        """Trials that started but never ended: Tune gave up on them (their workers or nodes
        died ``max_failures`` + 1 times), or the experiment itself failed."""
        errors = _errors(outcome)
        for index in sorted(self.started - self.ended):
            why = (first_line(outcome) if isinstance(outcome, BaseException)
                   else errors.get(index, "it ended without a result"))
            self.events.ended(self.todo[index], TrialEnd(FAILED, f"on the cluster: {why}"))


    def end_the_unsearched(self) -> None:
        """The runs that no trial of a finished search took."""
        for index in sorted(set(self.todo) - self.started):
            self.events.ended(self.todo[index],
                              TrialEnd(UNSEARCHED, "no trial of the TPE search took it"))


def _errors(outcome: Any) -> dict[int, str]:
    if isinstance(outcome, BaseException):
        return {}
    return {result.config["index"]: first_line(result.error)
            for result in outcome if result.error is not None}


def connected(address: str) -> Any:
    """Connected to the cluster at ``address`` meanwhile (``local``: one started here); an
    existing connection is used and kept, one made here is closed at the end."""
    if address not in (LOCAL, "auto"):
        answering(address)
    return ray_connected(None if address == LOCAL else address, StudyError)


def answering(address: str) -> None:
    """Refuse at once an address that is malformed or where nothing listens."""
    problem = address_problem(address, "auto, local, HOST:PORT or ray://HOST:PORT")
    if problem:
        raise StudyError(problem)
