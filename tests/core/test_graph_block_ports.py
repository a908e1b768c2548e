"""A block's ports are the ids of the Input nodes in its body: renaming one renames the port,
and every edge into that port of the block's nodes follows, in the project and in other
blocks, each keeping its place (operand order)."""

from __future__ import annotations

from graph_fakes import Recorder, add, link, new_graph

from resnet_studio.graph import BlockDefinition, Edge, Graph, events


def two_input_block(root: Graph, type_id: str = "custom.pair") -> BlockDefinition:
    """in, side → concat → output."""
    body = Graph(root)
    add(body, "in", "input")
    add(body, "side", "input")
    add(body, "cat", "concat")
    add(body, "output", "output")
    link(body, "in", "cat", "output")
    body.connect("side", "out", "cat", "in")
    definition = BlockDefinition(type_id, "Pair", body)
    definition.check()
    root.add_definition(definition)
    return definition


def test_renaming_a_block_input_moves_the_edges_into_that_port():
    root = new_graph()
    definition = two_input_block(root)
    add(root, "input", "input")
    add(root, "a", "relu")
    add(root, "pair", "custom.pair")
    add(root, "output", "output")
    link(root, "input", "a", "pair", "output")
    root.connect("input", "out", "pair", "side")
    before = list(root.edges)
    recorder = Recorder(root)
    definition.graph.rename_node("side", "skip")
    assert [p.name for p in root.spec("custom.pair").inputs] == ["in", "skip"]
    assert root.incoming("pair", "skip") == [Edge("input", "out", "pair", "skip")]
    assert root.incoming("pair", "side") == []
    renamed = [Edge(e.src, e.src_port, e.dst, "skip") if e.dst_port == "side" else e
               for e in before]
    assert root.edges == renamed  # same places in the edge list
    assert [type(e) for e in recorder.events] == [events.EdgeRemoved, events.EdgeAdded]
    definition.graph.rename_node("skip", "side")
    assert root.edges == before


def test_uses_inside_other_blocks_follow_too():
    root = new_graph()
    pair = two_input_block(root)
    outer = Graph(root)
    for node_id, type_id in (("in", "input"), ("r", "relu"), ("p", "custom.pair"),
                             ("output", "output")):
        add(outer, node_id, type_id)
    link(outer, "in", "r", "p", "output")
    outer.connect("in", "out", "p", "side")
    wrapper = BlockDefinition("custom.wrap", "Wrap", outer)
    wrapper.check()
    root.add_definition(wrapper)
    pair.graph.rename_node("side", "other")
    assert outer.incoming("p", "other") == [Edge("in", "out", "p", "other")]
    wrapper.check()
