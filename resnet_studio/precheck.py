"""Refusals decided from a command line alone, made right after it is parsed and before
torch loads (seconds on a small machine), so that an impossible request is answered at once.

What needs no network built is checked here: a landscape's points, a sweep's run count (the
product of the ``--vary`` value counts, before anything is planned), an analysis's output
folder that cannot be a folder, batches whose images alone outgrow the memory, a run's
config.json that the run reader refuses (too large, too deep), a checkpoint or weights file
that would unpack past the free memory, and an image whose header claims more pixels than
may be decoded. The estimates from the compiler's counts (which run torch on the meta
device) and the readers' own checks still come later; a request refused here would be
refused there too, since the images are part of that estimate, the readers apply the same
guards, and loading torch only lowers the memory left.

Standard library, ``budget`` and the document layers only (graph, blocks and presets load
no torch).
"""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path
from typing import Any

from .budget import check_landscape, check_memory, check_runs, images_bytes, reading_problem

PRESET_PREFIX = "preset:"
# the first file each analysis writes into its -o folder: the one its error names today
FIRST_FILE = {"signal": "signal.csv", "lesion": "lesion.csv",
              "landscape": "landscape_1d.csv", "explain": "explain.json"}


class Refused(Exception):
    """A file the command would refuse later, refused now; the message is the command's."""


def check_arguments(args: argparse.Namespace) -> None:
    """BudgetError, Refused, or OSError for an unusable output folder, when ``args`` ask for
    work that cannot be done, whatever the network computes."""
    command = getattr(args, "command", None)
    if command in ("train", "experiment"):
        _loop_settings(args)
    if command == "train":
        _checkpoint(args.resume)
        _training_images(args)
    elif command == "export":
        _checkpoint(args.source)
    elif command == "import" and args.weights:
        _checkpoint(Path(args.weights).expanduser())
    elif command == "experiment":
        _study(args)
    elif command == "signal":
        _signal_images(args)
    elif command in ("lesion", "landscape", "explain"):
        _analysis_of_runs(args)
    if command in FIRST_FILE:
        output_folder(args.output, FIRST_FILE[command])


def _study(args: argparse.Namespace) -> None:
    if args.kind == "sweep":
        _sweep_runs(args.vary)
    elif args.kind == "twin" and args.run is not None:
        _twin_run(args.run)


def _analysis_of_runs(args: argparse.Namespace) -> None:
    if args.command == "landscape":
        check_landscape(args.steps, args.grid)
    for run in (args.run, getattr(args, "twin", None)):
        _run_config(run)
        _checkpoint(run)
    if args.command == "explain":
        _image_header(args.image)


def output_folder(folder: Path, first: str) -> None:
    """NotADirectoryError, naming the file that would be written first, when ``folder`` or
    the nearest of its parents that exists is not a folder (``-o /dev/null``)."""
    existing = folder
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if os.path.lexists(existing) and not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder / first))


def _loop_settings(args: argparse.Namespace) -> None:
    """The whole-number training options given (--batch-size, --epochs, …) against the
    bounds every training configuration is validated with."""
    from .train.config import LOOP_LIMITS, ConfigError, check_loop_setting

    for name in LOOP_LIMITS:
        value = getattr(args, name, None)
        if value is not None:
            try:
                check_loop_setting(name, value)
            except ConfigError as exc:
                raise Refused(str(exc)) from None


def _sweep_runs(vary: list[str]) -> None:
    """The sweep's runs counted from the value lists' lengths, as ``plan_sweep`` multiplies
    them; malformed or too many ``--vary`` are left to the planner's own messages."""
    counts: dict[str, int] = {}
    for item in vary:
        name, sep, values = item.partition("=")
        if not sep:
            return
        counts[name.strip()] = sum(1 for part in values.split(",") if part.strip())
    if 1 <= len(counts) <= 2:
        check_runs(list(counts.values()), "the sweep")


def _run_config(run: Path | None) -> None:
    """A run directory's (or a checkpoint's folder's) config.json through the run reader's
    guards, as the analyses read it after loading the checkpoint."""
    if run is None:
        return
    from .train.rundir import CONFIG, RunReadError, load_json

    path = (run if run.is_dir() else run.parent) / CONFIG
    if path.is_file():
        try:
            load_json(path)
        except RunReadError as exc:
            raise Refused(str(exc)) from None


def _checkpoint(path: Path | None) -> None:
    """A checkpoint or weights file (a run directory: its best.pt, else last.pt) that would
    not fit in memory when read, refused in the checkpoint reader's words; what else may be
    wrong with it is for that reader (which needs torch) to say."""
    if path is None:
        return
    if path.is_dir():
        from .train.rundir import find_checkpoint

        path = find_checkpoint(path)
    if path is not None and path.is_file():
        problem = reading_problem(path)
        if problem:
            raise Refused(f"{path}: {problem}; it is not loaded.")


def _twin_run(run: Path) -> None:
    """``experiment twin --run``'s graph.json and config.json, in the planner's order and
    words (``study.kinds``); a missing file is left to the planner."""
    from .train.rundir import CONFIG, GRAPH, RunReadError, load_json

    for path in (run / GRAPH, run / CONFIG):
        if path.is_file():
            try:
                load_json(path)
            except RunReadError as exc:
                raise Refused(f"{run} cannot be read as a run: {exc}") from None


def _image_header(image: Path) -> None:
    """An image whose header claims more pixels than Pillow may decode (a 68-byte PNG can
    claim 65535×65535); an unreadable one is left to ``explain``."""
    from .data.images import ImageTooLargeError, open_image

    try:
        with open_image(image):
            pass
    except ImageTooLargeError as exc:
        raise Refused(str(exc)) from None
    except (OSError, ValueError):  # not an image, missing, …: explain says which
        return


def _signal_images(args: argparse.Namespace) -> None:
    """``signal``'s batch of images against the memory (a run directory's own data are
    left to the command)."""
    if Path(args.project).is_dir():
        _checkpoint(Path(args.project))
        return
    shape = _input_shape(args.project)
    _images_fit(args.batch_size, shape, "a forward and backward pass of",
                "lower --batch-size")


def _training_images(args: argparse.Namespace) -> None:
    """One training batch (of at least one image when --batch-size is not given) of a project
    file's input against the host's memory. A preset takes the data's shape, and a GPU holds
    its own batches: those are left to the training's estimate."""
    batch, project = getattr(args, "batch_size", None) or 1, args.project
    if args.resume is not None or project is None or project.startswith(PRESET_PREFIX):
        return
    if batch < 1 or _may_use_gpu(getattr(args, "device", None)):
        return
    _images_fit(batch, _input_shape(project), "training on", "lower the batch size or the "
                "network's input size")


def _images_fit(batch: int, shape: tuple[int, int, int], what: str, advice: str) -> None:
    size = "×".join(map(str, shape))
    images = f"{batch:,} images at {size} (the images alone)" if batch > 1 else \
        f"one image at {size} (the image alone)"
    check_memory(images_bytes(batch, shape), f"{what} {images}", "cpu", advice)


def _input_shape(project: str) -> tuple[int, int, int]:
    """(channels, height, width) of a project file or ``preset:NAME``."""
    graph = _graph(project)
    spec = graph.input_spec
    return spec.channels, spec.height, spec.width


def _graph(project: str) -> Any:
    if project.startswith(PRESET_PREFIX):
        from .presets import create

        return create(project[len(PRESET_PREFIX):])
    from .blocks import CATALOGUE
    from .graph import project as project_io

    return project_io.load(project, CATALOGUE)


def _may_use_gpu(device: str | None) -> bool:
    """True when training may run on a CUDA device (asked for, or ``auto`` on a machine
    whose driver lists one), whose memory torch alone can tell."""
    if device == "cpu" or device == "mps":
        return False
    if device is not None and device.startswith("cuda"):
        return True
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())
