"""The architecture document: pure Python, no torch, no Qt."""

from . import events
from .custom import BlockDefinition, Subgraph, SubNode, collapse, expand
from .document import INPUT_TYPE, OUTPUT_TYPE, Edge, Graph, InputSpec, Node
from .errors import (
    CycleError,
    DefinitionError,
    DuplicateEdgeError,
    DuplicateNodeError,
    GraphError,
    IncompatiblePortsError,
    InvalidNodeIdError,
    ParameterError,
    PortAlreadyConnectedError,
    ProjectFileError,
    SelectionError,
    UnknownBlockTypeError,
    UnknownNodeError,
    UnknownPortError,
)
from .schema import BlockSpec, ParamSpec, PortSpec, SpecLookup, reference_name, resolve_params

__all__ = [
    "events", "BlockDefinition", "Subgraph", "SubNode", "collapse", "expand", "INPUT_TYPE",
    "OUTPUT_TYPE", "Edge", "Graph", "InputSpec", "Node", "CycleError", "DefinitionError",
    "DuplicateEdgeError", "DuplicateNodeError", "GraphError", "IncompatiblePortsError",
    "InvalidNodeIdError", "ParameterError", "PortAlreadyConnectedError", "ProjectFileError",
    "SelectionError", "UnknownBlockTypeError", "UnknownNodeError", "UnknownPortError",
    "BlockSpec", "ParamSpec", "PortSpec", "SpecLookup", "reference_name", "resolve_params",
]
