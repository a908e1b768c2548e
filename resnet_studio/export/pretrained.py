"""Pretrained weights for a project or a network: from a local file or torchvision's hub.

``load_pretrained(graph_or_model, source)`` accepts a ``.pth``/``.pt`` file (read with
``weights_only=True``, so a file from elsewhere cannot run code), a ``.safetensors`` file
(timm's usual format) or a torchvision weights name
such as ``ResNet18_Weights.IMAGENET1K_V1`` (or just ``resnet18`` for its default weights).
Named weights come from torch hub's checkpoint folder when the file is already there, and are
downloaded by torchvision's own code otherwise; offline, the error names the file and the
folder to put it in. When only the classifier differs (another class count), the rest is
loaded and the classifier keeps its fresh initialisation — the usual start of fine-tuning.
"""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse

import torch
from torch import nn

from ..budget import reading_problem
from ..compiler import BuildError, build
from ..graph import Graph
from ..train.checkpoint import damaged_member
from ..train.checkpoint_fields import non_finite
from .errors import WeightsError, require
from .weights import Mismatch, describe_mismatch, mismatch

TORCHVISION_PREFIX = "torchvision:"


@dataclass
class PretrainedResult:
    """The network with the weights in it, and what was done."""

    model: nn.Module
    source: str                     # the file the weights were read from
    loaded: int                     # tensors loaded
    head: str | None = None         # the classifier module's name, when it was left fresh
    head_reason: str = ""

    def summary(self) -> str:
        text = f"loaded {self.loaded} tensors from {self.source}"
        if self.head:
            text += (f"; the classifier ‘{self.head}’ was left freshly initialised "
                     f"({self.head_reason})")
        return text


def load_pretrained(graph_or_model: Graph | nn.Module, path: str | os.PathLike, *,
                    replace_head: bool = True,
                    read: tuple[dict[str, torch.Tensor], str] | None = None) -> PretrainedResult:
    """Load weights into ``graph_or_model`` (a Graph is built first).

    Raises WeightsError when the weights cannot be found or read, or do not fit: the message
    lists the missing, unexpected and mis-shaped keys. With ``replace_head`` a classifier
    that differs only in its class count is left freshly initialised and reported. ``read``:
    what ``read_weights(path)`` returned already (a caller that reads the file first).
    """
    model = _model(graph_or_model)
    state, source = read if read is not None else read_weights(path)
    problem = mismatch(model.state_dict(), state)
    head = classifier_name(model)
    if not problem:
        model.load_state_dict(state)
        return PretrainedResult(model, source, len(state))
    rest = problem.without(head) if head else problem
    if rest or not replace_head or head is None:
        raise WeightsError(f"the weights in {source} do not fit this network "
                           f"({describe_mismatch(problem)})." + _hint(rest, replace_head, head))
    return _load_without_head(model, state, source, head, problem)


def _model(graph_or_model: Graph | nn.Module) -> nn.Module:
    if isinstance(graph_or_model, nn.Module):
        return graph_or_model
    if not isinstance(graph_or_model, Graph):
        raise TypeError("load_pretrained needs a Graph or an nn.Module, not "
                        f"{type(graph_or_model).__name__}")
    try:
        return build(graph_or_model)
    except BuildError as exc:
        raise WeightsError(f"the project cannot be built, so no weights can be loaded: {exc}") \
            from None


def _hint(rest: Mismatch, replace_head: bool, head: str | None) -> str:
    if rest:
        return " They belong to another network."
    if head and not replace_head:
        return (f" Only the classifier ‘{head}’ differs: allow replacing it to fine-tune on "
                "another class count.")
    return ""


def _load_without_head(model: nn.Module, state: Mapping[str, torch.Tensor], source: str,
                       head: str, problem: Mismatch) -> PretrainedResult:
    keep = {k: v for k, v in state.items() if k != head and not k.startswith(head + ".")}
    model.load_state_dict(keep, strict=False)  # everything else was checked to fit exactly
    module = model.get_submodule(head)
    if callable(getattr(module, "reset_parameters", None)):
        module.reset_parameters()  # fresh, whatever the network held before
    shown = problem.shapes[0] if problem.shapes else None
    reason = (f"the file's {shown[0]} is {'×'.join(map(str, shown[2]))}, this network's "
              f"{'×'.join(map(str, shown[1]))}" if shown else "the file has no classifier")
    return PretrainedResult(model, source, len(keep), head, reason)


def classifier_name(model: nn.Module) -> str | None:
    """The module that gives the class scores: the last Linear layer registered."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear) and name]
    return linears[-1] if linears else None


# ----- reading --------------------------------------------------------------------------------
def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """A state dict and the file it came from: a local file, or named torchvision weights."""
    text = os.fspath(path)
    local = Path(text).expanduser()
    if local.is_file():
        return _read_file(local), str(local)
    weights = _torchvision_weights(text.removeprefix(TORCHVISION_PREFIX))
    if weights is None:
        raise WeightsError(f"{text}: no such weights file, and not the name of torchvision "
                           "weights (e.g. ResNet18_Weights.IMAGENET1K_V1, or resnet18 for its "
                           "default weights).")
    return _hub_weights(weights)


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    problem = reading_problem(path)  # before a byte is unpacked: the checkpoints' guard
    if problem:
        raise WeightsError(f"{path} {problem}; it is not loaded.")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    try:
        bad = damaged_member(path) if zipfile.is_zipfile(path) else None
        if bad is not None:
            raise WeightsError(f"{path} is damaged: its member ‘{bad}’ does not match the "
                               "checksum stored when it was written.")
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):  # a reference to code (a class or function): refused
            raise WeightsError(f"{path} holds Python objects that a safe load refuses; it is "
                               "not loaded, because unpickling it could run arbitrary code.") \
                from None
        raise WeightsError(f"{path} is not a readable PyTorch weights file (not a pickle "
                           "PyTorch understands).") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise WeightsError(f"{path} is not a readable PyTorch weights file "
                           f"({_first_line(exc)}).") from None
    return _state_dict(data, path)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file (timm's and the Hugging Face hub's usual format): tensors only, so
    nothing in it can run code."""
    safetensors_torch = require("safetensors.torch", "safetensors", "Reading a .safetensors "
                                "file", WeightsError)
    try:
        data = safetensors_torch.load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"{path} is not a readable safetensors file "
                           f"({_first_line(exc)}).") from None
    return _state_dict(data, path)


def _state_dict(data: Any, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a plain state dict, a ResNet Studio checkpoint or a {"state_dict": …}."""
    if isinstance(data, dict):
        for key in ("model", "state_dict"):
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise WeightsError(f"{path} does not hold a state dict (a mapping of names to tensors).")
    found = non_finite(data)
    if found:
        raise WeightsError(f"{path} is not imported: its {found} (weights of a diverged run?).")
    return dict(data)


def _torchvision_weights(name: str) -> Any | None:
    """The torchvision weights enum member ``name`` names, or None."""
    from torchvision.models import get_model_weights, get_weight

    try:
        return get_weight(name) if "." in name else get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError, TypeError):
        return None


def hub_file(weights: Any) -> Path:
    """Where torch hub keeps (and torchvision looks for) the file of ``weights``."""
    filename = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _hub_weights(weights: Any) -> tuple[dict[str, torch.Tensor], str]:
    target = hub_file(weights)
    if target.is_file():
        return _read_file(target), str(target)
    try:
        state = weights.get_state_dict(progress=False, check_hash=True)
    except (URLError, OSError, RuntimeError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise WeightsError(
            f"cannot download {weights} from {weights.url} ({reason}). Without a network, "
            f"fetch {target.name} elsewhere and put it at {target} (torch hub's checkpoint "
            "folder; $TORCH_HOME moves it), then try again.") from None
    return _state_dict(state, target), str(target)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
