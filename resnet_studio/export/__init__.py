"""Exports of trained networks, and imports of networks from elsewhere.

    from resnet_studio.export import export_checkpoint, import_torchvision, load_pretrained
    export_checkpoint("runs/first", "onnx", "net.onnx")      # best.pt of a run, verified
    export_checkpoint("runs/first/last.pt", "bundle", "bundle/")
    graph = import_torchvision("resnet50", classes=10, input_size=64)
    result = load_pretrained(graph, "ResNet50_Weights.IMAGENET1K_V2")  # fc left fresh
    graph = import_timm("resnet50d")                         # needs the timm extra
    graph = import_model_source("model.py")                  # a model.py we generated

Formats: ``bundle`` (project, model.py, checkpoint, torchrun-ready train.py), ``onnx``,
``pt2`` (torch.export), ``safetensors`` and ``backbone`` (the stages' feature maps for
torchvision's detection models). Every export is checked against the trained network
before it appears (see ``staging.py``). The names below load on first use (PEP 562), so that
``resnet_studio.export.command`` can add its sub-commands without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "errors": ("ExportError", "ModelImportError", "WeightsError"),
    "exporter": ("FORMATS", "export_checkpoint"),
    "formats": ("load_safetensors",),
    "model_source": ("import_model_source", "model_source_with_project"),
    "pretrained": ("PretrainedResult", "load_pretrained"),
    "staging": ("ExportResult",),
    "timm_import": ("import_timm", "timm_family"),
    "torchvision_import": ("import_torchvision", "resnet_family"),
}

__all__ = [
    "FORMATS", "ExportError", "ExportResult", "ModelImportError", "PretrainedResult",
    "WeightsError", "export_checkpoint", "import_model_source", "import_timm",
    "import_torchvision", "load_pretrained", "load_safetensors", "model_source_with_project",
    "resnet_family", "timm_family",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .errors import ExportError, ModelImportError, WeightsError
    from .exporter import FORMATS, export_checkpoint
    from .formats import load_safetensors
    from .model_source import import_model_source, model_source_with_project
    from .pretrained import PretrainedResult, load_pretrained
    from .staging import ExportResult
    from .timm_import import import_timm, timm_family
    from .torchvision_import import import_torchvision, resnet_family
