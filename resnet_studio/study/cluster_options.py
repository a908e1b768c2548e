"""The ``experiment`` options of a study on a Ray cluster (``--cluster`` and the sweep's
``--search`` and ``--early-stop``), and the executor they ask for (``study.cluster``, which
imports Ray only when a study goes there: the help and a study on this machine need none)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..train.command import CommandError
from . import console

SEARCHES, EARLY_STOPS = ("tpe",), ("asha",)  # see ``study.search``


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("on a Ray cluster (pip install 'resnet-studio[cluster]')")
    group.add_argument(
        "--cluster", metavar="ADDR",
        help="train the runs as a Ray Tune experiment on a Ray cluster: auto (the cluster "
             "this machine belongs to), HOST:PORT of its head, ray://HOST:PORT (Ray Client), "
             "or local (start one on this machine). The study directory must be on storage "
             "every node sees at the same path")
    group.add_argument("--cpus-per-trial", type=float, default=1.0, metavar="N",
                       help="CPUs each run holds on the cluster (default 1)")
    if "--gpus-per-trial" not in p._option_string_actions:  # also --parallel's
        group.add_argument("--gpus-per-trial", type=float, default=0.0, metavar="G",
                           help="GPUs each run holds, a fraction to share one (default 0)")
    group.add_argument("--max-failures", type=int, default=3, metavar="N",
                       help="times a run whose worker or node died starts again from its "
                            "last checkpoint (default 3)")
    group.add_argument(
        "--search", choices=SEARCHES,
        help="sweeps: Optuna's TPE (through Ray Tune) picks the swept settings' values for "
             "each of --samples trials among the sweep's values; each pick trains the planned "
             "run with those values, a pick already trained is told its result and TPE picks "
             "again; runs no trial took are marked 'not searched'")
    group.add_argument("--samples", type=int, metavar="N",
                       help="trials of --search (default: half the runs, rounded up)")
    group.add_argument(
        "--early-stop", choices=EARLY_STOPS,
        help="sweeps: Ray Tune's ASHA reads each run's validation accuracy after every epoch "
             "and stops the runs below the best half at 1, 2, 4, … epochs; a stopped run "
             "keeps its checkpoint and is marked 'stopped early' (not resumed), and the "
             "estimate is an upper bound")


def cluster_executor(args: argparse.Namespace, directory: Path, study: Any = None) -> Any:
    """The ``--cluster`` executor, or None to train here; Tune's own files go to the study
    directory's ``.tune`` meanwhile (storage every node sees)."""
    address = getattr(args, "cluster", None)
    smarter = _smarter(args, study)
    if address is None:
        if smarter:
            raise CommandError("--search and --early-stop run on a Ray cluster: add "
                               "--cluster local (this machine) or the cluster's address.")
        return None
    cpus = args.cpus_per_trial
    gpus = console.number(args.gpus_per_trial or "0", "--gpus-per-trial", float)
    slots = console.number(args.parallel or "0", "--parallel", int)
    if cpus <= 0 or slots < 0 or gpus < 0 or args.max_failures < 0:
        raise CommandError("--cpus-per-trial must be above 0, --parallel, --gpus-per-trial "
                           "and --max-failures 0 or more.")
    try:
        from .cluster import RayTune
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("ray", "optuna"):
            raise
        raise CommandError("--cluster needs Ray: pip install 'resnet-studio[cluster]'") from None
    return RayTune(address, cpus=cpus, gpus=gpus, slots=slots,
                   max_failures=args.max_failures, storage=directory / ".tune", **smarter)


def _smarter(args: argparse.Namespace, study: Any) -> dict[str, Any]:
    """RayTune's ``search``, ``samples`` and ``early_stop`` from the flags."""
    search, early, samples = (getattr(args, name, None)
                              for name in ("search", "early_stop", "samples"))
    if samples is not None and (search is None or samples < 1):
        raise CommandError("--samples needs --search and is 1 or more.")
    if not (search or early):
        return {}
    if study is not None and study.kind != "sweep":
        raise CommandError(f"--search and --early-stop work on a sweep's runs, not a "
                           f"{study.kind} study's.")
    runs = len(study.runs) if study is not None else 0
    return {"search": search, "early_stop": early,
            "samples": samples or (runs + 1) // 2 if search else 0}


def plan_notes(executor: Any, study: Any) -> list[str]:
    """What a search or early stopping changes in the plan printed before a study."""
    notes = []
    if getattr(executor, "search", None):
        notes.append(f"TPE search: {min(executor.samples, len(study.runs))} of the "
                     f"{len(study.runs)} planned runs train (picked as results come in); "
                     "the estimate is of them all")
    if getattr(executor, "early_stop", None):
        notes.append("ASHA early stopping: runs below the best half after 1, 2, 4, … epochs "
                     "stop there, so the estimate is an upper bound")
    return notes
