"""``train --cluster ADDR --workers N``: the options, and the run they make (``raytrain``).

Nothing of Ray is imported here: the parser and ``--help`` stay light, and a machine without
Ray gets one line naming the extra to install.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXTRA = "pip install 'resnet-studio[cluster]'"


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(f"on a Ray cluster ({EXTRA})")
    group.add_argument(
        "--cluster", metavar="ADDR",
        help="train data-parallel with Ray Train on a Ray cluster: auto (the cluster this "
             "machine belongs to), HOST:PORT of its head or ray://HOST:PORT. --out must be on "
             "storage every node sees at the same path; the same command again resumes")
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="processes (DDP ranks) on the cluster (default 2)")
    group.add_argument("--cpus-per-worker", type=float, default=None, metavar="C",
                       help="CPUs each worker holds (default 1)")
    group.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                       help="whole GPUs each worker holds (default 0: gloo on the CPU; "
                            "1: NCCL on a GPU per rank)")


def cluster_requested(args: argparse.Namespace) -> bool:
    """Whether ``--cluster`` was given (at an address where a Ray head answers); its
    companions without it are an error."""
    from .command import CommandError

    if getattr(args, "cluster", None) is not None:
        if args.cluster != "auto":
            answering(args.cluster)
        return True
    for flag in ("workers", "cpus_per_worker", "gpus_per_worker"):
        if getattr(args, flag, None) is not None:
            raise CommandError(f"--{flag.replace('_', '-')} needs --cluster ADDR.")
    return False


def resume_on_rerun(args: argparse.Namespace) -> None:
    """The same command again goes on from the run directory's ``last.pt`` (a run that was
    stopped, or whose driver died); with ``--force`` it starts afresh (``drop_last``)."""
    from .rundir import LAST

    if args.out is not None and args.resume is None and not args.force:
        last = args.out / LAST
        if last.exists():
            args.resume = last


def drop_last(args: argparse.Namespace, run_dir: Path) -> None:
    """``--force`` without ``--resume``: the run directory's ``last.pt`` goes, so that no
    worker resumes from it (called under the run directory's lock)."""
    from .rundir import LAST

    if args.force and args.resume is None:
        (run_dir / LAST).unlink(missing_ok=True)


def cluster_run(args: argparse.Namespace, network: Any, config: Any, run_dir: Path,
                sinks: list[Any]) -> Any:
    """A ``ClusterRun`` of ``network`` into ``run_dir`` as the options ask."""
    from .command import CommandError

    workers = 2 if args.workers is None else args.workers
    cpus = 1.0 if args.cpus_per_worker is None else args.cpus_per_worker
    gpus = 0.0 if args.gpus_per_worker is None else args.gpus_per_worker
    if workers < 1 or cpus <= 0 or gpus < 0:
        raise CommandError("--workers must be 1 or more, --cpus-per-worker above 0 and "
                           "--gpus-per-worker 0 or more.")
    if gpus != int(gpus):
        raise CommandError(f"--gpus-per-worker {gpus:g}: give whole GPUs (NCCL cannot put two "
                           "ranks on one GPU).")
    try:
        from .raytrain import ClusterRun, Launch
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "ray":
            raise
        raise CommandError(f"--cluster needs Ray: {EXTRA}") from None
    if callable(network):  # a preset (preset:NAME): it adapts to the data on the workers
        network = args.project
    launch = Launch(network, config, str(run_dir), workers=workers, cpus=cpus, gpus=gpus,
                    resume=str(args.resume) if args.resume else None)
    return ClusterRun(launch, args.cluster, sinks)



def answering(address: str) -> None:
    """Refuse at once an address that is malformed or where nothing listens (``ray.init``
    would retry for minutes)."""
    from .command import CommandError
    from .ray_support import address_problem

    problem = address_problem(address, "auto, HOST:PORT or ray://HOST:PORT")
    if problem:
        raise CommandError(problem)
