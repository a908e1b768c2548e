"""Replacing a document's contents in place, announcing every change through graph events.

Structural edits (expand, collapse) and opening a file swap the whole network. Doing it inside
the same ``Graph`` object keeps every view subscribed: the scene hears each edge and node
leave and each new one arrive, exactly as for small edits, and so rebuilds itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .document import Graph
from .project import from_dict, to_dict


def snapshot(graph: Graph) -> dict[str, Any]:
    """The document as its plain project dictionary (what a file would hold)."""
    return to_dict(graph)


def replace_contents(graph: Graph, data: Mapping[str, Any], source: str = "<snapshot>") -> None:
    """Make ``graph`` hold the project ``data`` describes.

    ``data`` is read completely first (a ProjectFileError leaves ``graph`` untouched); then the
    old contents are removed and the new added through graph methods, so listeners see every
    change.
    """
    fresh = from_dict(dict(data), graph.lookup, source)
    clear(graph)
    graph.set_name(fresh.name)
    graph.set_training(fresh.training)
    graph.set_input_spec(fresh.input_spec)
    for definition in list(fresh.definitions.values()):
        graph.add_definition(definition)
    graph.add_nodes_and_edges(list(fresh.nodes.values()), list(fresh.edges))


def clear(graph: Graph) -> None:
    """Remove every edge, node and custom block definition, each with its event."""
    for edge in reversed(list(graph.edges)):
        graph.disconnect(edge)
    for node_id in reversed(list(graph.nodes)):
        graph.remove_node(node_id)
    # A definition can only use block types that existed when it was added, so removing
    # them newest first never removes one that another still uses.
    for type_id in reversed(list(graph.definitions)):
        graph.remove_definition(type_id)
