"""The errors of exporting and importing; each message names the file or model at fault."""

from __future__ import annotations

import importlib


class ExportError(RuntimeError):
    """An export that could not be made or did not pass its check. When the exported model
    disagreed with the trained one, ``max_abs_diff`` holds the largest absolute difference of
    their outputs; nothing was written in that case."""

    def __init__(self, message: str, max_abs_diff: float | None = None):
        super().__init__(message)
        self.max_abs_diff = max_abs_diff


class ExportCancelled(Exception):
    """An export cancelled before it was put in place: nothing was written."""


class ModelImportError(ValueError):
    """A network that cannot become a ResNet Studio project (unknown torchvision model,
    unsupported layer, a ``model.py`` not written by ResNet Studio)."""


class WeightsError(RuntimeError):
    """Pretrained weights that cannot be found, read or loaded into the network."""


def require(module: str, extra: str, purpose: str, error: type[Exception] = ExportError):
    """Import an optional dependency, or fail naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise error(f"{purpose} needs the optional package ‘{module}’: "
                    f"pip install 'resnet-studio[{extra}]'") from None
