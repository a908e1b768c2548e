"""Finds the BlockType for a node: the catalogue's, or one made from a custom definition."""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from ..blocks import CATALOGUE, BlockType, Call
from ..graph import Graph, UnknownBlockTypeError
from ..graph.custom import BlockDefinition


def root_of(graph: Graph) -> Graph:
    while isinstance(graph.lookup, Graph):
        graph = graph.lookup
    return graph


def block_for(graph: Graph, type_id: str) -> BlockType:
    root = root_of(graph)
    definition = root.definitions.get(type_id)
    if definition is not None:
        return _custom_block(definition)
    block = CATALOGUE.get(type_id)
    if block is None:
        raise UnknownBlockTypeError(type_id)
    return block


class CustomBlockBuilder:
    """Builds a custom block's body as a module for given parameter values and input shapes."""

    def __init__(self, definition: BlockDefinition, params: dict[str, Any],
                 shapes: Sequence[tuple[int, ...]]):
        self.definition, self.params, self.shapes = definition, params, tuple(shapes)
        self.__name__ = definition.type_id

    def __call__(self) -> nn.Module:
        from .build import build_body
        return build_body(self.definition.graph, self.params, self.input_shapes())

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        ports = [p.name for p in self.definition.spec().inputs]
        return dict(zip(ports, self.shapes))


def _custom_block(definition: BlockDefinition) -> BlockType:
    def make(params, shapes):
        return Call(CustomBlockBuilder(definition, dict(params), shapes))

    def check(params, shapes):
        from .infer import Analyzer
        builder = CustomBlockBuilder(definition, dict(params), shapes)
        analysis = Analyzer().analyze(definition.graph, dict(params), builder.input_shapes())
        errors = [d for d in analysis.diagnostics if d.severity == "error"]
        if errors:
            return f"inside block ‘{definition.name}’: {errors[0].message}"
        return None

    return BlockType(definition.spec(), make, check)
