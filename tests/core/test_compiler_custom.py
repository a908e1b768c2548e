"""Custom blocks in the compiler: analysed through their bodies with one cache, built from the
graph given (never the live document), and linear in the depth of nesting."""

from __future__ import annotations

import torch

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build, generate_source
from resnet_studio.graph import BlockDefinition, Graph, InputSpec, ParamSpec

SPEC = InputSpec(4, 6, 6, 10)
WIDTH = ParamSpec("width", "int", 4, minimum=1, maximum=64)


def body(root: Graph, *steps) -> Graph:
    """in → steps… → output inside a block; each step a (node id, type, params) triple."""
    g = Graph(root)
    g.add_node("input", node_id="in")
    prev = "in"
    for node_id, type_id, params in steps:
        g.add_node(type_id, params, node_id=node_id)
        g.connect(prev, "out", node_id, "in")
        prev = node_id
    g.add_node("output", node_id="output")
    g.connect(prev, "out", "output", "in")
    return g


def define(root: Graph, type_id: str, graph: Graph, params=()) -> None:
    definition = BlockDefinition(type_id, type_id.title(), graph, tuple(params))
    definition.check()
    root.add_definition(definition)


def network(root: Graph, type_id: str, params=None) -> Graph:
    """input → one node of ``type_id`` → pool → flatten → linear($classes) → output."""
    steps = [("block", type_id, params or {}), ("pool", "adaptiveavgpool2d", {}),
             ("flat", "flatten", {}), ("fc", "linear", {"out_features": "$classes"})]
    root.add_node("input")
    prev = "input"
    for node_id, step_type, step_params in steps:
        root.add_node(step_type, step_params, node_id=node_id)
        root.connect(prev, "out", node_id, "in")
        prev = node_id
    root.add_node("output")
    root.connect(prev, "out", "output", "in")
    return root


def unit_project(width_default=4) -> Graph:
    """A project whose one block type ``unit`` (no ``custom.`` prefix) is conv($width) → relu."""
    root = Graph(CATALOGUE, SPEC)
    define(root, "unit", body(root, ("conv", "conv2d", {"out_channels": "$width"}),
                              ("act", "relu", {})),
           [ParamSpec("width", "int", width_default, minimum=1, maximum=64)])
    return network(root, "unit")


def nested_project(depth: int) -> Graph:
    """Block ``level0`` is conv → relu; block ``levelK`` is two ``level{K-1}`` in a row, so the
    network holds 2**depth convolutions behind ``depth`` definitions."""
    root = Graph(CATALOGUE, SPEC)
    define(root, "level0", body(root, ("conv", "conv2d", {"out_channels": 4}), ("act", "relu", {})))
    for k in range(1, depth):
        inner = f"level{k - 1}"
        define(root, f"level{k}", body(root, ("a", inner, {}), ("b", inner, {})))
    return network(root, f"level{depth - 1}")


# ----- snapshots ---------------------------------------------------------------------------------
def test_a_build_on_a_snapshot_ignores_later_edits_of_the_live_project():
    live = unit_project()
    snapshot = live.copy()
    live.set_params("block", {"width": 8})
    inner = live.definitions["unit"].graph
    inner.set_params("conv", {"out_channels": 16, "kernel_size": 1, "padding": 0})
    inner.add_node("batchnorm2d", node_id="bn")
    live.definitions["unit"].name = "Renamed"
    net = build(snapshot)
    assert net.block.conv.weight.shape == (4, 4, 3, 3)
    assert list(net.state_dict()) == ["block.conv.weight", "block.conv.bias", "fc.weight",
                                      "fc.bias"]
    assert snapshot.definitions["unit"].graph.lookup is snapshot
    assert "bn" not in snapshot.definitions["unit"].graph.nodes
    assert "inside block ‘Renamed’" in Analyzer().analyze(live).nodes["block"].problem


def test_a_snapshot_is_unaffected_by_removing_and_redefining_a_block():
    live = unit_project()
    snapshot = live.copy()
    live.remove_node("block")
    live.remove_definition("unit")
    define(live, "unit", body(live, ("act", "relu", {})))
    assert build(snapshot).block.conv.weight.shape == (4, 4, 3, 3)


# ----- the analyser ------------------------------------------------------------------------------
def test_a_reused_analyzer_never_answers_with_another_projects_block():
    analyzer = Analyzer()
    first = analyzer.analyze(unit_project(width_default=4))
    second = analyzer.analyze(unit_project(width_default=6))
    assert first.nodes["block"].out_shape == (4, 6, 6)
    assert second.nodes["block"].out_shape == (6, 6, 6)
    other = Graph(CATALOGUE, SPEC)  # same type id and values, a different body
    define(other, "unit", body(other, ("conv", "conv2d", {"out_channels": "$width", "stride": 2})),
           [WIDTH])
    assert analyzer.analyze(network(other, "unit")).nodes["block"].out_shape == (4, 3, 3)


def test_editing_a_block_body_is_seen_by_the_same_analyzer():
    analyzer = Analyzer()
    g = unit_project()
    assert analyzer.analyze(g).nodes["block"].params == 4 * 4 * 9 + 4
    g.definitions["unit"].graph.set_params("conv", {"kernel_size": 1, "padding": 0})
    assert analyzer.analyze(g).nodes["block"].params == 4 * 4 + 4


def test_nested_blocks_are_analysed_once_per_definition_not_once_per_use():
    analyzer = Analyzer()
    g = nested_project(12)
    analysis = analyzer.analyze(g)
    assert analysis.ok, analysis.diagnostics
    assert analysis.nodes["block"].params == 2 ** 11 * (4 * 4 * 9 + 4)
    assert analyzer.body_analyses == 12  # not 2**12: each configuration once
    analyzer.analyze(g)
    assert analyzer.body_analyses == 12  # nothing changed: all from the cache
    g.definitions["level0"].graph.set_params("conv", {"kernel_size": 1, "padding": 0})
    assert analyzer.analyze(g).nodes["block"].params == 2 ** 11 * (4 * 4 + 4)
    assert analyzer.body_analyses == 24  # every level above the edit, once each


def test_nested_blocks_build_and_generate_source_from_the_one_analysis():
    g = nested_project(3)
    analysis = Analyzer().analyze(g)
    net = build(g, analysis)
    assert [k for k in net.state_dict()][:2] == ["block.a.a.conv.weight", "block.a.a.conv.bias"]
    assert net(torch.randn(2, 4, 6, 6)).shape == (2, 10)
    namespace: dict = {}
    exec(compile(generate_source(g, analysis=analysis), "model.py", "exec"), namespace)
    generated = namespace["Net"]()
    generated.load_state_dict(net.state_dict())
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(generated.eval()(x), net.eval()(x))
