"""The ``export`` and ``import`` sub-commands of ``resnet-studio`` (headless, never Qt).

    resnet-studio export runs/first --format onnx -o net.onnx
    resnet-studio export runs/first/last.pt --format bundle -o bundle
    resnet-studio import torchvision:resnet50 -o r50.rstudio.json --classes 10 --input-size 64
    resnet-studio import torchvision:resnet18 -o r18.rstudio.json --classes 10 \\
        --weights ResNet18_Weights.IMAGENET1K_V1       # fine-tuning start: fc left fresh
    resnet-studio import bundle/model.py -o net.rstudio.json

``register(subparsers)`` adds both to the main parser; each sets ``handler``. Building the
parser imports nothing heavy: torch loads only when a command runs. Every failure a user can
cause is one line ``resnet-studio: error: …`` on stderr. Exit status: 0 done; 1 an export was
made but failed its check (nothing was written); 2 the command could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..argtypes import positive_int as _positive_int

PROG = "resnet-studio"
EXIT_OK, EXIT_CHECK_FAILED, EXIT_UNUSABLE = 0, 1, 2
FORMAT_NAMES = ("backbone", "bundle", "onnx", "pt2", "safetensors")  # = exporter.FORMATS (tested)
TORCHVISION_PREFIX = "torchvision:"
TIMM_PREFIX = "timm:"
Handler = Callable[[argparse.Namespace], int]

EXPORT_EXAMPLES = f"""\
examples:
  {PROG} export runs/first --format onnx -o net.onnx          # best.pt, else last.pt
  {PROG} export runs/first/last.pt --format bundle -o bundle  # then: cd bundle; python train.py
  {PROG} export runs/first --format safetensors -o net.safetensors
  {PROG} export runs/first --format pt2 -o net.pt2 --force
  {PROG} export runs/first --format backbone -o backbone  # for torchvision's FasterRCNN

Formats: bundle (a folder: project, model.py, checkpoint.pt, a train.py that needs only torch
and torchvision and runs under torchrun), onnx (dynamic batch; needs the onnx extra: pip
install 'resnet-studio[onnx]'), pt2 (a torch.export program; like any pickle-based file, load
it only from a trusted source), safetensors (weights with the project in the metadata),
backbone (a folder: backbone.py, needing only torch and torchvision, whose
build_backbone(fpn=False, weights=True) gives the stages' feature maps, with fpn=True through
torchvision's feature pyramid ready for FasterRCNN; and backbone_weights.pt).
Every export is checked against the trained network on a random batch before it appears.

exit status: 0 written, 1 the export failed its check (nothing written), 2 could not run."""

IMPORT_EXAMPLES = f"""\
examples:
  {PROG} import torchvision:resnet50 -o r50.rstudio.json
  {PROG} import torchvision:resnext50_32x4d -o net.rstudio.json --classes 10 --input-size 64
  {PROG} import torchvision:resnet18 -o r18.rstudio.json --classes 10 \\
      --weights resnet18-f37072fd.pth                         # fine-tune: fc left fresh
  {PROG} import timm:resnet50d -o r50d.rstudio.json --weights resnet50d.safetensors
  {PROG} import bundle/model.py -o net.rstudio.json              # a model.py we exported

SOURCE is torchvision:NAME (any ResNet-family model of torchvision), timm:NAME (timm's
ResNet family: ResNet-B/C/D/S/T, ResNeXt, SE-ResNe(X)t, ResNet-RS, Res2Net; needs the timm
extra: pip install 'resnet-studio[timm]') or a model.py written by ResNet Studio.
For timm models --weights takes a local checkpoint file (.pth/.bin or .safetensors).
--weights takes a .pth file or torchvision weights (ResNet18_Weights.IMAGENET1K_V1,
or resnet18 for its default ones; downloaded by torchvision when not in torch hub's
checkpoint folder); the loaded weights are written to --weights-out. When --classes differs
from the weights' class count, the classifier is left freshly initialised (fine-tuning).

exit status: 0 written, 2 could not run."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``import``."""
    _add_export(subparsers)
    _add_import(subparsers)


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="Export a trained checkpoint: bundle, ONNX, torch.export, safetensors or "
                       "a detection backbone.",
        description="Export a trained checkpoint (or a run directory's best.pt, else last.pt).",
        epilog=EXPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="CKPT_OR_RUN", type=Path,
                   help="a checkpoint file (.pt) or a run directory")
    p.add_argument("-f", "--format", required=True, choices=FORMAT_NAMES, help="export format")
    p.add_argument("-o", "--output", required=True, metavar="PATH", type=Path,
                   help="file (or, for bundle and backbone, folder) to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.set_defaults(handler=reported(run_export))


def _add_import(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="Make a project from a torchvision or timm ResNet or a generated "
                       "model.py.",
        description="Make an editable project from torchvision:NAME, timm:NAME or a model.py "
                    "that ResNet Studio generated.",
        epilog=IMPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="SOURCE",
                   help="torchvision:NAME, timm:NAME or path/to/model.py")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT", type=Path,
                   help="project file to write (*.rstudio.json)")
    p.add_argument("--classes", type=_positive_int, metavar="N", help="number of classes")
    p.add_argument("--input-size", type=_size, metavar="PX|HxW",
                   help="image size, e.g. 64 or 96x128 (default: torchvision's 224)")
    p.add_argument("--weights", metavar="PATH|NAME",
                   help="pretrained weights to load (a .pth/.safetensors file, or "
                        "torchvision weights)")
    p.add_argument("--weights-out", metavar="FILE", type=Path,
                   help="where the loaded weights go (default: PROJECT with .weights.pt)")
    p.add_argument("--allow-edited", action="store_true",
                   help="import a model.py whose code was edited, as it was generated")
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.set_defaults(handler=reported(run_import))


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"‘{text}’ is not a size such as 64 or 96x128")
    values = [_positive_int(p) for p in parts]
    return (values[0], values[-1])


# ----- running --------------------------------------------------------------------------------
class CommandError(Exception):
    """A failure printed as one line, with its exit status."""

    def __init__(self, message: str, exit_code: int = EXIT_UNUSABLE):
        super().__init__(message)
        self.exit_code = exit_code


def reported(handler: Handler) -> Handler:
    """Run ``handler``; print failures a user can cause as one line, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        from ..graph import GraphError
        from .errors import ExportError, ModelImportError, WeightsError

        try:
            return handler(args)
        except CommandError as exc:
            return _fail(str(exc), exc.exit_code)
        except ExportError as exc:
            failed_check = exc.max_abs_diff is not None
            return _fail(str(exc), EXIT_CHECK_FAILED if failed_check else EXIT_UNUSABLE)
        except (ModelImportError, WeightsError, GraphError, OSError) as exc:
            return _fail(str(exc), EXIT_UNUSABLE)

    return run


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def run_export(args: argparse.Namespace) -> int:
    from .exporter import export_checkpoint

    result = export_checkpoint(args.source, args.format, args.output, overwrite=args.force)
    print(result.summary())
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    weights_out = args.weights_out or _weights_path(args.output)
    for path in [args.output] + ([weights_out] if args.weights else []):
        if path.exists() and not args.force:
            raise CommandError(f"{path} already exists; pass --force to replace it.")
    read = _read_local_weights(args.weights)  # a file refused before the network is built
    graph = _imported_graph(args)
    from ..compiler import Analyzer
    from ..graph import project

    analysis = Analyzer().analyze(graph)
    if not analysis.ok:
        first = next(d for d in analysis.diagnostics if d.severity == "error")
        raise CommandError(f"the imported network does not work at this input size: "
                           f"[{first.node_id or 'network'}] {first.message}")
    # the weights are read and fitted first: a file refused leaves no project behind
    weights = _load_weights(graph, args.weights, read) if args.weights else None
    project.save(graph, args.output)
    print(f"Wrote {args.output}: {graph.name or 'network'}, {len(graph)} nodes, "
          f"{analysis.total_params:,} parameters.")
    if weights is not None:
        _write_weights(weights, weights_out)
    return EXIT_OK


def _weights_path(project_path: Path) -> Path:
    name = project_path.name
    stem = name[: -len(".rstudio.json")] if name.endswith(".rstudio.json") else project_path.stem
    return project_path.with_name(stem + ".weights.pt")


def _imported_graph(args: argparse.Namespace):
    if args.source.startswith(TIMM_PREFIX):
        from .timm_import import import_timm

        if args.weights and not Path(args.weights).expanduser().is_file():
            raise CommandError(f"--weights {args.weights}: no such file; timm models take a "
                               "local checkpoint file (a state dict saved with torch.save or "
                               "safetensors).")
        return import_timm(args.source[len(TIMM_PREFIX):], args.classes, args.input_size)
    if args.source.startswith(TORCHVISION_PREFIX):
        from .torchvision_import import import_torchvision

        return import_torchvision(args.source[len(TORCHVISION_PREFIX):], args.classes,
                                  args.input_size)
    from dataclasses import replace

    from .model_source import import_model_source

    graph = import_model_source(args.source, allow_edited=args.allow_edited)
    changes = {"classes": args.classes} if args.classes else {}
    if args.input_size:
        changes.update(height=args.input_size[0], width=args.input_size[1])
    if changes:
        graph.set_input_spec(replace(graph.input_spec, **changes))
    return graph


def _read_local_weights(source: str | None):
    """A local weights file's tensors and name, read through the guarded reader (None for
    no --weights or a name of torchvision weights, which needs the network first)."""
    if source is None or not Path(source).expanduser().is_file():
        return None
    from .pretrained import read_weights

    return read_weights(source)


def _load_weights(graph, source: str, read):
    from .pretrained import load_pretrained

    return load_pretrained(graph, source, read=read)


def _write_weights(result, out: Path) -> None:
    import torch

    from ..files import write_atomic

    state = result.model.state_dict()
    write_atomic(out, lambda handle: torch.save(state, handle))
    print(f"Wrote {out}: {result.summary()}. Load it with "
          "model.load_state_dict(torch.load(FILE, weights_only=True)).")


def build_parser() -> argparse.ArgumentParser:
    """A parser holding just these two commands (the main one is ``resnet_studio.cli``)."""
    parser = argparse.ArgumentParser(prog=PROG)
    register(parser.add_subparsers(title="commands", metavar="COMMAND", dest="command",
                                   required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)
