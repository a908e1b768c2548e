"""The architecture document: pure Python, no torch, no Qt."""

from . import events
from .collapse import collapse
from .custom import BlockDefinition, Subgraph, SubNode
from .document import INPUT_TYPE, OUTPUT_TYPE, Edge, Graph, InputSpec, Node
from .errors import (
    CycleError,
    DefinitionError,
    DuplicateEdgeError,
    DuplicateNodeError,
    GraphError,
    IncompatiblePortsError,
    InvalidNodeIdError,
    InvalidPositionError,
    ParameterError,
    PortAlreadyConnectedError,
    ProjectFileError,
    SelectionError,
    UnknownBlockTypeError,
    UnknownEdgeError,
    UnknownNodeError,
    UnknownPortError,
)
from .expand import expand, expand_custom
from .schema import (
    BlockSpec,
    ParamSpec,
    PortSpec,
    SpecLookup,
    is_param_name,
    reference_name,
    resolve_params,
)

__all__ = [
    "INPUT_TYPE",
    "OUTPUT_TYPE",
    "BlockDefinition",
    "BlockSpec",
    "CycleError",
    "DefinitionError",
    "DuplicateEdgeError",
    "DuplicateNodeError",
    "Edge",
    "Graph",
    "GraphError",
    "IncompatiblePortsError",
    "InputSpec",
    "InvalidNodeIdError",
    "InvalidPositionError",
    "Node",
    "ParamSpec",
    "ParameterError",
    "PortAlreadyConnectedError",
    "PortSpec",
    "ProjectFileError",
    "SelectionError",
    "SpecLookup",
    "SubNode",
    "Subgraph",
    "UnknownBlockTypeError",
    "UnknownEdgeError",
    "UnknownNodeError",
    "UnknownPortError",
    "collapse",
    "events",
    "expand",
    "expand_custom",
    "is_param_name",
    "reference_name",
    "resolve_params",
]
