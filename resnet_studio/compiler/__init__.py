"""Shape inference, costs, diagnostics, module building and source generation."""

from .build import BuildError, build, initialise_weights
from .infer import Analysis, Analyzer, Diagnostic, NodeInfo
from .module import GraphNet

__all__ = ["BuildError", "build", "initialise_weights", "Analysis", "Analyzer", "Diagnostic",
           "NodeInfo", "GraphNet"]
