"""The ``resnet-studio`` command.

Without a sub-command it opens the desktop editor; every sub-command runs headless and never
imports Qt (``tests/core/test_cli.py`` checks ``sys.modules``). The heavy packages (torch, the
compiler, the presets, the training engine) are imported only by the commands that use them,
so ``validate --help`` or a refused overwrite answer at once.

Exit status: 0 success; 1 the network has errors (``validate``, ``summary``, ``source``);
2 the command could not run (unreadable or missing file, unknown preset, bad arguments).
Every error is one line ``resnet-studio: error: <message>`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .argtypes import positive_int as _positive_int
from .budget import BudgetError
from .errors_text import describe_os_error
from .graph import GraphError
from .graph.text import visible
from .precheck import Refused, check_arguments

if TYPE_CHECKING:
    from .graph import Graph

PROG = "resnet-studio"
LOCAL_COMMANDS = ("presets", "examples", "new", "validate", "summary", "source")
EXIT_OK, EXIT_PROBLEMS, EXIT_FAILURE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = """\
Design, train and understand residual convolutional networks.

Run without a command to open the desktop editor on the default project, or with a project file
(resnet-studio FILE.rstudio.json) to open that. The commands below work on project files
without a display."""

EXAMPLES = """\
examples:
  resnet-studio                                   open the desktop editor
  resnet-studio net.rstudio.json                  open a project in the editor
  resnet-studio presets                           list the ready-made networks
  resnet-studio examples                          list the example projects
  resnet-studio new resnet18 -o net.rstudio.json --classes 10 --height 32 --width 32
  resnet-studio new --example cifar_resnet20 -o r20.rstudio.json
  resnet-studio validate net.rstudio.json         check a project, list its problems
  resnet-studio summary net.rstudio.json          shapes, parameters and MACs per layer
  resnet-studio source net.rstudio.json -o model.py
  resnet-studio COMMAND --help                    help on one command

exit status: 0 success, 1 the network has errors, 2 the command could not run."""


class CommandError(Exception):
    """A failure reported as one line on stderr, with the exit status to return."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE):
        super().__init__(message)
        self.exit_code = exit_code


# ----- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _reported_errors() as exc:
        # Messages quote names from files: show their control characters, never obey them.
        text = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
        print(f"{PROG}: error: {visible(text, keep_newlines=True)}", file=sys.stderr)
        return _exit_code(exc)


def _dispatch(argv: list[str]) -> int:
    # `resnet-studio` and `resnet-studio FILE.rstudio.json` open the editor; argparse cannot
    # express an optional positional next to sub-commands, so this is decided first.
    if not argv:
        return launch_gui()
    if len(argv) == 1 and argv[0].endswith(".json") and not argv[0].startswith("-"):
        return launch_gui(argv[0])
    args = build_parser(engine=_may_need_engine(argv)).parse_args(argv)
    check_arguments(args)  # what the arguments alone refuse, before torch loads
    return args.handler(args)


def _reported_errors() -> tuple[type[BaseException], ...]:
    """The failures a user can cause, reported as one line. Evaluated only while an exception
    is in flight; the compiler's and the presets' errors can only have been raised if their
    modules are loaded, so checking ``sys.modules`` avoids importing torch to report, say, a
    file that already exists."""
    return (CommandError, GraphError, OSError, BudgetError, Refused,
            *_loaded_classes(_LAZY_ERRORS))


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, CommandError):
        return exc.exit_code
    build_errors = _loaded_classes({"resnet_studio.compiler.builder": "BuildError"})
    return EXIT_PROBLEMS if isinstance(exc, build_errors) else EXIT_FAILURE


_LAZY_ERRORS = {"resnet_studio.compiler.builder": "BuildError",
                "resnet_studio.presets.base": "UnknownPresetError",
                "resnet_studio.examples": "UnknownExampleError"}


def _loaded_classes(names: dict[str, str]) -> tuple[type[BaseException], ...]:
    modules = ((sys.modules.get(module), name) for module, name in names.items())
    return tuple(getattr(module, name) for module, name in modules if module is not None)


def build_parser(engine: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``engine=False`` leaves out the training engine's commands."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    _add_presets(commands)
    _add_examples(commands)
    _add_new(commands)
    _add_validate(commands)
    _add_summary(commands)
    _add_source(commands)
    if engine:
        register_engine_commands(commands)
    return parser


def _may_need_engine(argv: Sequence[str]) -> bool:
    """False when ``argv`` runs one of the commands defined here. Importing the engine loads
    torch and torchvision (seconds), which ``validate --help`` should not wait for; the main
    ``--help``, a mistyped command and the engine's own commands still get it."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first not in LOCAL_COMMANDS


def register_engine_commands(commands: argparse._SubParsersAction) -> None:
    """Add the commands of the training engine (``train``, ``bench``), the export package
    (``export``, ``import``), the studies (``experiment``) and the analyses (``signal``,
    ``lesion``, ``landscape``, ``explain``); each sets ``handler`` like the commands here."""
    from .analysis.command import register as register_analysis
    from .export.command import register as register_export
    from .study.command import register as register_study
    from .train.command import register as register_train

    register_train(commands)
    register_export(commands)
    register_study(commands)
    register_analysis(commands)


def _command(commands: argparse._SubParsersAction, name: str, summary: str, examples: str,
             handler: Handler, details: str = "") -> argparse.ArgumentParser:
    """A sub-command: ``summary`` is its line in the command list, ``details`` follow it in
    the command's own ``--help``."""
    description = f"{summary}\n\n{details}" if details else summary
    parser = commands.add_parser(name, help=summary, description=description,
                                 epilog="examples:\n" + examples,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=handler)
    return parser


# ----- the desktop editor ---------------------------------------------------------------------
def launch_gui(project: str | None = None) -> int:
    """Open the desktop editor (on ``project``, else on the default project), or say that this
    build has none and show what it would open."""
    try:
        from .ui.shell.app import main as run_editor
    except ModuleNotFoundError as exc:
        if exc.name not in ("resnet_studio.ui", "resnet_studio.ui.shell.app"):
            raise CommandError(f"the desktop editor cannot start: {exc}. "
                               "Run `bash .ci/setup` to install its dependencies.") from None
        return _editor_missing(project)
    _check_display()
    _check_platform_libraries()  # before Qt loads its platform plugin, which aborts
    return int(run_editor([project] if project else []) or 0)


def _check_display() -> None:
    """Qt aborts the whole process when it finds no display on Linux; say so in one line."""
    if not sys.platform.startswith("linux"):
        return
    if not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise CommandError(
            "no display to open the desktop editor on (neither DISPLAY nor WAYLAND_DISPLAY is "
            "set). Run it in a desktop session, under `xvfb-run`, or with "
            "QT_QPA_PLATFORM=offscreen for a window nobody sees.")


def _check_platform_libraries() -> None:
    """Qt aborts when its X11 plugin misses a system library, naming one at best; name them
    all, with the command that installs them (see ``qt_platform``)."""
    from . import qt_platform

    if qt_platform.uses_xcb():
        missing = qt_platform.missing_libraries()
        if missing:
            raise CommandError(qt_platform.advice(missing))


def _editor_missing(project: str | None) -> int:
    from .api import DEFAULT_PRESET, load_project, new_project, summarize

    graph = load_project(project) if project else new_project(DEFAULT_PRESET)
    what = project or f"the default project, preset ‘{DEFAULT_PRESET}’"
    print("The desktop editor is not installed in this build of ResNet Studio; the command-line\n"
          f"tools are (see `{PROG} --help`). The editor would open {what}:\n")
    print(summarize(graph), end="")
    return EXIT_OK


# ----- presets --------------------------------------------------------------------------------
def _add_presets(commands: argparse._SubParsersAction) -> None:
    _command(commands, "presets", "List the ready-made networks and their default inputs.",
             f"  {PROG} presets\n  {PROG} new resnet50 -o resnet50.rstudio.json", run_presets,
             "Parameter counts are for each preset's default input and class count.")


def run_presets(args: argparse.Namespace) -> int:
    from .compiler import Analyzer
    from .presets import PRESETS
    from .summary import format_table, human_count, input_text

    analyzer = Analyzer()  # one cache: the deep presets share most of their blocks
    from .presets.recipes import preset_recipe

    rows, recipes = [], {}
    for preset in PRESETS.values():
        params = analyzer.analyze(preset.create()).total_params
        recipe = recipes.setdefault(preset.name, preset_recipe(preset.name))
        rows.append((preset.name, preset.title, preset.family, input_text(preset.default_input),
                     human_count(params), recipe.name))
    headers = ("name", "title", "family", "default input → classes", "params", "recipe")
    print(format_table(headers, rows, right=(4,)))
    print("\nrecipes (the training settings `new` writes into the project):")
    for recipe in {r.name: r for r in recipes.values()}.values():
        print(f"  {recipe.name}: {recipe.title}. {recipe.citation}")
    return EXIT_OK


# ----- examples -------------------------------------------------------------------------------
def _add_examples(commands: argparse._SubParsersAction) -> None:
    _command(commands, "examples", "List the example projects that come with ResNet Studio.",
             f"  {PROG} examples\n  {PROG} new --example custom_residual_block -o my.rstudio.json",
             run_examples, "Each is a project file with its training settings; `new --example "
             "NAME` writes a copy\nto edit (the app: File → Open Example).")


def run_examples(args: argparse.Namespace) -> int:
    from .examples import EXAMPLES
    from .summary import format_table

    print(format_table(("name", "title"), [(e.name, e.title) for e in EXAMPLES]))
    for example in EXAMPLES:
        print("\n" + textwrap.fill(f"{example.name}: {example.description}", 100,
                                   subsequent_indent="  "))
    return EXIT_OK


# ----- new ------------------------------------------------------------------------------------
def _add_new(commands: argparse._SubParsersAction) -> None:
    parser = _command(
        commands, "new", "Create a project file from a preset or an example project.",
        f"  {PROG} new small_resnet -o net.rstudio.json\n"
        f"  {PROG} new resnet18 -o cifar.rstudio.json --classes 10 --height 32 --width 32\n"
        f"  {PROG} new resnet50 -o net.rstudio.json --force      # replace an existing file\n"
        f"  {PROG} new --example mnist_small_resnet -o digits.rstudio.json",
        run_new,
        "Without --force an existing FILE is never replaced. The input options change the image\n"
        "size and class count; the layers adapt (the last Linear layer gives $classes scores).\n"
        "--example copies one of the example projects (see `resnet-studio examples`).")
    parser.add_argument("preset", metavar="PRESET", nargs="?",
                        help=f"preset name (see `{PROG} presets`)")
    parser.add_argument("--example", metavar="NAME",
                        help=f"start from this example project instead (see `{PROG} examples`)")
    parser.add_argument("-o", "--output", metavar="FILE", required=True, type=Path,
                        help="project file to write (*.rstudio.json)")
    for name, what in (("classes", "number of classes"), ("channels", "image channels"),
                       ("height", "image height in pixels"), ("width", "image width in pixels")):
        parser.add_argument(f"--{name}", type=_positive_int, metavar="N",
                            help=f"{what} (default: the preset's)")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def run_new(args: argparse.Namespace) -> int:
    if (args.preset is None) == (args.example is None):
        raise CommandError("give a PRESET or --example NAME (one of them); see "
                           f"`{PROG} presets` and `{PROG} examples`.")
    if args.output.exists() and not args.force:
        raise CommandError(f"{args.output} already exists; pass --force to overwrite it.")
    from .api import analyze, save_project

    graph, source = _new_graph(args)
    save_project(graph, args.output)
    analysis = analyze(graph)
    print(f"Wrote {args.output}: {source}, {len(graph)} nodes, "
          f"{analysis.total_params:,} parameters, input {_input(graph)} classes, training "
          f"recipe ‘{graph.training['recipe']['title']}’.")
    if not analysis.ok:
        errors = sum(d.severity == "error" for d in analysis.diagnostics)
        print(f"{PROG}: warning: at this input size the network has {errors} error(s); "
              f"see `{PROG} validate {args.output}`.", file=sys.stderr)
    return EXIT_OK


def _new_graph(args: argparse.Namespace) -> tuple[Graph, str]:
    """The project ``new`` writes, and where it came from in words."""
    from .api import load_project, new_project
    from .train.recipe import preset_training

    sizes = {"classes": args.classes, "channels": args.channels, "height": args.height,
             "width": args.width}
    if args.preset is not None:
        graph = new_project(args.preset, **sizes)
        graph.training = preset_training(args.preset)
        return graph, f"preset ‘{args.preset}’"
    from .examples import example

    graph = load_project(example(args.example).path)
    changes = {name: value for name, value in sizes.items() if value is not None}
    if changes:  # the layers adapt as a preset's do: sizes are $references, shapes inferred
        spec = dataclasses.replace(graph.input_spec, **changes)
        spec.validate()
        graph.set_input_spec(spec)
    return graph, f"example ‘{args.example}’"


def _input(graph: Graph) -> str:
    from .summary import input_text

    return input_text(graph.input_spec)


# ----- validate -------------------------------------------------------------------------------
def _add_validate(commands: argparse._SubParsersAction) -> None:
    parser = _command(
        commands, "validate", "Check a project file and list every problem with its node.",
        f"  {PROG} validate net.rstudio.json\n"
        f"  {PROG} validate net.rstudio.json && {PROG} source net.rstudio.json -o model.py",
        run_validate,
        "Exit status: 0 no errors (warnings allowed), 1 the network has errors, 2 the file\n"
        "cannot be read (missing, damaged, unknown format version or block type).")
    parser.add_argument("file", metavar="FILE", type=Path, help="project file (*.rstudio.json)")


def run_validate(args: argparse.Namespace) -> int:
    from .api import analyze, load_project
    from .summary import shape_text

    graph = load_project(args.file)
    analysis = analyze(graph)
    for d in analysis.diagnostics:
        print(f"{args.file}: {d.severity}: [{d.node_id or 'network'}] {visible(d.message)}")
    errors = sum(d.severity == "error" for d in analysis.diagnostics)
    warnings = len(analysis.diagnostics) - errors
    errors += _check_training(args.file, graph)
    if errors:
        print(f"{args.file}: {errors} error(s), {warnings} warning(s).")
        return EXIT_PROBLEMS
    shape = shape_text(analysis.output_shape())  # a detector's output in words
    print(f"{args.file}: OK — {len(graph)} nodes, {analysis.total_params:,} parameters, "
          f"input {_input(graph)} classes, output {shape}, {warnings} warning(s).")
    return EXIT_OK


def _check_training(path: Path, graph: Graph) -> int:
    """The project's training settings checked exactly as ``train`` reads them (the saved
    settings over the recipe's, every field validated); prints the problem, returns 0 or 1."""
    from .train.config import ConfigError
    from .train.recipe import project_training

    try:
        project_training(graph)
    except ConfigError as exc:
        print(f"{path}: error: [{exc.field}] {visible(exc.reason)}")
        return 1
    return 0


# ----- summary --------------------------------------------------------------------------------
def _add_summary(commands: argparse._SubParsersAction) -> None:
    parser = _command(
        commands, "summary", "Print shapes, parameters and MACs per node, and the totals.",
        f"  {PROG} summary net.rstudio.json\n"
        f"  {PROG} summary net.rstudio.json --batch-size 128   # activation memory of a batch",
        run_summary,
        "Per node: type, output shape, parameters and multiply-accumulates (MACs) per image.\n"
        "Totals: parameters, MACs, FLOPs and the forward activation memory of one batch.\n"
        "FLOPs = 2 × MACs, counted for convolution and linear layers; torchvision's\n"
        "\"GFLOPS\" column is the MAC count. Exit status 1 when the network has errors.")
    parser.add_argument("file", metavar="FILE", type=Path, help="project file (*.rstudio.json)")
    parser.add_argument("-b", "--batch-size", type=_positive_int, default=1, metavar="N",
                        help="images per batch for shapes and activation memory (default: 1)")


def run_summary(args: argparse.Namespace) -> int:
    from .api import analyze, load_project
    from .summary import format_summary
    from .train.config import ConfigError
    from .train.recipe import describe, project_training

    graph = load_project(args.file)
    analysis = analyze(graph)
    print(format_summary(graph, analysis, args.batch_size), end="")
    try:
        print("\n" + "\n".join(describe(project_training(graph))))
    except ConfigError as exc:
        raise CommandError(f"{args.file}: {exc}") from None
    return EXIT_OK if analysis.ok else EXIT_PROBLEMS


# ----- source ---------------------------------------------------------------------------------
def _add_source(commands: argparse._SubParsersAction) -> None:
    parser = _command(
        commands, "source",
        "Write the network as readable PyTorch source (class Net).",
        f"  {PROG} source net.rstudio.json -o model.py\n"
        f"  {PROG} source net.rstudio.json              # print to standard output",
        run_source,
        "The file defines `class Net(nn.Module)`, its layers named after the nodes, and needs\n"
        "only torch. Exit status 1 when the network has errors.")
    parser.add_argument("file", metavar="FILE", type=Path, help="project file (*.rstudio.json)")
    parser.add_argument("-o", "--output", metavar="PY", type=Path,
                        help="Python file to write, atomically (default: standard output)")


def run_source(args: argparse.Namespace) -> int:
    from .api import load_project
    from .export.model_source import model_source_with_project
    from .graph.project import write_text_atomic

    text = model_source_with_project(load_project(args.file))  # importable back
    if args.output is None:
        print(text, end="")
        return EXIT_OK
    write_text_atomic(args.output, text)
    print(f"Wrote {args.output} ({text.count(chr(10))} lines).")
    return EXIT_OK
