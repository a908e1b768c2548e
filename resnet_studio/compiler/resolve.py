"""Finds the catalogue BlockType for a node's type (custom blocks are analysed from their
definitions by ``infer.Analyzer`` itself)."""

from __future__ import annotations

from ..blocks import CATALOGUE, BlockType
from ..graph import Graph, UnknownBlockTypeError

__all__ = ["block_for", "root_of"]


def root_of(graph: Graph) -> Graph:
    """The project graph that holds the custom block definitions ``graph`` looks types up in."""
    while isinstance(graph.lookup, Graph):
        graph = graph.lookup
    return graph


def block_for(graph: Graph, type_id: str) -> BlockType:
    """The catalogue block of ``type_id``; UnknownBlockTypeError for anything else (custom
    block types included: they have no BlockType of their own)."""
    block = CATALOGUE.get(type_id) if type_id not in root_of(graph).definitions else None
    if block is None:
        raise UnknownBlockTypeError(type_id)
    return block
