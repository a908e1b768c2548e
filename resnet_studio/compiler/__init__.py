"""Shape inference, costs, diagnostics, module building and source generation."""

from .build import INITS, BuildError, build, initialise_weights
from .infer import Analysis, Analyzer, Diagnostic, NodeInfo
from .module import GraphNet
from .source import generate_source

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
