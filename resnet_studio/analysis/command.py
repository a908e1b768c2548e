"""The analysis sub-commands of ``resnet-studio``: ``signal``, ``lesion``, ``landscape`` and
``explain`` (headless, never Qt). Each writes a PNG and its numbers (CSV and/or JSON) to the
folder given with ``-o`` and prints its progress on stderr.

``register(subparsers)`` adds them to the main parser; building the parser imports nothing
heavy, torch loads only when a command runs. Every failure a user can cause is one line
``resnet-studio: error: …``. Exit status: 0 done, 1 the network has errors, 2 could not run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..argtypes import positive_float, positive_int

PROG = "resnet-studio"
PRESET_PREFIX = "preset:"
EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]
INITS = ("he_fan_out", "he_fan_in", "xavier", "pytorch")  # compiler.INITS, without torch


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the analysis commands."""
    _add_signal(subparsers)
    _add_lesion(subparsers)
    _add_landscape(subparsers)
    _add_explain(subparsers)


def _parser(subparsers: argparse._SubParsersAction, name: str, summary: str, details: str,
            examples: str, handler: Handler) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=summary, description=f"{summary}\n\n{details}",
                              epilog="examples:\n" + examples,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", metavar="DIR", type=Path, required=True,
                   help="folder for the figure and the numbers (made if missing)")
    p.set_defaults(handler=reported(handler))
    return p


def reported(handler: Handler) -> Handler:
    """Run ``handler``; print failures a user can cause as one line, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        from ..budget import BudgetError
        from ..compiler import BuildError
        from ..errors_text import describe_os_error
        from ..graph import GraphError
        from ..presets.base import UnknownPresetError
        from .common import AnalysisError, Cancelled

        try:
            return handler(args)
        except OSError as exc:
            return _fail(describe_os_error(exc), EXIT_UNUSABLE)
        except (AnalysisError, BudgetError, Cancelled, GraphError, UnknownPresetError) as exc:
            return _fail(str(exc), EXIT_UNUSABLE)
        except BuildError as exc:
            return _fail(str(exc).replace("\n", " "), EXIT_PROBLEMS)

    return run


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def printer(prefix: str) -> Callable[[int, int, str], None]:
    """A progress callback printing ``prefix [done/total] message`` lines on stderr."""

    def show(done: int, total: int, message: str) -> None:
        print(f"{prefix} [{done}/{total}] {message}", file=sys.stderr, flush=True)

    return show


def load_graph(source: str) -> Any:
    """A project file, or ``preset:NAME`` at the preset's default input."""
    from ..blocks import CATALOGUE
    from ..graph import project

    if source.startswith(PRESET_PREFIX):
        from ..presets import create

        return create(source[len(PRESET_PREFIX):])
    return project.load(source, CATALOGUE)


def run_options(p: argparse.ArgumentParser, batch_size: int, samples: int | None = None) -> None:
    """The options of the commands that analyse a trained run (``samples``: the default
    number of validation images, None for all of them)."""
    p.add_argument("run", metavar="RUN", type=Path, help="run directory (or a checkpoint in one)")
    p.add_argument("--samples", type=positive_int, default=samples, metavar="N",
                   help="use N validation images, spread evenly over the classes and drawn "
                        "with the run's data seed "
                        + ("(default: all)" if samples is None else f"(default {samples})"))
    p.add_argument("--batch-size", type=positive_int, default=batch_size, metavar="N",
                   help=f"images per evaluation batch (default {batch_size})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"),
                   help="device to evaluate on (default cpu)")


def _wrote(paths: list[Path], began: float) -> None:
    names = ", ".join(str(p) for p in paths)
    print(f"Wrote {names} in {time.monotonic() - began:.1f} s.")


# ----- signal ---------------------------------------------------------------------------------
def _add_signal(subparsers: argparse._SubParsersAction) -> None:
    p = _parser(
        subparsers, "signal", "Signal propagation at init: per-layer activations and gradients.",
        "One forward and backward pass on a batch (for a run directory: its own validation\n"
        "images; for a project: the built-in synthetic set at its input size, else random\n"
        "images) right after initialisation, for the network and its\n"
        "plain twin: the RMS of every convolution's and linear layer's output, the gradient\n"
        "norm flowing back into it, and its weight's gradient norm. Writes signal.png,\n"
        "signal.csv and signal.json.",
        f"  {PROG} signal preset:resnet110 -o signal110\n"
        f"  {PROG} signal net.rstudio.json -o out --zero-init-residual --batch-size 64\n"
        f"  {PROG} signal runs/resnet20 -o out",
        run_signal)
    p.add_argument("project", metavar="PROJECT",
                   help="project file, preset:NAME, or a run directory (its data is used)")
    p.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                   help="images in the batch (default 32)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="weights and data seed")
    p.add_argument("--zero-init-residual", action="store_true",
                   help="start every residual branch at zero (the twin is built without it)")
    p.add_argument("--init", choices=INITS,
                   help="weight initialisation (default: the network builder's, he_fan_out)")
    p.add_argument("--running-stats", action="store_true",
                   help="BatchNorm with its initial running statistics instead of the batch's")
    p.add_argument("--no-twin", action="store_true", help="leave out the plain twin")


def run_signal(args: argparse.Namespace) -> int:
    from .common import write_csv, write_json
    from .figures import signal_figure
    from .signal import signal_propagation
    from .tables import signal_table

    began = time.monotonic()
    graph, batch, data = _signal_input(args)
    options: dict[str, Any] = {"zero_init_residual": args.zero_init_residual}
    if args.init:
        options["init"] = args.init
    result = signal_propagation(graph, batch=batch, batch_size=args.batch_size, seed=args.seed,
                                twin=not args.no_twin, batch_stats=not args.running_stats,
                                build_options=options, progress=printer("signal"))
    result.settings.update(data)
    out = args.output
    write_csv(out / "signal.csv", *signal_table(result))
    write_json(out / "signal.json", result.to_json())
    title = f"Signal at init: {graph.name or args.project}, batch {args.batch_size}" + (
        ", zero-init residual" if args.zero_init_residual else "")
    png = signal_figure(result, out / "signal.png", title)
    for label, norm in result.first_layer_gradients().items():
        print(f"{label}: first-layer weight gradient norm {norm:.4g}")
    _wrote([png, out / "signal.csv", out / "signal.json"], began)
    return EXIT_OK


def _signal_input(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The graph, the batch (None: the project's default) and what the settings say of the
    data: a run directory brings its own validation images."""
    from ..train import rundir

    if not rundir.is_run_dir(Path(args.project)):
        return load_graph(args.project), None, {}
    from .common import class_counts, load_run
    from .signal import run_batch

    run = load_run(args.project)
    batch = run_batch(run, args.batch_size, args.seed)
    facts = {"data": run.spec.config.dataset}
    if run.spec.config.task == "classification":  # a dense batch's targets are boxes or masks
        facts["class_counts"] = class_counts([batch], run.class_names)
    return run.graph, batch, facts


# ----- lesion ---------------------------------------------------------------------------------
def _add_lesion(subparsers: argparse._SubParsersAction) -> None:
    p = _parser(
        subparsers, "lesion", "Lesion study: validation accuracy without each residual block.",
        "Removes one block's residual branch at a time (the block then passes on its shortcut:\n"
        "the identity, or its projection / zero padding where the shape changes) and measures\n"
        "the run's validation accuracy (Veit et al. 2016). With --twin, the plain twin's run is\n"
        "lesioned too: each of its blocks is replaced by the identity where its shape allows.\n"
        "Writes lesion.png, lesion.csv and lesion.json.",
        f"  {PROG} lesion runs/resnet20 -o lesion20\n"
        f"  {PROG} lesion runs/resnet20 --twin runs/plain20 --samples 1000 -o lesion",
        run_lesion)
    run_options(p, 256)
    p.add_argument("--twin", metavar="RUN2", type=Path, help="the plain twin's run directory")


def run_lesion(args: argparse.Namespace) -> int:
    import numpy as np

    from .common import load_run, write_csv, write_json
    from .figures import lesion_figure
    from .lesion import lesion_run
    from .tables import images, lesion_table

    began = time.monotonic()
    runs = [load_run(args.run)] + ([load_run(args.twin)] if args.twin else [])
    results = [lesion_run(run, samples=args.samples, batch_size=args.batch_size,
                          device=args.device, progress=printer("lesion")) for run in runs]
    out = args.output
    write_csv(out / "lesion.csv", *lesion_table(results))
    write_json(out / "lesion.json", [r.to_json() for r in results])
    png = lesion_figure(results, out / "lesion.png", 1 / runs[0].graph.input_spec.classes)
    for r in results:
        worst = min(zip(r.accuracy, r.blocks), key=lambda p: np.nan_to_num(p[0], nan=2.0))
        print(f"{r.label}: intact {r.baseline_accuracy:.1%} on {images(r.samples)}; "
              f"worst lesion {worst[1]} "
              f"{worst[0]:.1%}; {len(r.skipped)} block(s) could not be removed")
    _wrote([png, out / "lesion.csv", out / "lesion.json"], began)
    return EXIT_OK


# ----- landscape ------------------------------------------------------------------------------
def _add_landscape(subparsers: argparse._SubParsersAction) -> None:
    p = _parser(
        subparsers, "landscape", "Loss landscape: 1-D and 2-D slices around the trained weights.",
        "Evaluates the loss at w + α·d₁ + β·d₂ for two random filter-normalised directions\n"
        "(Li et al. 2018; BatchNorm parameters and running statistics stay as trained) on the\n"
        "--samples validation images (spread evenly over the classes): STEPS points along d₁\n"
        "and a GRID×GRID plane.\n"
        "With --twin, the plain twin's run is drawn beside it. Writes landscape_1d.png,\n"
        "landscape_contour.png, landscape_surface.png, landscape_1d.csv, landscape_2d.csv\n"
        "and landscape.json.",
        f"  {PROG} landscape runs/resnet20 -o land20\n"
        f"  {PROG} landscape runs/resnet20 --twin runs/plain20 --grid 15 --samples 512 -o land",
        run_landscape)
    run_options(p, 256, samples=256)
    p.add_argument("--twin", metavar="RUN2", type=Path, help="the plain twin's run directory")
    p.add_argument("--steps", type=positive_int, default=21, metavar="N",
                   help="points of the 1-D slice (default 21)")
    p.add_argument("--grid", type=positive_int, default=11, metavar="N",
                   help="points per side of the 2-D slice (default 11)")
    p.add_argument("--span", type=positive_float, default=1.0, metavar="S",
                   help="α and β run from -S to S (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the directions")


def run_landscape(args: argparse.Namespace) -> int:
    from .common import load_run, write_csv, write_json
    from .figures import landscape_figures
    from .landscape import landscape_run
    from .tables import landscape_1d_table, landscape_2d_table

    began = time.monotonic()
    runs = [load_run(args.run)] + ([load_run(args.twin)] if args.twin else [])
    results = [landscape_run(run, samples=args.samples, batch_size=args.batch_size,
                             device=args.device, steps_1d=args.steps, steps_2d=args.grid,
                             span=args.span, seed=args.seed, progress=printer("landscape"))
               for run in runs]
    out = args.output
    write_csv(out / "landscape_1d.csv", *landscape_1d_table(results))
    write_csv(out / "landscape_2d.csv", *landscape_2d_table(results))
    write_json(out / "landscape.json", [r.to_json() for r in results])
    pngs = landscape_figures(results, out)
    for r in results:
        print(f"{r.label}: loss {r.origin_loss:.4g} at the trained weights, "
              f"{r.loss_2d.max():.4g} at most on the plane")
    _wrote([*pngs, out / "landscape_1d.csv", out / "landscape_2d.csv",
            out / "landscape.json"], began)
    return EXIT_OK


# ----- explain --------------------------------------------------------------------------------
def _add_explain(subparsers: argparse._SubParsersAction) -> None:
    p = _parser(
        subparsers, "explain", "Explain an image: top-k, Grad-CAM, attribution, feature maps.",
        "Fits IMAGE (any image file) to the network's input size and channels, normalises it\n"
        "as the run's data was, and shows the top-k predictions, Grad-CAM on a stage (--layer;\n"
        "default the last), a pixel attribution (Integrated Gradients or Saliency) and the\n"
        "first channels of every stage's feature maps. A segmenter explains the sum of a\n"
        "class's scores over the pixels it assigns to that class, with Grad-CAM on a backbone\n"
        "stage (default the one feeding its head); detectors are not explained. Needs Captum:\n"
        "pip install 'resnet-studio[explain]'.\n"
        "Writes explain.png and explain.json.",
        f"  {PROG} explain runs/resnet20 cat.png -o why\n"
        f"  {PROG} explain runs/resnet20 cat.png -o why --method saliency --target 3\n"
        f"  {PROG} explain runs/resnet20 cat.png -o why --layer layer2",
        run_explain)
    p.add_argument("run", metavar="RUN", type=Path, help="run directory (or a checkpoint in one)")
    p.add_argument("image", metavar="IMAGE", type=Path, help="image file (PNG, JPEG, …)")
    p.add_argument("--top-k", type=positive_int, default=5, metavar="K",
                   help="predictions to list (default 5)")
    p.add_argument("--target", type=int, metavar="CLASS",
                   help="class index to explain (default: the predicted one)")
    p.add_argument("--method", choices=("integrated_gradients", "saliency"),
                   default="integrated_gradients", help="pixel attribution (default IG)")
    p.add_argument("--channels", type=positive_int, default=8, metavar="N",
                   help="feature-map channels shown per stage (default 8)")
    p.add_argument("--layer", metavar="STAGE",
                   help="the stage for Grad-CAM, a node of the network with a spatial output "
                        "(default: the last stage; a segmenter's: the one feeding its head)")


def run_explain(args: argparse.Namespace) -> int:
    from .common import load_run, write_json
    from .explain import explain_run
    from .figures import explain_figure

    began = time.monotonic()
    run = load_run(args.run)
    if args.layer is not None:
        check_layer(run.graph, args.layer)
    result = explain_run(run, args.image, top_k=args.top_k, target=args.target,
                         method=args.method, channels=args.channels, layer=args.layer,
                         progress=printer("explain"))
    out = args.output
    write_json(out / "explain.json", {"image": str(args.image), **result.to_json()})
    title = f"{run.graph.name or run.path.name} on {args.image.name}"
    png = explain_figure(result, out / "explain.png", title)
    ranked = ", ".join(f"{c} {p:.1%}" for c, p in zip(result.classes, result.probabilities))
    print(f"top {len(result.classes)}: {ranked}")
    _wrote([png, out / "explain.json"], began)
    return EXIT_OK


def check_layer(graph: Any, layer: str) -> None:
    """Refuse a ``--layer`` that is not one of the network's Grad-CAM stages, in one line
    listing them with their output shapes."""
    from .common import AnalysisError
    from .explain import gradcam_layers

    layers = gradcam_layers(graph)
    if layer not in layers.shapes:
        raise AnalysisError(f"--layer {layer}: not a stage Grad-CAM can use; the network's "
                            f"are {layers.describe()} (default {layers.default}).")
