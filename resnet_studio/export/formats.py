"""Single-file exports of a trained network: ONNX, a torch.export program, safetensors.

Each writer exports to a staged file, reads that file back with the runtime a user would use
(onnxruntime, ``torch.export.load``, a fresh build from the safetensors metadata), runs a
random batch of another size than the export example, and compares with the trained network;
only a file that agrees is renamed into place (see ``staging.py``).

ONNX uses PyTorch's TorchScript-based exporter (``dynamo=False``). The newer exporter built
on ``torch.export`` needs the ``onnxscript`` package, which the ``onnx`` extra does not
install; the TorchScript one works offline with only ``onnx`` and gives the same numbers.
The batch dimension is dynamic (named ``batch``); inputs are ``images``, outputs ``logits``
(a segmenter's per-pixel scores, B×K×H×W; detectors are refused, see ``export_onnx``). A
``.pt2`` program has the same outputs (a detector refused, see ``pt2_model``); safetensors carry
any network, detectors included, and rebuild it from the project in their metadata.

A ``.pt2`` file, like any pickle-based file, can run code when loaded: load only those from a
source you trust. safetensors files hold only tensors and text and are safe to load.
"""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__
from ..blocks import CATALOGUE
from ..compiler.task import DETECTION, SEGMENTATION, task_of
from ..graph import Graph, GraphError, project
from .errors import ExportError, require
from .staging import (
    CHECK_BATCH,
    EXAMPLE_BATCH,
    ExportResult,
    compare,
    random_batch,
    staged_file,
)
from .trained import Trained, network_with_weights

ONNX_OPSET = 17  # widely supported by runtimes, and enough for every block of the catalogue
META_PROJECT, META_INPUT, META_CLASSES, META_NORMALISATION = (
    "resnet_studio_project", "input_spec", "class_names", "normalisation")


class ClassScores(nn.Module):
    """A segmenter's per-pixel class scores (its ``"out"``) as one tensor, B×K×H×W: what an
    ONNX file gives as ``logits``."""

    def __init__(self, segmenter: nn.Module):
        super().__init__()
        self.segmenter = segmenter

    def forward(self, x):
        return self.segmenter(x)["out"]


def scores_model(trained: Trained) -> nn.Module:
    """The network as the single-tensor exports take it: a classifier as it is, a segmenter's
    per-pixel scores."""
    segmenter = task_of(trained.graph) == SEGMENTATION
    return ClassScores(trained.model()).eval() if segmenter else trained.model()


def onnx_model(trained: Trained, out: Path) -> nn.Module:
    """``scores_model``; a detector is refused in one line (see ``export_onnx``)."""
    if task_of(trained.graph) == DETECTION:
        raise ExportError(
            f"{out}: a detector cannot be exported to ONNX here: torchvision's detectors trace "
            "to a graph fixed at one image, whose boxes and scores after non-maximum "
            "suppression have no fixed shape; export the checkpoint, model.py or the backbone "
            "instead.")
    return scores_model(trained)


def comparable_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What an export check compares, as one tensor: a classifier's scores, a segmenter's
    per-pixel scores (``"out"``), a detector's feature pyramid followed by its detections
    (boxes, score, label per row): the pyramid checks every backbone weight even where a
    barely trained head finds nothing in a random batch."""
    with torch.no_grad():
        out = model.eval()(x)
        if isinstance(out, torch.Tensor):
            return out.float()
        if isinstance(out, dict):
            return out["out"].float()
        parts = [f.flatten() for f in model.backbone(x).values()]
    parts += [torch.cat([d["boxes"], d["scores"][:, None], d["labels"][:, None].float()], 1)
              .flatten() for d in out]
    return torch.cat(parts).float()


def _check(trained: Trained, what: str, run) -> tuple[float, int]:
    """Run ``run(x)`` on a random batch and compare it with the trained network (both as
    ``comparable_outputs``)."""
    x = random_batch(trained.image_shape, CHECK_BATCH, seed=2)
    want = comparable_outputs(trained.model(), x)
    with torch.no_grad():
        got = run(x)
    return compare(what, torch.as_tensor(got), want), CHECK_BATCH


def _example(trained: Trained) -> torch.Tensor:
    return random_batch(trained.image_shape, EXAMPLE_BATCH, seed=1)


# ----- ONNX -----------------------------------------------------------------------------------
def export_onnx(trained: Trained, out: Path, overwrite: bool = False) -> ExportResult:
    """A classifier's scores or a segmenter's per-pixel scores (``logits``, B×K×H×W, the
    batch dynamic), checked with onnxruntime. A detector is refused: torchvision's detectors
    export only at a fixed batch of one image (tried with torch 2.14, torchvision 0.29), which
    does not meet this format's dynamic batch."""
    onnx_model(trained, out)  # refuses a detector before anything is written
    onnx = require("onnx", "onnx", "ONNX export")
    ort = require("onnxruntime", "onnx", "Checking an ONNX export")
    with staged_file(out, overwrite) as tmp:
        _write_onnx(trained, tmp, out)
        _add_onnx_metadata(onnx, tmp, trained)
        try:
            onnx.checker.check_model(str(tmp))
        except onnx.checker.ValidationError as exc:
            raise ExportError(f"{out}: the exported ONNX model is invalid ({exc}).") from None
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {"images": x.numpy()})[0])

        diff, batch = _check(trained, f"{out} (ONNX, run with onnxruntime)", run)
    return ExportResult("onnx", out, trained.path, diff, batch)


def _write_onnx(trained: Trained, tmp: Path, out: Path) -> None:
    axes = {"images": {0: "batch"}, "logits": {0: "batch"}}
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter announces its deprecation; see the module docstring.
            warnings.simplefilter("ignore", DeprecationWarning)
            # Strided slices (option A shortcuts) are left unfolded; the graph is still right.
            warnings.filterwarnings("ignore", "Constant folding", UserWarning)
            torch.onnx.export(onnx_model(trained, out), (_example(trained),), str(tmp),
                              dynamo=False,
                              input_names=["images"], output_names=["logits"],
                              dynamic_axes=axes, opset_version=ONNX_OPSET)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ExportError(f"{out}: the network cannot be exported to ONNX ({exc}).") from None


def _add_onnx_metadata(onnx: Any, path: Path, trained: Trained) -> None:
    """What a deployment needs besides the graph: class names and input normalisation."""
    model = onnx.load(str(path))
    for key, value in _metadata(trained, with_project=False).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


# ----- torch.export ---------------------------------------------------------------------------
def export_pt2(trained: Trained, out: Path, overwrite: bool = False) -> ExportResult:
    """A ``torch.export`` program with a dynamic batch dimension, saved by ``torch.export.save``:
    a classifier's scores or a segmenter's per-pixel scores (B×K×H×W). A detector is refused
    (see ``pt2_model``). Like every pickle-based file, load it only from a source you trust."""
    model = pt2_model(trained, out)
    with staged_file(out, overwrite) as tmp:
        try:
            program = torch.export.export(model, (_example(trained),),
                                          dynamic_shapes=_batch_dynamic(model))
            torch.export.save(program, str(tmp))
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ExportError(f"{out}: the network cannot be exported with torch.export "
                              f"({str(exc).splitlines()[0] if str(exc) else exc!r}).") from None
        loaded = torch.export.load(str(tmp)).module()
        diff, checked = _check(trained, f"{out} (torch.export program, loaded back)", loaded)
    return ExportResult("pt2", out, trained.path, diff, checked)


def pt2_model(trained: Trained, out: Path) -> nn.Module:
    """``scores_model``; a detector is refused in one line. Tried with torch 2.14 and
    torchvision 0.29: ``torch.export`` stops in a detector's post-processing, where the
    number of boxes left after the score threshold depends on the data
    (GuardOnDataDependentSymNode), even at a fixed batch."""
    if task_of(trained.graph) == DETECTION:
        raise ExportError(
            f"{out}: a detector cannot be exported with torch.export: the number of boxes "
            "its post-processing keeps depends on the image, and torch.export stops at that "
            "data-dependent count; export the bundle (model.py and checkpoint) or the backbone "
            "instead.")
    return scores_model(trained)


def _batch_dynamic(model: nn.Module) -> tuple:
    """``dynamic_shapes`` making the first input's batch dimension dynamic: a compiled
    network takes ``forward(*xs)`` (one spec per input inside the varargs' tuple), a
    segmenter's scores ``forward(x)``."""
    batch = {0: torch.export.Dim("batch")}
    first = next(iter(inspect.signature(model.forward).parameters.values()))
    return ((batch,),) if first.kind is inspect.Parameter.VAR_POSITIONAL else (batch,)


# ----- safetensors ----------------------------------------------------------------------------
def export_safetensors(trained: Trained, out: Path, overwrite: bool = False) -> ExportResult:
    """The trained weights, with the project, input spec, class names and normalisation as
    metadata: enough to rebuild the network with ``load_safetensors`` alone."""
    st = require("safetensors.torch", "safetensors", "safetensors export")
    tensors = {k: v.detach().cpu().contiguous() for k, v in trained.checkpoint["model"].items()}
    with staged_file(out, overwrite) as tmp:
        st.save_file(tensors, str(tmp), metadata=_metadata(trained, with_project=True))
        _, fresh = load_safetensors(tmp)
        diff, checked = _check(trained, f"{out} (safetensors, loaded into a fresh build)",
                               lambda x: comparable_outputs(fresh, x))
    return ExportResult("safetensors", out, trained.path, diff, checked)


def load_safetensors(path: str | Path) -> tuple[Graph, nn.Module]:
    """Rebuild the network a ResNet Studio safetensors file holds: (project, network with its
    weights, in evaluation mode)."""
    st = require("safetensors.torch", "safetensors", "Reading safetensors files")
    package = require("safetensors", "safetensors", "Reading safetensors files")
    safe_open = package.safe_open
    path = Path(path)
    # SafetensorError (a damaged header, offsets or dtype) derives from Exception only
    damaged = (OSError, ValueError, RuntimeError, package.SafetensorError)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = st.load_file(str(path))
    except damaged as exc:
        raise ExportError(f"{path} is not a readable safetensors file "
                          f"({_first_line(exc)}).") from None
    if META_PROJECT not in metadata:
        raise ExportError(f"{path} was not written by ResNet Studio: its metadata holds no "
                          f"‘{META_PROJECT}’, so the network cannot be rebuilt from it.")
    try:
        graph = project.loads(metadata[META_PROJECT], CATALOGUE, name=f"{path} (metadata)")
    except GraphError as exc:
        raise ExportError(str(exc)) from None
    except (ValueError, RecursionError) as exc:  # a malformed project in the metadata
        raise ExportError(f"{path}: the project in its metadata cannot be read "
                          f"({_first_line(exc)}).") from None
    return graph, network_with_weights(graph, tensors, str(path))


def _metadata(trained: Trained, with_project: bool) -> dict[str, str]:
    norm = ({"mean": list(trained.mean), "std": list(trained.std)}
            if trained.mean and trained.std else None)
    data = {META_INPUT: json.dumps(trained.input_spec.env()),
            META_CLASSES: json.dumps(trained.class_names, ensure_ascii=False),
            META_NORMALISATION: json.dumps(norm), "resnet_studio_version": __version__}
    if with_project:
        data = {"format": "pt", META_PROJECT: json.dumps(project.to_dict(trained.graph),
                                                          ensure_ascii=False), **data}
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
