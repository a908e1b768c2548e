"""Shape inference, costs, diagnostics, module building and source generation.

The names below are loaded on first use (PEP 562): the compiler runs modules on torch's meta
device, and the editor opens (and ``structure`` and ``resolve`` are read) before torch has
loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "builder": ("INITS", "BuildError", "build", "initialise_weights"),
    "infer": ("Analysis", "Analyzer", "Diagnostic", "NodeInfo"),
    "module": ("GraphNet",),
    "source": ("generate_source",),
}

__all__ = [
           "INITS",
           "Analysis",
           "Analyzer",
           "BuildError",
           "Diagnostic",
           "GraphNet",
           "NodeInfo",
           "build",
           "generate_source",
           "initialise_weights",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from .builder import INITS, BuildError, build, initialise_weights
    from .infer import Analysis, Analyzer, Diagnostic, NodeInfo
    from .module import GraphNet
    from .source import generate_source
