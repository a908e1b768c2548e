"""``resnet-studio experiment`` with several runs at once: the ``--parallel`` options, the
executor they ask for, and progress printed a line at a time.

One after another, a run's progress is ``train``'s redrawn line; with runs interleaved a
redrawn line would mix them, so each run gets whole lines tagged ``[i/n] label``: its start,
a line each tenth of its steps (with its ETA and the study's), each epoch's validation, its
end. Which lines come is decided by the steps, never by a clock, so they read the same on a
fast or a slow machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..train.command import CommandError

TENTHS = 10


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parallel", metavar="N",
                   help="train up to N runs at once, each in a process of its own with its "
                        "share of the CPU threads (default 1: one after another; with "
                        "--cluster: as many as the cluster holds)")
    p.add_argument("--gpus-per-trial", metavar="F",
                   help="GPUs per run: a fraction in (0, 1] packs several runs on one GPU "
                        "(0.25: four), a whole number gives each run that many")


def executor(args: argparse.Namespace) -> Any:
    """The executor ``--parallel`` and ``--gpus-per-trial`` ask for (None: in-process);
    CommandError, one line naming the flag, for values that cannot be used."""
    slots = number(args.parallel or "1", "--parallel", int)
    gpus = None if args.gpus_per_trial is None else number(args.gpus_per_trial,
                                                             "--gpus-per-trial", float)
    if slots == 1 and gpus is None:
        return None
    from .parallel import Parallel, ParallelError

    try:
        return Parallel(slots, gpus_per_trial=gpus)
    except ParallelError as exc:
        raise CommandError(str(exc)) from None


def number(text: str, flag: str, kind: type) -> Any:
    """``text`` as an int or float; CommandError naming ``flag`` when it is not one."""
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise CommandError(f"{flag} ‘{text}’ is not {what}.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CommandError(f"{flag} ‘{text}’ is not a finite number.")
    return value


@contextmanager
def timing_threads(executor: Any) -> Iterator[None]:
    """While the estimate times its steps: the CPU threads one trial will have (a
    ``Parallel`` trial's share, a cluster trial's ``cpus``)."""
    shares = getattr(executor, "shares", None)
    threads = (shares[0].threads if shares else
               max(1, int(executor.cpus)) if hasattr(executor, "cpus") else None)
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TrialLines:
    """Progress of interleaved runs, a whole line each (see the module's text): the queue's
    ``on_progress`` and, through ``sinks``, each run's epoch lines."""

    def __init__(self, study: Any, stream: Any = None):
        self.names = [spec.name for spec in study.runs]
        self.stream = stream if stream is not None else sys.stderr
        self._tenths: dict[str, int] = {}

    def sinks(self, spec: Any) -> list[Any]:
        from ..train.sinks import CallbackSink

        return [CallbackSink(lambda record: self._epoch(spec, record))]

    def _epoch(self, spec: Any, record: Any) -> None:
        from ..train.progress import ProgressSink
        from ..train.records import EpochRecord

        if isinstance(record, EpochRecord):
            where = self._where(self.names.index(spec.name), spec.label)
            self._print(f"{where}: {ProgressSink.epoch_line(record)}")

    def __call__(self, p: Any) -> None:
        from ..train.progress import format_duration

        where = self._where(p.index, p.label)
        study = f"study {p.fraction:.0%}" + (
            "" if p.study_eta is None else f", ETA {format_duration(p.study_eta)}")
        if p.event == "step":
            tenth = p.step * TENTHS // max(p.total_steps, 1)
            if tenth <= self._tenths.get(p.name, -1):
                return
            self._tenths[p.name] = tenth
            run = "" if p.run_eta is None else f", ETA {format_duration(p.run_eta)}"
            self._print(f"{where}: step {p.step}/{p.total_steps} "
                        f"({p.step / max(p.total_steps, 1):.0%}{run}); {study}")
        elif p.event == "start":
            self._tenths[p.name] = -1
            self._print(f"{where}: {'resuming' if p.message else 'training'}; {study}")
        elif p.event == "skip":
            self._print(f"{where}: {p.status}, skipped" + (f" ({p.message})" if p.message
                                                         else ""))
        elif p.event == "end":
            self._print(f"{where}: {p.status} — {p.message.rstrip('.')}; {study}")

    def _where(self, index: int, label: str) -> str:
        return f"[{index + 1}/{len(self.names)}] {label}"

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
