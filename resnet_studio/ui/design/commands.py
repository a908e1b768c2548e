"""Undoable edits: each user action is one small ``QUndoCommand`` that only calls graph methods.

A command's ``check()`` raises the graph's typed error when ``redo()`` would fail, so the
document can refuse an edit with the reason *before* it reaches the undo stack (a command that
raised inside ``QUndoStack.push`` would be half applied and still recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from ...graph import Edge, Graph, UnknownBlockTypeError
from ...graph.contents import replace_contents

Position = tuple[float, float]


class GraphCommand(QUndoCommand):
    """Base of every editor command: holds the graph and checks nothing by default."""

    def __init__(self, graph: Graph, text: str):
        super().__init__(text)
        self.graph = graph

    def check(self) -> None:
        """Raise a GraphError if ``redo`` would fail now."""


class MacroCommand(GraphCommand):
    """A command made of sub-commands, done in order and undone in reverse.

    The sub-commands are plain Python-owned objects, not Qt child commands: a child given a
    Qt parent would be deleted both by its parent and by Python's garbage collector.
    """

    def __init__(self, graph: Graph, text: str):
        super().__init__(graph, text)
        self.children: list[GraphCommand] = []

    def add(self, command_type: type, *args: Any, **kwargs: Any) -> GraphCommand:
        child = command_type(self.graph, *args, **kwargs)
        self.children.append(child)
        return child

    def check(self) -> None:
        for child in self.children:
            child.check()

    def redo(self) -> None:
        for child in self.children:
            child.redo()

    def undo(self) -> None:
        for child in reversed(self.children):
            child.undo()


class AddNodeCommand(GraphCommand):
    def __init__(self, graph: Graph, type_id: str, params: Mapping[str, Any] | None = None,
                 position: Position = (0.0, 0.0), node_id: str | None = None, label: str = ""):
        spec = graph.spec(type_id)
        super().__init__(graph, f"Add {spec.title if spec else type_id}")
        self.type_id, self.params, self.label = type_id, dict(params or {}), label
        self.position = (float(position[0]), float(position[1]))
        self.node_id = node_id

    def check(self) -> None:
        spec = self.graph.spec(self.type_id)
        if spec is None:
            raise UnknownBlockTypeError(self.type_id)
        if self.node_id is not None:
            self.graph.check_new_id(self.node_id, self.type_id)
        spec.validate_params(self.params, f"{spec.title} ‘{self.node_id or spec.title}’")

    def redo(self) -> None:
        node = self.graph.add_node(self.type_id, self.params, self.position, self.node_id,
                                   self.label)
        self.node_id = node.id  # the first redo picks a fresh id; later ones reuse it

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)


class RemoveNodeCommand(GraphCommand):
    """Removes one node whose edges are already gone (see ``remove_items_command``)."""

    def __init__(self, graph: Graph, node_id: str):
        super().__init__(graph, f"Delete {node_id}")
        self.node = graph.copy_node(graph.node(node_id))
        self.index = graph.node_index(node_id)

    def redo(self) -> None:
        self.index = self.graph.node_index(self.node.id)
        self.graph.remove_node(self.node.id)

    def undo(self) -> None:
        # Back in its former place: the node order decides the saved file, the topological
        # order and the built network's state_dict key order.
        n = self.node
        self.graph.add_node(n.type_id, n.params, n.position, n.id, n.label, index=self.index,
                            module=n.module)


class ConnectCommand(GraphCommand):
    def __init__(self, graph: Graph, src: str, src_port: str, dst: str, dst_port: str):
        super().__init__(graph, f"Connect {src} → {dst}")
        self.edge = Edge(src, src_port, dst, dst_port)
        self.index: int | None = None  # None: append; after an undo, the former place

    def check(self) -> None:
        e = self.edge
        self.graph.check_connect(e.src, e.src_port, e.dst, e.dst_port)

    def redo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port, index=self.index)

    def undo(self) -> None:
        self.index = self.graph.disconnect(self.edge)


class DisconnectCommand(GraphCommand):
    def __init__(self, graph: Graph, edge: Edge):
        super().__init__(graph, f"Disconnect {edge}")
        self.edge = edge
        self.index = 0

    def redo(self) -> None:
        self.index = self.graph.disconnect(self.edge)

    def undo(self) -> None:
        e = self.edge
        # Back in its former place: the order of a multi-input port's edges is operand order.
        self.graph.connect(e.src, e.src_port, e.dst, e.dst_port, index=self.index)


class MoveNodesCommand(GraphCommand):
    """Moves nodes from their old to their new positions: one drag, or an auto-layout."""

    def __init__(self, graph: Graph, moves: Mapping[str, tuple[Position, Position]],
                 text: str = "Move"):
        super().__init__(graph, text)
        self.moves = dict(moves)

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move_node(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.move_node(node_id, old)


class SetParamsCommand(GraphCommand):
    """Sets the same parameter values on one or several nodes (a multi-selection)."""

    def __init__(self, graph: Graph, node_ids: Iterable[str], updates: Mapping[str, Any]):
        ids = list(node_ids)
        names = ", ".join(updates)
        super().__init__(graph, f"Set {names} of {_describe(ids)}")
        self.updates = dict(updates)
        self.old = {node_id: dict(graph.node(node_id).params) for node_id in ids}

    def check(self) -> None:
        for node_id, params in self.old.items():
            spec = self.graph.node_spec(node_id)
            spec.validate_params({**params, **self.updates}, f"{spec.title} ‘{node_id}’")

    def redo(self) -> None:
        for node_id in self.old:
            self.graph.set_params(node_id, self.updates)

    def undo(self) -> None:
        for node_id, params in self.old.items():
            self.graph.set_params(node_id, params)


class RenameNodeCommand(GraphCommand):
    def __init__(self, graph: Graph, old_id: str, new_id: str):
        super().__init__(graph, f"Rename {old_id} to {new_id}")
        self.old_id, self.new_id = old_id, new_id

    def check(self) -> None:
        node = self.graph.node(self.old_id)
        if self.new_id != self.old_id:
            self.graph.check_new_id(self.new_id, node.type_id)

    def redo(self) -> None:
        self.graph.rename_node(self.old_id, self.new_id)

    def undo(self) -> None:
        self.graph.rename_node(self.new_id, self.old_id)


class SnapshotCommand(GraphCommand):
    """A structural edit (expand, collapse) recorded as the document before and after.

    The edit itself has already been applied when the command is pushed, so the first
    ``redo`` does nothing; undo and redo then restore a snapshot into the same graph.
    """

    def __init__(self, graph: Graph, text: str, before: dict[str, Any], after: dict[str, Any]):
        super().__init__(graph, text)
        self.before, self.after = before, after
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        replace_contents(self.graph, self.after)

    def undo(self) -> None:
        replace_contents(self.graph, self.before)


def remove_items_command(graph: Graph, node_ids: Iterable[str],
                         edges: Iterable[Edge] = ()) -> MacroCommand:
    """Delete nodes and edges: first every edge that touches them, then the nodes."""
    ids = [n for n in dict.fromkeys(node_ids)]
    chosen = set(ids)
    doomed = set(edges) | {e for e in graph.edges if e.src in chosen or e.dst in chosen}
    macro = MacroCommand(graph, f"Delete {_describe(ids) if ids else _edges_text(doomed)}")
    for edge in [e for e in graph.edges if e in doomed]:  # document order, undone in reverse
        macro.add(DisconnectCommand, edge)
    for node_id in ids:
        macro.add(RemoveNodeCommand, node_id)
    return macro


def _describe(ids: list[str]) -> str:
    if len(ids) == 1:
        return ids[0]
    return f"{len(ids)} nodes"


def _edges_text(edges: set[Edge]) -> str:
    return "1 connection" if len(edges) == 1 else f"{len(edges)} connections"
