"""The ``experiment`` sub-command of ``resnet-studio``: plan a study, estimate it, run it,
write its table and figures (headless, never Qt).

    resnet-studio experiment degradation preset:resnet20 --depths 20,32,44 --epochs 5
    resnet-studio experiment variants net.rstudio.json --blocks basicblock,preactblock
    resnet-studio experiment sweep net.rstudio.json --vary lr=0.01,0.1 --vary width=1,2
    resnet-studio experiment twin net.rstudio.json --run runs/first
    resnet-studio experiment resume studies/net-degradation     # after Ctrl-C or a crash
    resnet-studio experiment report studies/net-degradation     # redraw table and figures

The training options are ``train``'s; a study directory that already holds the same plan is
resumed, so repeating the command after an interruption goes on where it stopped.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..locks import hold
from ..train.command import OPTIONS, PRESET_PREFIX, CommandError, add_options, reported
from . import console
from .cluster_options import add_cluster_options, cluster_executor, plan_notes
from .queue import LOCK_HINT

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "resnet-studio"
# Image shape and classes of the torchvision sets, to make a preset for them before loading.
DATASET_INPUTS = {"mnist": (1, 28, 10), "fashion_mnist": (1, 28, 10), "cifar10": (3, 32, 10),
                  "cifar100": (3, 32, 100), "svhn": (3, 32, 10)}

EXAMPLES = """\
examples:
  resnet-studio experiment degradation preset:resnet20 --depths 20,32,44,56 --epochs 10
  resnet-studio experiment variants net.rstudio.json --blocks basicblock,scaledresidual,preactblock
  resnet-studio experiment sweep net.rstudio.json --vary lr=0.01,0.03,0.1 --vary width=0.5,1
  resnet-studio experiment twin net.rstudio.json --run runs/first
  resnet-studio experiment resume studies/net-degradation
  resnet-studio experiment report studies/net-degradation

Each study is a directory (default: studies/<project>-<kind> beside the project) holding
study.json (the plan), one run directory per run under runs/, results.csv and the figures
(PNG and SVG). Ctrl-C stops after the current step; the same command resumes.

exit status: 0 every run finished, 1 a run failed (the others still ran), 2 could not start,
130 stopped with Ctrl-C (resumable)."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``experiment`` with one sub-command per study kind, ``resume`` and ``report``."""
    parser = commands.add_parser(
        "experiment", help="Run a comparative study: degradation, variants, sweep, twin.",
        description="Plan a study of several runs derived from a project, estimate its time, "
                    "train the runs one after another and write the results table and figures.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(title="studies", metavar="KIND", dest="kind", required=True)
    degradation = _kind(kinds, "degradation",
                        "The project at several depths, with and without skips.")
    degradation.add_argument("--depths", metavar="D1,D2",
                             help="depths in weighted layers (default 20,32,44,56; with "
                                  "--budget cpu 8,20,44 on the CIFAR layout)")
    degradation.add_argument(
        "--budget", choices=("cpu", "paper"),
        help="paper: He et al. 2016's CIFAR schedule (SGD 0.1, wd 1e-4, ×0.1 at 50 %% and "
             "75 %% of 164 epochs, crop); cpu: that optimisation for 3 epochs on MNIST "
             "without augmentation at depths 8,20,44, to see the effect in minutes on a CPU. "
             "The options below override it")
    variants = _kind(kinds, "variants", "The project's residual blocks swapped for each type.")
    variants.add_argument("--blocks", metavar="T1,T2", help="block type ids (default: the "
                          "project's own block, then basicblock,scaledresidual,resnormblock,"
                          "fusionblock,preactblock,sebasicblock)")
    variants.add_argument("--target", type=float, default=0.9, metavar="ACC",
                          help="validation accuracy whose first step the table reports "
                               "(default 0.9)")
    _kind(kinds, "sweep", "One or two settings over lists of values.").add_argument(
        "--vary", action="append", metavar="NAME=V1,V2", required=True,
        help="a setting and its values: lr, weight_decay, batch_size, epochs, seed, width, "
             "depth, init (default,zero_residual); give --vary once or twice")
    _kind(kinds, "twin", "The residual network against its plain twin.").add_argument(
        "--run", metavar="DIR", type=Path,
        help="an existing finished run of the project, used instead of training it again")
    for name, text in (("resume", "Go on with a study directory's unfinished runs."),
                       ("report", "Write a study directory's table and figures again.")):
        p = kinds.add_parser(name, help=text, description=text)
        p.add_argument("directory", metavar="DIR", type=Path, help="study directory")
        if name == "resume":
            _queue_options(p)
        p.set_defaults(handler=_reported(run_existing))


def _reported(handler: Any) -> Any:
    """``train``'s error reporting, also for a study that cannot be planned or read."""
    from .plan import StudyError

    def guarded(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except StudyError as exc:
            raise CommandError(str(exc)) from None
    return reported(guarded)


def _kind(kinds: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    p = kinds.add_parser(name, help=text, description=text, epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", help="project file or preset:NAME")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="study directory (default: studies/<project>-<kind> beside it)")
    p.add_argument("--force", action="store_true",
                   help="replace a different study in DIR (its runs are deleted)")
    p.add_argument("--plan-only", action="store_true",
                   help="write study.json and print the plan and estimate; train nothing")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="train every configuration N times, from seeds S, S+1, … (S: --seed); "
                        "the data and its split stay the same (default 1)")
    _queue_options(p)
    add_options(p, OPTIONS)
    p.set_defaults(handler=_reported(run_new))
    return p


def _queue_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--retry-failed", action="store_true", help="train failed runs again")
    p.add_argument("--no-estimate", action="store_true",
                   help="skip the short timing that estimates the study's duration")
    console.add_options(p)
    add_cluster_options(p)  # after: --gpus-per-trial is console's


# ----- planning -------------------------------------------------------------------------------
def run_new(args: argparse.Namespace) -> int:
    study = plan(args)
    directory = args.out or default_directory(args.project, args.kind)
    with hold(directory, hint=LOCK_HINT):  # before a different study there is cleared
        return _start(study, directory, args)


def _start(study: Any, directory: Path, args: argparse.Namespace) -> int:
    from .plan import Study

    if (directory / "study.json").exists():
        saved = Study.load(directory)
        if not saved.same_plan(study):
            if not args.force:
                raise CommandError(f"{directory} holds a different {saved.kind} study; choose "
                                   "another --out, or pass --force to replace it.")
            _clear(directory)
        else:
            print(f"{directory} holds this study already: going on where it stopped.")
    study.save(directory)
    if args.plan_only:
        executor = console.executor(args)
        _print_plan(study, _estimate(study, args, executor), getattr(executor, "slots", 1))
        return EXIT_OK
    return _execute(study, directory, args)


def run_existing(args: argparse.Namespace) -> int:
    from .plan import Study

    study = Study.load(args.directory)
    with hold(args.directory, hint=LOCK_HINT):
        if args.kind == "report":
            return _report(study, args.directory)
        return _execute(study, args.directory, args)


def plan(args: argparse.Namespace) -> Any:
    """The study ``args`` ask for (see ``kinds``), repeated over ``--seeds`` and with its
    settings stated (``setup``)."""
    from . import kinds
    from .setup import describe, repeat

    graph, config, source = starting_point(args)
    name = args.project
    if args.kind == "degradation":
        study = kinds.plan_degradation(graph, config, _depths(args, graph), name)
    elif args.kind == "variants":
        blocks = (tuple(args.blocks.split(",")) if args.blocks
                  else kinds.default_variants(graph))
        study = kinds.plan_variants(graph, config, blocks, args.target, name)
    elif args.kind == "sweep":
        study = kinds.plan_sweep(graph, config, _vary(args.vary), name)
    else:
        study = kinds.plan_twin(graph, config, args.run, name)
    return describe(repeat(study, args.seeds, config.seed), source)


def starting_point(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The network, the settings every run starts from and where they came from: what
    ``train PROJECT`` would use (``train.command.project_config`` and ``settings``), with
    the ``--budget`` (degradation) applied below the options, so that options win."""
    from ..train.command import project_config, settings
    from .setup import apply_budget

    budget = getattr(args, "budget", None)
    preset = args.project.startswith(PRESET_PREFIX)
    graph = None if preset else load_network(args.project, None, args)
    base, source = project_config(args.project, graph)
    config = settings(args, apply_budget(base, budget))
    if preset:
        graph = load_network(args.project, config, args)
    if budget:
        source += f"; with the ‘{budget}’ budget of `experiment degradation --budget`"
    return graph, fit_synthetic(config, graph, args), source


def fit_synthetic(config: Any, graph: Any, args: argparse.Namespace) -> Any:
    """On the synthetic set (drawn at any size) the data take the project's input shape and
    classes wherever the options do not set them, so that any project trains as it is."""
    spec = graph.input_spec
    if config.data.dataset != "synthetic" or spec.height != spec.width:
        return config
    wanted = {"channels": spec.channels, "image_size": spec.height, "classes": spec.classes}
    changes = {k: v for k, v in wanted.items() if getattr(args, f"data.{k}", None) is None}
    return config.replace(data=config.data.replace(**changes)).validate()


def load_network(project: str, config: Any, args: argparse.Namespace | None = None) -> Any:
    """The project's graph. A preset is made at its own input, unless the dataset has a
    fixed shape (a torchvision set, which ``train`` serves at its own shape to a preset) or
    the options set the image size, channels or classes."""
    from ..blocks import CATALOGUE
    from ..graph import InputSpec
    from ..graph import project as project_io

    if not project.startswith(PRESET_PREFIX):
        return project_io.load(project, CATALOGUE)
    from ..presets import create

    name = project[len(PRESET_PREFIX):]
    if config.data.dataset in DATASET_INPUTS:
        channels, size, classes = DATASET_INPUTS[config.data.dataset]
        return create(name, InputSpec(channels, size, size, classes))
    own = create(name).input_spec
    given = {k: getattr(args, f"data.{k}", None) for k in ("channels", "image_size", "classes")}
    if not any(v is not None for v in given.values()):
        return create(name)
    size = given["image_size"]
    return create(name, InputSpec(given["channels"] or own.channels, size or own.height,
                                  size or own.width, given["classes"] or own.classes))


def _depths(args: argparse.Namespace, graph: Any) -> tuple[int, ...]:
    """``--depths``, else the ``cpu`` budget's depths, else the default ones."""
    from . import derive, kinds
    from .setup import cpu_depths

    if args.depths is not None:
        return _ints(args.depths, "--depths")
    if args.budget == "cpu":
        _, step, reachable = derive.reachable_depths(graph, limit=7)
        if step:
            return tuple(cpu_depths(reachable))
    return kinds.DEFAULT_DEPTHS


def default_directory(project: str, kind: str) -> Path:
    if project.startswith(PRESET_PREFIX):
        return Path("studies") / f"{project[len(PRESET_PREFIX):]}-{kind}"
    path = Path(project)
    stem = path.name.split(".")[0] or "project"
    return path.parent / "studies" / f"{stem}-{kind}"


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise CommandError(f"{flag} ‘{text}’ is not a comma-separated list of whole "
                           "numbers.") from None


def _vary(items: list[str]) -> dict[str, list[Any]]:
    from .kinds import parse_values

    out: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise CommandError(f"--vary ‘{item}’: write NAME=V1,V2 (e.g. lr=0.01,0.1).")
        out[name.strip()] = parse_values(name.strip(), values)
    return out


def _clear(directory: Path) -> None:
    shutil.rmtree(directory / "runs", ignore_errors=True)
    (directory / "state.json").unlink(missing_ok=True)


# ----- running --------------------------------------------------------------------------------
def _estimate(study: Any, args: argparse.Namespace, executor: Any = None) -> Any:
    if args.no_estimate:
        return None
    from .estimate import estimate

    print("timing a few training steps to estimate the study's duration …", file=sys.stderr)
    with console.timing_threads(executor):
        return estimate(study)


def _print_plan(study: Any, estimate: Any, slots: int = 1) -> None:
    from ..train.progress import format_duration
    from .estimate import budget_warning

    print(f"{study.title}: {len(study.runs)} runs")
    for key, text in (("settings_source", "settings from"), ("effective", "every run")):
        if study.settings.get(key):
            print(f"{text}: {study.settings[key]}")
    if len(study.settings.get("seeds", ())) > 1:
        print(f"each configuration {len(study.settings['seeds'])} times, seeds "
              f"{', '.join(map(str, study.settings['seeds']))} (same data and split)")
    for i, spec in enumerate(study.runs, 1):
        seconds = estimate.seconds.get(spec.name) if estimate else None
        when = ("existing run" if spec.existing else
                f"about {format_duration(seconds)}" if seconds is not None else "time unknown")
        print(f"  [{i}/{len(study.runs)}] {spec.label:<32} {when}")
    if estimate and estimate.total is not None:
        at_once = (f"; {slots} at once: about {format_duration(estimate.wall(slots))}"
                   if slots > 1 else "")
        print(f"estimated total: {format_duration(estimate.total)} "
              f"({estimate.step_seconds * 1000:.0f} ms per step of {estimate.timed_run}"
              f"{at_once})")
    warning = budget_warning(study)
    if warning:
        print(warning)


def _execute(study: Any, directory: Path, args: argparse.Namespace) -> int:
    from .queue import StudyQueue

    executor = cluster_executor(args, directory, study) or console.executor(args)
    estimate = _estimate(study, args, executor)
    _print_plan(study, estimate, getattr(executor, "slots", 1))
    for note in plan_notes(executor, study):
        print(note)
    printer = ProgressPrinter() if executor is None else console.TrialLines(study)
    queue = StudyQueue(study, directory, on_progress=printer,
                       estimates=estimate.seconds if estimate else None,
                       retry_failed=args.retry_failed, sinks=printer.sinks, executor=executor)
    with _cancel_on_interrupt(queue):
        outcome = queue.run()
    _report(study, directory)
    if outcome.cancelled:
        print(f"stopped; resume with: {PROG} experiment resume {directory}")
        return EXIT_INTERRUPTED
    for name in outcome.failed:
        error = queue.state["runs"].get(name, {}).get("error", "")
        print(f"{PROG}: error: run ‘{name}’ failed: {error}", file=sys.stderr)
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _report(study: Any, directory: Path) -> int:
    from .figures import write_report
    from .report import terminal_text
    from .results import collect

    results = collect(study, directory)
    files = write_report(results, directory)
    print(terminal_text(results))
    print(f"wrote {', '.join(p.name for p in files)} to {directory}")
    return EXIT_OK


class ProgressPrinter:
    """Prints a line per run start and end, and ``train``'s progress line while a run trains."""

    def __init__(self, stream: Any = None):
        self.stream = stream if stream is not None else sys.stderr

    def sinks(self, spec: Any) -> list[Any]:
        from ..train.progress import ProgressSink

        return [ProgressSink(self.stream)]

    def __call__(self, p: Any) -> None:
        from ..train.progress import format_duration

        where = f"[{p.index + 1}/{p.count}] {p.label}"
        eta = f"; study {p.fraction:.0%} done" + (
            "" if p.study_eta is None else f", ETA {format_duration(p.study_eta)}")
        if p.event == "start":
            print(f"{where}: {'resuming' if p.message else 'training'}{eta}", file=self.stream)
        elif p.event == "skip":
            print(f"{where}: {p.status}, skipped" + (f" ({p.message})" if p.message else ""),
                  file=self.stream)
        elif p.event == "end":
            print(f"{where}: {p.status} — {p.message.rstrip('.')}{eta}", file=self.stream)


@contextmanager
def _cancel_on_interrupt(queue: Any) -> Iterator[None]:
    """The first Ctrl-C cancels the study after the current step; a second one aborts."""
    count = {"n": 0}

    def handler(signum: int, frame: Any) -> None:
        count["n"] += 1
        if count["n"] > 1:
            raise KeyboardInterrupt
        queue.cancel()
        print("\nstopping the study after this step (Ctrl-C again to abort) …", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
