"""The tool sub-commands beside ``train``: ``bench`` (training images/s on this machine),
``find-batch`` (the largest batch size that fits) and the sanity tools ``lr-find``,
``overfit`` and ``preview`` (headless, never Qt).

    resnet-studio bench preset:resnet20 --batch-size 64 --steps 30
    resnet-studio find-batch net.rstudio.json --device cuda:1
    resnet-studio lr-find net.rstudio.json --out lr
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..argtypes import device_name, positive_int
from .command import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNUSABLE,
    OPTIONS,
    CommandError,
    add_options,
    load_network,
    project_config,
    reported,
    train_settings,
)


def add_bench(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="Measure training images/s of a network on this machine.",
        description="Train a network for a few steps on random in-memory images of its input "
                    "size, with all telemetry on, and report training images per second.",
        epilog="examples:\n  resnet-studio bench preset:small_resnet\n"
               "  resnet-studio bench net.rstudio.json --batch-size 256 --device cuda --amp bf16",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", help="project file or preset:NAME")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="default 64")
    p.add_argument("--steps", type=int, default=30, metavar="N",
                   help="measured steps, after as many as 5 warm-up steps (default 30)")
    p.add_argument("--device", type=device_name, default="auto", metavar="DEVICE",
                   help="auto (default), cuda, cuda:N, mps or cpu")
    p.add_argument("--amp", choices=("off", "auto", "bf16", "fp16"), default="off")
    p.add_argument("--channels-last", action="store_true")
    p.set_defaults(handler=reported(run_bench))


def run_bench(args: argparse.Namespace) -> int:
    from .bench import measure
    from .config import TrainConfig

    graph = load_network(args.project, None)
    if callable(graph):  # a preset: its default input
        graph = graph(None)
    if args.steps < 1:
        raise CommandError("--steps must be at least 1.", EXIT_UNUSABLE)
    config = TrainConfig(batch_size=args.batch_size, device=args.device, amp=args.amp,
                         channels_last=args.channels_last, schedule="constant",
                         telemetry_every=min(5, args.steps)).validate()
    result = measure(graph, graph.input_spec, config, args.steps)
    if result.end.status == "failed":
        raise CommandError(result.end.message, EXIT_FAILED)
    spread = (f" (windows {min(result.rates):,.0f} – {max(result.rates):,.0f})"
              if len(result.rates) > 1 else "")
    spec = graph.input_spec
    print(f"{graph.name or args.project} on {result.device}: {result.median:,.0f} training "
          f"images/s{spread}; batch {args.batch_size}, {spec.channels}×{spec.height}×"
          f"{spec.width} input, {args.steps} measured steps")
    return EXIT_OK


# ----- find-batch -----------------------------------------------------------------------------
def add_find_batch(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "find-batch", help="Find the largest training batch size that fits on a device.",
        description="Try training steps of random images of the network's input at growing "
                    "batch sizes (doubling, then halving the gap) until the largest that fits "
                    "in the device's memory is found, exactly. Uses the project's training "
                    "settings (device, optimiser, amp, channels-last); classifiers only.",
        epilog="examples:\n  resnet-studio find-batch net.rstudio.json\n"
               "  resnet-studio find-batch preset:resnet20 --device cuda:1 --limit 2048",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", help="project file or preset:NAME")
    p.add_argument("--device", type=device_name, default=None, metavar="DEVICE",
                   help="auto, cuda, cuda:N, mps or cpu (default: the project's setting)")
    p.add_argument("--limit", type=positive_int, default=4096, metavar="N",
                   help="the largest size tried (default 4096)")
    p.add_argument("--start", type=positive_int, default=8, metavar="N",
                   help="the first size tried (default 8)")
    p.set_defaults(handler=reported(run_find_batch))


def run_find_batch(args: argparse.Namespace) -> int:
    from .largest_batch import search_project

    network = load_network(args.project, None)
    graph = network(None) if callable(network) else network  # a preset: its default input
    config, _ = project_config(args.project, network)
    if args.device is not None:
        config = config.replace(device=args.device).validate()
    spec = graph.input_spec

    def report(batch: int, fitted: bool) -> None:
        print(f"batch {batch:,}: {'fits' if fitted else 'out of memory'}", flush=True)

    search, device = search_project(graph, config, start=args.start, limit=args.limit,
                                    on_try=report)
    what = f"{spec.channels}×{spec.height}×{spec.width} images on {device}"
    if search.size == 0:
        raise CommandError(f"not even one image fits: training {what} runs out of memory at "
                           "batch size 1.", EXIT_FAILED)
    bound = (f"at least {search.size:,} (the limit; --limit N tries more)" if search.at_limit
             else f"{search.size:,}")
    print(f"largest batch size that fits for {what}: {bound}; {len(search.tries)} tries")
    return EXIT_OK


# ----- sanity tools ---------------------------------------------------------------------------
def add_sanity(subparsers: argparse._SubParsersAction) -> None:
    p = _sanity_parser(subparsers, "lr-find", "Learning-rate range test (Smith 2017): loss "
                       "against a rising rate, and a suggested rate.",
                       "  resnet-studio lr-find net.rstudio.json --out lr\n", run_lr_find)
    p.add_argument("--out", metavar="DIR", type=Path, default=Path("."),
                   help="folder for lr_find.csv and lr_find.png (default: here)")
    p.add_argument("--start", type=float, default=1e-6, metavar="LR", help="default 1e-6")
    p.add_argument("--end", type=float, default=1.0, metavar="LR", help="default 1")
    p.add_argument("--steps", type=int, default=100, metavar="N", help="default 100")
    p = _sanity_parser(subparsers, "overfit", "Train on one batch and say whether the loss "
                       "goes to about zero (can the network learn at all?).",
                       "  resnet-studio overfit net.rstudio.json --steps 100\n", run_overfit)
    p.add_argument("--steps", type=int, default=100, metavar="N", help="default 100")
    p = _sanity_parser(subparsers, "preview", "Save a grid of the first training batch as the "
                       "engine feeds it (augmentation included).",
                       "  resnet-studio preview net.rstudio.json -o grid.png\n", run_preview)
    p.add_argument("-o", "--output", metavar="PNG", type=Path, required=True)


def _sanity_parser(subparsers, name: str, text: str, examples: str, handler):
    p = subparsers.add_parser(name, help=text, description=text + " Uses the project's "
                              "training settings; the options below override them.",
                              epilog="examples:\n" + examples,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", metavar="PROJECT", help="project file or preset:NAME")
    add_options(p, OPTIONS)
    p.set_defaults(handler=reported(handler))
    return p


def _sanity_setup(args: argparse.Namespace) -> tuple[Any, Any]:
    network = load_network(args.project, None)
    if getattr(args, "steps", 1) < 1:
        raise CommandError("--steps must be at least 1.", EXIT_UNUSABLE)
    return network, train_settings(args, network)[0]


def run_lr_find(args: argparse.Namespace) -> int:
    from .sanity import lr_range_test, write_range_test

    if not 0 < args.start < args.end:
        raise CommandError("--start must be above 0 and below --end.", EXIT_UNUSABLE)
    network, config = _sanity_setup(args)
    result = lr_range_test(network, config, start=args.start, end=args.end, steps=args.steps)
    args.out.mkdir(parents=True, exist_ok=True)
    write_range_test(result, args.out / "lr_find.csv", args.out / "lr_find.png")
    found = (f"suggested lr {result.suggested_lr:.2g} (now {config.lr:g})"
             if result.suggested_lr else "no rate made the loss fall; check the network")
    print(f"{found}; {len(result.lrs)} steps, curve in {args.out / 'lr_find.csv'} and "
          f"{args.out / 'lr_find.png'}")
    return EXIT_OK


def run_overfit(args: argparse.Namespace) -> int:
    from .sanity import overfit_batch

    network, config = _sanity_setup(args)
    result = overfit_batch(network, config, args.steps)
    print(result.verdict())
    return EXIT_OK if result.learned else EXIT_FAILED


def run_preview(args: argparse.Namespace) -> int:
    from .sanity import preview_grid

    network, config = _sanity_setup(args)
    count = preview_grid(network, config, args.output)
    print(f"Wrote {args.output}: {count} training images as the engine feeds them.")
    return EXIT_OK
