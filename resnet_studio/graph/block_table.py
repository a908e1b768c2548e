"""The custom block table of a project's root graph: adding and removing block types, how
deep they nest, and keeping the uses of a block in step when its body's ports are renamed.

A mixin of ``Graph``, kept apart so the document module stays about nodes and edges.
"""

from __future__ import annotations

from typing import Any

from . import events as ev
from .errors import DefinitionError

MAX_NESTING = 32  # custom blocks inside custom blocks; real projects use a handful


class BlockTable:
    """Methods of ``Graph`` about custom block definitions (``self.definitions``)."""

    definitions: dict[str, Any]
    lookup: Any

    def add_definition(self, definition: Any) -> None:
        """Make a custom block type available; its body then looks types up through this
        graph, so a definition may use the custom types defined before it."""
        type_id = definition.type_id
        if not isinstance(type_id, str) or not type_id.strip():
            raise DefinitionError(f"A block type id must be a non-empty string, not {type_id!r}.")
        if type_id in self.definitions or self.lookup.spec(type_id):
            raise DefinitionError(f"A block type ‘{type_id}’ already exists.")
        if any(n.type_id == type_id for n in definition.graph):
            raise DefinitionError(f"Block ‘{type_id}’ cannot contain a node of its own type.")
        depth = 1 + max((self.nesting_depth(n.type_id) for n in definition.graph), default=0)
        if depth > MAX_NESTING:
            raise DefinitionError(f"Block ‘{type_id}’ would nest custom blocks {depth} deep; "
                                  f"at most {MAX_NESTING} levels are allowed.")
        definition.graph.lookup = self
        self.definitions[definition.type_id] = definition
        self.events.emit(ev.DefinitionsChanged(definition.type_id))

    def nesting_depth(self, type_id: str) -> int:
        """How many custom blocks deep a node of ``type_id`` goes: 0 for a catalogue block,
        1 for a custom block of catalogue blocks. The limit on it at ``add_definition`` keeps
        every recursive walk of a project (analysis, building, source) far from the stack's
        end."""
        memo: dict[str, int] = {}
        stack = [type_id]
        while stack:  # iterative post-order: a file may try to nest thousands deep
            current = stack[-1]
            definition = self.definitions.get(current)
            if definition is None:
                memo[current] = 0
                stack.pop()
                continue
            todo = [n.type_id for n in definition.graph if n.type_id not in memo]
            if todo and current not in memo:
                memo[current] = -1  # on the stack: definitions cannot form cycles
                stack.extend(todo)
                continue
            memo[current] = 1 + max((memo[n.type_id] for n in definition.graph), default=0)
            stack.pop()
        return memo[type_id]

    def remove_definition(self, type_id: str) -> Any:
        """Remove a custom block type that no node (here or in another block) uses."""
        if type_id not in self.definitions:
            raise DefinitionError(f"There is no custom block type ‘{type_id}’.")
        users = [n.id for n in self.nodes.values() if n.type_id == type_id]
        users += [f"{d.name}/{n.id}" for d in self.definitions.values()
                  for n in d.graph.nodes.values() if n.type_id == type_id]
        if users:
            raise DefinitionError(
                f"Block type ‘{type_id}’ is still used by {', '.join(users[:5])}; "
                "delete or expand those nodes first.")
        definition = self.definitions.pop(type_id)
        self.events.emit(ev.DefinitionsChanged(type_id))
        return definition

    def _check_not_recursive(self, type_id: str) -> None:
        """Inside a block's body, refuse a node that would make the block contain itself."""
        if not self.is_block_body():
            return
        root = self.lookup
        owner = next((t for t, d in root.definitions.items() if d.graph is self), None)
        if owner is not None and root.depends_on(type_id, owner):
            raise DefinitionError(f"A ‘{type_id}’ node cannot go inside block ‘{owner}’: "
                                  "the block would contain itself.")

    def depends_on(self, type_id: str, other: str) -> bool:
        """True when a block of ``type_id`` is of type ``other`` or contains one, at any depth
        of nested custom blocks."""
        stack, seen = [type_id], set()
        while stack:
            current = stack.pop()
            if current == other:
                return True
            definition = self.definitions.get(current)
            if definition is not None and current not in seen:
                seen.add(current)
                stack.extend(n.type_id for n in definition.graph)
        return False

    def _rename_block_port(self, old: str, new: str) -> None:
        """Inside a block an Input node's id is the name of a port of the block; move every
        edge into that port of the block's nodes (in the project and in other blocks) to the
        new name, each at its former place in the edge list."""
        root = self.lookup
        owner = next((t for t, d in root.definitions.items() if d.graph is self), None)
        if owner is None:
            return
        for user in [root, *(d.graph for d in root.definitions.values())]:
            for edge in [e for e in user.edges if e.dst_port == old
                         and user.nodes[e.dst].type_id == owner]:
                index = user.disconnect(edge)
                user.connect(edge.src, edge.src_port, edge.dst, new, index=index)
