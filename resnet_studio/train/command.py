"""The ``train`` and ``bench`` sub-commands of ``resnet-studio`` (headless, never Qt).

    resnet-studio train preset:small_resnet --dataset synthetic --epochs 5 --out runs/first
    resnet-studio train --resume runs/first/last.pt --epochs 10      # go on, train longer
    resnet-studio bench preset:resnet20 --batch-size 64 --steps 30

``register(subparsers)`` adds both to the main parser (``resnet_studio.cli``). Every option
left out keeps its default, or, with ``--resume``, the checkpoint's setting; so a resumed run
trains exactly as the interrupted one would have.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..argtypes import device_name
from .command_cluster import (
    add_cluster_options,
    cluster_requested,
    cluster_run,
    drop_last,
    resume_on_rerun,
)

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
PRESET_PREFIX = "preset:"
PROG = "resnet-studio"


class CommandError(Exception):
    """A failure printed as one line ``resnet-studio: error: …`` with an exit status. (The
    engine may not import ``resnet_studio.cli``, which sits above it, so it reports its own.)"""

    def __init__(self, message: str, exit_code: int = EXIT_UNUSABLE):
        super().__init__(message)
        self.exit_code = exit_code


def reported(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``handler``; print expected failures as one line, never as a traceback. (Imports
    wait for the call, so building the parser for ``--help`` does not load torch.)"""

    def run(args: argparse.Namespace) -> int:
        from ..budget import BudgetError
        from ..compiler import BuildError
        from ..errors_text import describe_os_error
        from ..graph import GraphError
        from ..presets.base import UnknownPresetError
        from .engine import USER_ERRORS

        try:
            return handler(args)
        except CommandError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except OSError as exc:
            print(f"{PROG}: error: {describe_os_error(exc)}", file=sys.stderr)
            return EXIT_UNUSABLE
        except (*USER_ERRORS, BudgetError, BuildError, GraphError, UnknownPresetError) as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_FAILED if isinstance(exc, BuildError) else EXIT_UNUSABLE

    return run


# (flag, TrainConfig field ("data.x" for the data settings), type, metavar, help)
OPTIONS: tuple[tuple[str, str, Any, str | None, str], ...] = (
    ("--dataset", "data.dataset", str, "NAME",
     ("synthetic (default, offline), mnist, fashion_mnist, cifar10, cifar100, svhn, or "
      "folder:PATH for an image folder (PATH/<class>/<image>); for detectors "
      "shapes-detection (offline) or coco:PATH (PATH/images/, PATH/annotations.json), for "
      "segmenters shapes-segmentation (offline) or masks:PATH (PATH/images/, PATH/masks/)")),
    ("--data-root", "data.root", str, "DIR", "folder holding downloaded datasets (default: data)"),
    ("--download", "data.download", bool, None, "download a torchvision dataset if missing"),
    ("--val-fraction", "data.val_fraction", float, "F", "share of the training set held out"),
    ("--train-size", "data.train_size", int, "N", "synthetic set: training images"),
    ("--val-size", "data.val_size", int, "N", "synthetic set: validation images"),
    ("--subset", "data.subset", int, "N",
     "train on a seeded, class-balanced subset of N training images (any dataset)"),
    ("--image-size", "data.image_size", int, "PX",
     "synthetic set and image folders with --fit none: image height and width"),
    ("--channels", "data.channels", int, "C",
     "synthetic set and image folders with --fit none: 1 (grey) or 3 (colour)"),
    ("--fit", "data.fit", ("network", "none"), None,
     ("convert images to the network's input size and channels (network, the default) or "
     "serve them as they are (none)")),
    ("--classes", "data.classes", int, "K", "synthetic set: number of classes"),
    ("--no-augment", "data.augment", "off", None, "no random crops, flips or cutout"),
    ("--flip", "data.flip", "onoff", None,
     ("random horizontal flips while augmenting, or none with --no-flip (default: on for the "
      "synthetic set and photographs, off for digit sets and image folders)")),
    ("--cutout", "data.cutout", int, "PX", "cutout square size (0: off)"),
    ("--epochs", "epochs", int, "N", "epochs to train (default 10)"),
    ("--batch-size", "batch_size", int, "N", "images per step and process (default 128)"),
    ("--lr", "lr", float, "LR", "peak learning rate (default 0.1)"),
    ("--optimizer", "optimizer", ("sgd", "adamw"), None, "sgd (default) or adamw"),
    ("--momentum", "momentum", float, "M", "SGD momentum (default 0.9)"),
    ("--nesterov", "nesterov", bool, None, "Nesterov momentum"),
    ("--schedule", "schedule", ("constant", "step", "multistep", "cosine", "onecycle"), None,
     "learning-rate schedule (default cosine)"),
    ("--warmup", "warmup_epochs", float, "EPOCHS", "linear warm-up length in epochs"),
    ("--warmup-steps", "warmup_steps", int, "N", "linear warm-up length in steps"),
    ("--step-size", "step_size", int, "EPOCHS", "step schedule: epochs between decays"),
    ("--milestones", "milestones", "ints", "E1,E2", "multistep schedule: epochs of the decays"),
    ("--gamma", "gamma", float, "G", "step/multistep decay factor (default 0.1)"),
    ("--min-lr", "min_lr", float, "LR", "cosine schedule: final learning rate"),
    ("--weight-decay", "weight_decay", float, "WD", "weight decay (default 5e-4)"),
    ("--decay-norm-and-bias", "decay_norm_and_bias", bool, None,
     "also decay normalisation weights and biases"),
    ("--label-smoothing", "label_smoothing", float, "S", "label smoothing (default 0)"),
    ("--grad-clip", "grad_clip", float, "NORM", "clip the global gradient norm (0: off)"),
    ("--seed", "seed", int, "N", "random seed of weights and dropout (default 0)"),
    ("--device", "device", device_name, "DEVICE",
     "auto (default), cuda, cuda:N (GPU N of several: cuda:1), mps or cpu"),
    ("--amp", "amp", ("off", "auto", "bf16", "fp16"), None,
     "mixed precision on CUDA; auto: bf16 and channels-last where the GPU has bf16"),
    ("--channels-last", "channels_last", bool, None, "channels-last memory format"),
    ("--compile", "compile", bool, None, "torch.compile the model (slow start)"),
    ("--init", "init", ("he_fan_out", "he_fan_in", "xavier", "pytorch"), None,
     "weight initialisation (default: the recipe's)"),
    ("--zero-init-residual", "zero_init_residual", bool, None,
     "start every residual block as the identity"),
    ("--telemetry-every", "telemetry_every", int, "N", "steps between telemetry flushes"),
    ("--no-layer-telemetry", "layer_telemetry", "off", None,
     "leave out the per-layer gradient norms and update ratios (loss and accuracy stay)"),
    ("--checkpoint-every", "checkpoint_every", int, "N", "also save last.pt every N steps"),
    ("--freeze-stages", "freeze_stages", int, "N",
     "freeze the stem and the first stages: N=2 freezes conv1 and layer1 (default 0)"),
    ("--frozen-bn", "frozen_bn", bool, None,
     "turn the backbone's batch norms into FrozenBatchNorm2d (fine-tuning pretrained weights)"),
    ("--stage-lr-mult", "stage_lr_mult", "floats", "M0,M1,…",
     "learning-rate multipliers of the stem, layer1, layer2, … (unlisted stages: 1)"),
)

TRAIN_EXAMPLES = """\
examples:
  resnet-studio train preset:small_resnet --epochs 5 --out runs/first
  resnet-studio train net.rstudio.json --dataset cifar10 --download --amp bf16 --out runs/c10
  resnet-studio train --resume runs/first/last.pt            # after Ctrl-C: go on
  resnet-studio train --resume runs/first/last.pt --epochs 20  # train longer
  torchrun --nproc-per-node 4 -m resnet_studio train preset:resnet20 --out runs/ddp
  resnet-studio train preset:resnet20 --out /shared/runs/big --cluster HEAD:6379 --workers 4

exit status: 0 finished, 1 training failed (diverged, out of memory), 2 could not start,
130 stopped with Ctrl-C (last.pt is resumable)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``, ``bench``, ``find-batch`` and the sanity tools ``lr-find``,
    ``overfit`` and ``preview``; each sets ``handler`` like the other commands."""
    from .command_tools import add_bench, add_find_batch, add_sanity

    _add_train(subparsers)
    add_bench(subparsers)
    add_find_batch(subparsers)
    add_sanity(subparsers)


# ----- train ----------------------------------------------------------------------------------
def _add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="Train a network headless; progress on stderr, files in --out.",
        description="Train a project or preset. Writes config.json, graph.json, metrics.csv, "
                    "steps.jsonl, last.pt and best.pt to the run directory. Ctrl-C stops "
                    "cleanly and leaves a resumable last.pt.",
        epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", nargs="?",
                   help="project file (*.rstudio.json) or preset:NAME; optional with --resume")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="run directory (default with --resume: the checkpoint's folder)")
    p.add_argument("--resume", metavar="CKPT", type=Path, help="go on from this checkpoint")
    p.add_argument("--force", action="store_true",
                   help="start afresh in a run directory that already holds a run")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log to DIR/tensorboard (needs the tensorboard package)")
    add_options(p, OPTIONS)
    add_cluster_options(p)
    p.set_defaults(handler=reported(run_train))


def add_options(parser: argparse.ArgumentParser, options) -> None:
    """Add ``options`` (rows like ``OPTIONS``) as the parser's "training settings" group;
    each defaults to None, so that ``settings`` applies only what was given."""
    group = parser.add_argument_group("training settings")
    for flag, name, kind, metavar, text in options:
        if kind in (bool, "off"):
            group.add_argument(flag, dest=name, action="store_const", const=kind is bool,
                               default=None, help=text)
        elif kind == "onoff":  # --flag / --no-flag
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=text)
        elif isinstance(kind, tuple):
            group.add_argument(flag, dest=name, choices=kind, default=None, help=text)
        else:
            convert = {"ints": _int_list, "floats": _float_list}.get(kind, kind)
            group.add_argument(flag, dest=name, type=convert, metavar=metavar, default=None,
                               help=text)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a comma-separated list of "
                                         "whole numbers") from None


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a comma-separated list of "
                                         "numbers") from None


def settings(args: argparse.Namespace, base: Any) -> Any:
    """``base`` (a TrainConfig) with every option given on the command line applied."""
    top, data = {}, {}
    for _, name, *_ in OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            (data if name.startswith("data.") else top)[name.removeprefix("data.")] = value
    # A flag replaces its alternative from the project or recipe rather than clash with it.
    for given, other, off in (("milestones", "milestone_fractions", ()),
                              ("warmup_steps", "warmup_epochs", 0.0),
                              ("warmup_epochs", "warmup_steps", 0)):
        if given in top and other not in top:
            top[other] = off
    return base.replace(data=base.data.replace(**data), **top).validate()


def run_train(args: argparse.Namespace) -> int:
    with ExitStack() as held:  # the run directory's lock, from before it is looked at
        engine = _engine(args, held)
        began = time.monotonic()
        try:
            with _stop_on_interrupt(engine) as interrupted:
                end = engine.run()
        finally:
            engine.close()
        return _report(engine, end, time.monotonic() - began, interrupted())


def _engine(args: argparse.Namespace, held: ExitStack) -> Any:
    from .checkpoint import load_checkpoint
    from .config import TrainConfig
    from .engine import Engine
    from .runlock import hold_run_dir

    cluster = cluster_requested(args)
    if cluster:
        resume_on_rerun(args)
    checkpoint = load_checkpoint(args.resume) if args.resume else None
    network = load_network(args.project, checkpoint)
    if checkpoint:
        config = settings(args, TrainConfig.from_dict(checkpoint["config"]))
        origin = "the checkpoint's settings"
    else:
        config, origin = train_settings(args, network)
    run_dir = _run_dir(args, checkpoint)
    # a cluster run's rank 0 takes the lock itself, in another process: held for the check
    with ExitStack() as checking:
        (checking if cluster else held).enter_context(
            hold_run_dir(run_dir, hint="wait for it or choose another --out"))
        _refuse_a_finished_run(args, checkpoint)
        if cluster:
            drop_last(args, run_dir)
    sinks = _sinks(args, run_dir, f"training with {origin}")
    if cluster:
        return cluster_run(args, network, config, run_dir, sinks)
    return Engine(network, config, sinks, run_dir, resume_from=checkpoint)


def train_settings(args: argparse.Namespace, network: Any) -> tuple[Any, str]:
    """What ``train PROJECT`` trains with (the project's settings or its preset's recipe,
    then every option given) and where the settings came from. Studies call this too, so
    that a study's runs train exactly as ``train`` would."""
    base, origin = project_config(args.project, network)
    return settings(args, base), origin


def project_config(project: str, network: Any) -> tuple[Any, str]:
    """The settings saved in the project, or its preset's recipe, and which of them it is."""
    from ..presets.recipes import preset_recipe
    from .recipe import project_training, recipe_config

    if project.startswith(PRESET_PREFIX):
        recipe = preset_recipe(project[len(PRESET_PREFIX):])
        config, source = recipe_config(recipe), "the preset's recipe"
    else:
        training = project_training(network)
        config, recipe = training.config, training.recipe
        source = "the project's settings" if network.training is not None else \
            "the recipe for this network (the project has no saved settings)"
    named = f": {recipe.title} — {recipe.citation}" if recipe is not None else ""
    return config, source + named


def load_network(project: str | None, checkpoint: dict[str, Any] | None) -> Any:
    """A Graph, or for ``preset:NAME`` a function making the preset for the data's shape."""
    from ..blocks import CATALOGUE
    from ..graph import project as project_io

    if project is None:
        if checkpoint is None:
            raise CommandError("give a PROJECT (a project file or preset:NAME), or --resume CKPT.",
                               EXIT_UNUSABLE)
        if checkpoint.get("graph") is None:
            raise CommandError("the checkpoint holds no project (it was trained from a plain "
                               "module); give the PROJECT it was trained with.", EXIT_UNUSABLE)
        return project_io.from_dict(checkpoint["graph"], CATALOGUE, "the checkpoint's project")
    if project.startswith(PRESET_PREFIX):
        from ..presets import PRESETS, create
        from ..presets.base import UnknownPresetError

        name = project[len(PRESET_PREFIX):]
        if name not in PRESETS:
            raise CommandError(str(UnknownPresetError(name, PRESETS)), EXIT_UNUSABLE)
        return lambda spec: create(name, spec)  # the preset adapts to the data
    return project_io.load(project, CATALOGUE)


def _run_dir(args: argparse.Namespace, checkpoint: dict[str, Any] | None) -> Path:
    if args.out is None:
        if args.resume is None:
            raise CommandError("give the run directory with --out DIR (e.g. --out runs/first).",
                               EXIT_UNUSABLE)
        return args.resume.parent
    return args.out


def _refuse_a_finished_run(args: argparse.Namespace, checkpoint: dict[str, Any] | None) -> None:
    """A fresh run into a directory holding one needs --force (looked at under its lock)."""
    from .rundir import LAST

    existing = args.out / LAST if args.out is not None else None
    if checkpoint is None and existing is not None and existing.exists() and not args.force:
        raise CommandError(f"{args.out} already holds a run; go on with `--resume {existing}`, "
                           "choose another --out, or pass --force to start afresh there.",
                           EXIT_UNUSABLE)


def _sinks(args: argparse.Namespace, run_dir: Path, preface: str) -> list[Any]:
    from .progress import ProgressSink
    from .sinks import TensorBoardSink

    sinks: list[Any] = [ProgressSink(sys.stderr, preface=preface)]
    if args.tensorboard:
        sinks.append(TensorBoardSink(run_dir / "tensorboard"))
    return sinks


@contextmanager
def _stop_on_interrupt(engine: Any) -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks the engine to stop after the current step; a second one aborts.

    Once a Ctrl-C has come, the command is ending with status 130 and last.pt is on disk:
    Python's own handler is not put back, because a further Ctrl-C while the summary is
    printed or the interpreter shuts down would then end the process by SIGINT (status
    -2) with a traceback. The handler left in place lets the exit finish."""
    state = {"count": 0}

    def handler(signum: int, frame: Any) -> None:
        state["count"] += 1
        if state["count"] > 1:
            raise KeyboardInterrupt
        engine.stop()
        if engine.is_main:
            print("\nstopping after this step and saving last.pt (Ctrl-C again to abort) …",
                  file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: state["count"] > 0
    finally:
        signal.signal(signal.SIGINT, _while_ending if state["count"] else previous)


def _while_ending(signum: int, frame: Any) -> None:
    """Ctrl-C after an interrupted run has ended: it is already ending, with status 130."""


def _report(engine: Any, end: Any, elapsed: float, interrupted: bool) -> int:
    from .progress import summary

    if end.status == "failed":
        print(f"{PROG}: error: {end.message}", file=sys.stderr)
        return EXIT_UNUSABLE if engine.session is None else EXIT_FAILED
    if not engine.is_main:
        return EXIT_OK
    print(summary(end, elapsed))
    if end.status == "stopped" and end.checkpoint:
        again = getattr(engine, "resume_hint", None) or \
            f"resnet-studio train --resume {end.checkpoint}"
        print(f"resume with: {again}")
    return EXIT_INTERRUPTED if interrupted and end.status == "stopped" else EXIT_OK


# ----- bench ----------------------------------------------------------------------------------
