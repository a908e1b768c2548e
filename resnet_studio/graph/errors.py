"""Typed errors raised by the architecture document.

Every error carries a message written for the person editing the network: it names the
node, port, parameter or file concerned and, where possible, what to do about it.
"""

from __future__ import annotations

from .text import shown


class GraphError(Exception):
    """Base class of every error the document raises."""


class UnknownNodeError(GraphError, KeyError):
    def __init__(self, node_id: str):
        super().__init__(f"There is no node ‘{node_id}’ in this network.")
        self.node_id = node_id

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return self.args[0]


class DuplicateNodeError(GraphError):
    def __init__(self, node_id: str):
        super().__init__(f"A node named ‘{node_id}’ already exists; choose another name.")
        self.node_id = node_id


class InvalidNodeIdError(GraphError):
    def __init__(self, node_id: object, reason: str = ""):
        reason = reason or "use letters, digits and underscores, starting with a letter"
        super().__init__(
            f"‘{node_id}’ is not a valid node name: {reason} "
            "(it becomes a PyTorch module name and a Python identifier)."
        )
        self.node_id = node_id


class InvalidModulePathError(GraphError):
    def __init__(self, node_id: str, path: object, reason: str):
        super().__init__(f"Node ‘{node_id}’: {shown(path)} is not a valid module path: "
                         f"{reason}.")
        self.node_id, self.path = node_id, path


class UnknownBlockTypeError(GraphError):
    def __init__(self, type_id: str, where: str = ""):
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown block type ‘{type_id}’.")
        self.type_id = type_id


class UnknownPortError(GraphError):
    def __init__(self, node_id: str, port: str, direction: str, available: tuple[str, ...]):
        names = ", ".join(available) or "none"
        super().__init__(
            f"Node ‘{node_id}’ has no {direction} port ‘{port}’ (its {direction} ports: {names})."
        )
        self.node_id, self.port, self.direction = node_id, port, direction


class PortAlreadyConnectedError(GraphError):
    def __init__(self, node_id: str, port: str, source: str):
        super().__init__(
            f"Input ‘{port}’ of ‘{node_id}’ is already fed by ‘{source}’; "
            "remove that connection first, or use an Add or Concat node to merge tensors."
        )
        self.node_id, self.port = node_id, port


class UnknownEdgeError(GraphError, KeyError):
    def __init__(self, edge: object):
        super().__init__(f"There is no connection {edge} in this network.")
        self.edge = edge

    def __str__(self) -> str:
        return self.args[0]


class InvalidPositionError(GraphError, ValueError):
    def __init__(self, node_id: str, position: object):
        super().__init__(f"Node ‘{node_id}’: position {shown(position)} must be two finite "
                         "numbers (x, y).")
        self.node_id = node_id


class DuplicateEdgeError(GraphError):
    def __init__(self, src: str, dst: str):
        super().__init__(f"‘{src}’ is already connected to ‘{dst}’.")


class CycleError(GraphError):
    """A connection that would close a loop, or (with ``message``) a loop already present."""

    def __init__(self, src: str, dst: str, message: str | None = None):
        if message is None and src == dst:
            message = f"‘{src}’ cannot feed itself: that would create a cycle."
        if message is None:
            message = (f"Connecting ‘{src}’ to ‘{dst}’ would create a cycle: ‘{dst}’ already "
                       f"feeds ‘{src}’.")
        super().__init__(f"{message} Networks must flow in one direction.")
        self.src, self.dst = src, dst


class IncompatiblePortsError(GraphError):
    def __init__(self, message: str):
        super().__init__(message)


class ParameterError(GraphError, ValueError):
    """A parameter value outside its type or bounds."""

    def __init__(self, where: str, param: str, message: str):
        super().__init__(f"{where}, parameter ‘{param}’: {message}")
        self.where, self.param = where, param


class DefinitionError(GraphError):
    """A custom block definition that cannot be added, used or removed."""


class SelectionError(GraphError):
    """A selection that cannot be collapsed into a block."""


class ProjectFileError(GraphError):
    """A project file that cannot be read or written; the message names the file, the place
    in it and the problem."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
