"""Custom blocks: definitions, sub-graphs, expand and collapse."""

from __future__ import annotations

import pytest
from graph_fakes import Recorder, add, chain_graph, link, new_graph, snapshot, structure

from resnet_studio.graph import (
    BlockDefinition,
    DefinitionError,
    Edge,
    Graph,
    IncompatiblePortsError,
    ParamSpec,
    SelectionError,
    Subgraph,
    SubNode,
    collapse,
    events,
    expand,
    expand_custom,
)

WIDTH = ParamSpec("width", "int", 8, minimum=1, maximum=4096)


def body_graph(root: Graph, inputs=("in",), params=None) -> Graph:
    """in → conv(width) → relu → output, inside a block."""
    body = Graph(root)
    for i, port in enumerate(inputs):
        add(body, port, "input", position=(100.0 * i, 0.0))
    add(body, "conv", "conv", params or {"out_channels": "$width"}, (0.0, 100.0))
    add(body, "act", "relu", position=(0.0, 200.0))
    add(body, "output", "output", position=(0.0, 300.0))
    link(body, inputs[0], "conv", "act", "output")
    return body


def defined(root: Graph, type_id="custom.unit", params=(WIDTH,), **kwargs) -> BlockDefinition:
    definition = BlockDefinition(type_id, "Unit", body_graph(root, **kwargs), params)
    definition.check()
    root.add_definition(definition)
    return definition


def residual_graph() -> Graph:
    """input → stem → (c1 → r1 → c2) + stem → sum → head → output, the skip second."""
    g = new_graph()
    for row, (node_id, type_id) in enumerate([
            ("input", "input"), ("stem", "conv"), ("c1", "conv"), ("r1", "relu"), ("c2", "conv"),
            ("sum", "add"), ("head", "relu"), ("output", "output")]):
        params = {"out_channels": 16} if type_id == "conv" else {}
        add(g, node_id, type_id, params, (0.0, 80.0 * row))
    link(g, "input", "stem", "c1", "r1", "c2", "sum", "head", "output")
    g.connect("stem", "out", "sum", "in")
    return g


# ----- definitions -----------------------------------------------------------------------------
def test_spec_takes_ports_from_input_nodes_and_parameters_from_the_definition():
    root = new_graph()
    definition = defined(root, inputs=("in", "skip"))
    spec = definition.spec()
    assert [p.name for p in spec.inputs] == ["in", "skip"]
    assert [p.name for p in spec.outputs] == ["out"]
    assert spec.params == (WIDTH,) and spec.composite and spec.title == "Unit"
    assert root.spec("custom.unit") == spec
    node = root.add_node("custom.unit")
    assert node.params == {"width": 8} and node.id == "unit"


@pytest.mark.parametrize("breakage, message", [
    (lambda b: [b.remove_node("in")], "has no Input node"),
    (lambda b: [b.remove_node("output")], "exactly one Output node, it has 0"),
    (lambda b: [add(b, "output2", "output")], "exactly one Output node, it has 2"),
    (lambda b: [b.disconnect(b.incoming("output")[0])], "its Output node is not connected"),
    (lambda b: [b.set_params("conv", {"kernel_size": "$kernel"})],
     r"node ‘conv’ parameter ‘kernel_size’ refers to \$kernel, which is not one of the block's"),
])
def test_check_refuses_bodies_that_cannot_act_as_a_block(breakage, message):
    definition = BlockDefinition("custom.unit", "Unit", body_graph(new_graph()), (WIDTH,))
    breakage(definition.graph)
    with pytest.raises(DefinitionError, match=message):
        definition.check()


@pytest.mark.parametrize("params, message", [
    ((WIDTH, WIDTH), "declares parameter ‘width’ twice"),
    ((WIDTH, ParamSpec("2x", "int", 1)), "parameter name ‘2x’"),
    ((ParamSpec("width", "int", 0, minimum=1),), "0 is not allowed; expected an integer from 1"),
])
def test_check_refuses_bad_parameter_declarations(params, message):
    definition = BlockDefinition("custom.unit", "Unit", body_graph(new_graph()), params)
    with pytest.raises(DefinitionError, match=message):
        definition.check()


def test_subgraph_substitutes_values_and_defaults_and_centres_offsets():
    body = body_graph(new_graph(), params={"out_channels": "$width", "kernel_size": "$k"})
    definition = BlockDefinition("custom.unit", "Unit", body,
                                 (WIDTH, ParamSpec("k", "int", 5, minimum=1, maximum=31)))
    sub = definition.subgraph({"width": 32})
    nodes = {n.id: n for n in sub.nodes}
    assert set(nodes) == {"conv", "act"}  # Input and Output are the boundary, not nodes
    assert nodes["conv"].params["out_channels"] == 32 and nodes["conv"].params["kernel_size"] == 5
    assert nodes["conv"].offset == (0.0, -50.0) and nodes["act"].offset == (0.0, 50.0)
    assert sub.edges == [("conv", "out", "act", "in")]
    assert sub.inputs == {"in": [("conv", "in")]} and sub.output == ("act", "out")


def test_subgraph_refuses_a_block_that_passes_its_input_straight_through():
    body = Graph(new_graph())
    add(body, "in", "input"), add(body, "output", "output")
    link(body, "in", "output")
    with pytest.raises(DefinitionError, match="passes its input straight through"):
        BlockDefinition("custom.wire", "Wire", body).subgraph({})


def test_add_definition_refuses_taken_type_ids():
    root = new_graph()
    defined(root)
    with pytest.raises(DefinitionError, match=r"‘custom\.unit’ already exists"):
        root.add_definition(BlockDefinition("custom.unit", "Again", body_graph(root)))
    with pytest.raises(DefinitionError, match="‘conv’ already exists"):
        root.add_definition(BlockDefinition("conv", "Conv", body_graph(root)))
    with pytest.raises(DefinitionError, match="non-empty string"):
        root.add_definition(BlockDefinition("", "Blank", body_graph(root)))


def test_remove_definition_refuses_while_used_here_or_in_another_block():
    root = new_graph()
    defined(root)
    recorder = Recorder(root)
    add(root, "u1", "custom.unit")
    with pytest.raises(DefinitionError, match="still used by u1"):
        root.remove_definition("custom.unit")
    outer = BlockDefinition("custom.outer", "Outer", body_graph(root, params={}))
    outer.graph.add_node("custom.unit", node_id="inner")
    root.add_definition(outer)
    root.remove_node("u1")
    with pytest.raises(DefinitionError, match="still used by Outer/inner"):
        root.remove_definition("custom.unit")
    outer.graph.remove_node("inner")
    removed = root.remove_definition("custom.unit")
    assert removed.type_id == "custom.unit" and "custom.unit" not in root.definitions
    assert recorder.events[-1] == events.DefinitionsChanged("custom.unit")
    with pytest.raises(DefinitionError, match=r"no custom block type ‘custom\.unit’"):
        root.remove_definition("custom.unit")


def test_a_block_cannot_contain_itself_directly_or_through_another():
    root = new_graph()
    unit = defined(root)
    with pytest.raises(DefinitionError, match="would contain itself"):
        unit.graph.add_node("custom.unit")
    outer = BlockDefinition("custom.outer", "Outer", body_graph(root, params={}))
    outer.graph.add_node("custom.unit", node_id="inner")
    root.add_definition(outer)
    with pytest.raises(DefinitionError, match="would contain itself"):
        unit.graph.add_node("custom.outer")
    assert root.depends_on("custom.outer", "custom.unit")
    assert not root.depends_on("custom.unit", "custom.outer")


def test_an_input_node_inside_a_block_may_feed_a_vector_port():
    root = new_graph()
    body = Graph(root)
    add(body, "in", "input"), add(body, "fc", "linear")
    body.connect("in", "out", "fc", "in")  # the block's input could be a flat vector
    add(root, "input", "input"), add(root, "fc", "linear")
    with pytest.raises(IncompatiblePortsError):  # at the top level the Input is a feature map
        root.connect("input", "out", "fc", "in")


# ----- expand ----------------------------------------------------------------------------------
def test_expand_replaces_a_node_keeping_its_connections():
    root = new_graph()
    defined(root)
    add(root, "input", "input"), add(root, "blk", "custom.unit", {"width": 4}, (50.0, 500.0))
    add(root, "output", "output")
    link(root, "input", "blk", "output")
    new_ids = expand_custom(root, "blk")
    assert new_ids == ["blk_conv", "blk_act"] and "blk" not in root.nodes
    assert root.node("blk_conv").params["out_channels"] == 4
    assert root.edges == [Edge("blk_conv", "out", "blk_act", "in"),
                          Edge("input", "out", "blk_conv", "in"),
                          Edge("blk_act", "out", "output", "in")]
    assert root.node("blk_conv").position == (50.0, 450.0)


def test_expand_keeps_operand_order_at_every_consumer_and_feeds_every_consumer():
    root = new_graph()
    defined(root)
    add(root, "input", "input"), add(root, "x", "relu"), add(root, "blk", "custom.unit")
    add(root, "cat", "concat"), add(root, "tail", "relu"), add(root, "s", "sub")
    add(root, "y", "relu")
    link(root, "input", "x", "blk")
    link(root, "input", "y")
    for src in ("x", "blk", "y"):
        root.connect(src, "out", "cat", "in")
    root.connect("blk", "out", "tail", "in")
    root.connect("x", "out", "s", "a")
    root.connect("blk", "out", "s", "b")
    assert [e.src for e in root.incoming("cat")] == ["x", "blk", "y"]
    expand_custom(root, "blk")
    assert [e.src for e in root.incoming("cat")] == ["x", "blk_act", "y"]
    assert [e.src for e in root.incoming("tail")] == ["blk_act"]
    assert [(e.src, e.dst_port) for e in root.incoming("s")] == [("x", "a"), ("blk_act", "b")]


def test_expand_places_block_inputs_among_inner_operands_as_in_the_body():
    root = new_graph()
    body = Graph(root)
    add(body, "in", "input"), add(body, "inner", "relu"), add(body, "sum", "concat")
    add(body, "output", "output")
    body.connect("in", "out", "inner", "in")
    body.connect("in", "out", "sum", "in")      # operand 0: the block's input
    body.connect("inner", "out", "sum", "in")   # operand 1: the inner branch
    body.connect("sum", "out", "output", "in")
    root.add_definition(BlockDefinition("custom.skip", "Skip", body))
    add(root, "x", "relu"), add(root, "blk", "custom.skip"), link(root, "x", "blk")
    expand_custom(root, "blk")
    assert [e.src for e in root.incoming("blk_sum")] == ["x", "blk_inner"]


def test_expand_of_a_multi_input_block_wires_each_port():
    root = new_graph()
    body = Graph(root)
    add(body, "in", "input"), add(body, "in2", "input"), add(body, "d", "sub")
    add(body, "output", "output")
    body.connect("in2", "out", "d", "a")
    body.connect("in", "out", "d", "b")
    link(body, "d", "output")
    root.add_definition(BlockDefinition("custom.diff", "Diff", body))
    add(root, "p", "relu"), add(root, "q", "relu"), add(root, "blk", "custom.diff")
    root.connect("p", "out", "blk", "in")
    root.connect("q", "out", "blk", "in2")
    expand_custom(root, "blk")
    assert {e.dst_port: e.src for e in root.incoming("blk_d")} == {"a": "q", "b": "p"}


def test_a_failing_expand_leaves_the_document_untouched():
    g = chain_graph("flatten", "relu", "relu")
    sub = Subgraph([SubNode("c", "conv", {})], [], {"in": [("c", "in")]}, ("c", "out"))
    recorder = Recorder(g)
    before = snapshot(g)
    with pytest.raises(IncompatiblePortsError):  # a flat vector cannot feed the conv
        expand(g, "n1", sub)
    assert snapshot(g) == before and recorder.events == []
    broken = Subgraph([SubNode("c", "relu", {})], [], {"in": [("c", "in")]}, ("ghost", "out"))
    with pytest.raises(DefinitionError, match="inner node ‘ghost’"):
        expand(g, "n1", broken)
    with pytest.raises(DefinitionError, match="not a custom block"):
        expand_custom(g, "n1")
    assert snapshot(g) == before and recorder.events == []


# ----- collapse --------------------------------------------------------------------------------
def test_collapse_makes_a_block_with_exposed_parameters():
    g = chain_graph("conv", "relu", "dropout")
    g.set_params("n0", {"out_channels": 24, "kernel_size": 5})
    definition, node_id = collapse(g, ["n0", "n1"], "Conv ReLU",
                                   exposed={"width": [("n0", "out_channels")]})
    assert definition.type_id == "custom.conv_relu" and node_id == "conv_relu"
    assert definition.params == (ParamSpec("width", "int", 24, "", 1, 4096),)
    assert g.definitions["custom.conv_relu"] is definition
    assert g.node(node_id).params == {"width": 24}
    body = definition.graph
    assert body.node("n0").params["out_channels"] == "$width"
    assert body.node("n0").params["kernel_size"] == 5  # not exposed: kept as a literal
    assert [n.id for n in body.nodes_of_type("input")] == ["in"]
    assert set(g.edges) == {Edge("input", "out", node_id, "in"), Edge(node_id, "out", "n2", "in"),
                            Edge("n2", "out", "output", "in")}
    assert g.node(node_id).position == (0.0, 150.0)  # the centre of the selection
    g.set_params(node_id, {"width": 7})
    assert expand_custom(g, node_id) and g.node("conv_relu_n0").params["out_channels"] == 7


def test_collapse_of_a_selection_fed_from_two_places_gets_ports_in_and_in2():
    g = new_graph()
    for node_id, type_id in [("input", "input"), ("p", "relu"), ("q", "relu"), ("d", "sub"),
                             ("r", "relu"), ("output", "output")]:
        add(g, node_id, type_id)
    link(g, "input", "p"), link(g, "input", "q")
    g.connect("q", "out", "d", "a")
    g.connect("p", "out", "d", "b")
    link(g, "d", "r", "output")
    definition, node_id = collapse(g, ["d", "r"], "Diff")
    assert [p.name for p in definition.spec().inputs] == ["in", "in2"]
    assert [(e.src, e.dst_port) for e in g.incoming(node_id)] == [("q", "in"), ("p", "in2")]
    body = definition.graph
    assert [(e.src, e.dst_port) for e in body.incoming("d")] == [("in", "a"), ("in2", "b")]


def test_collapse_keeps_operand_order_inside_and_outside_the_block():
    g = residual_graph()
    g.disconnect(Edge("c2", "out", "sum", "in"))
    g.connect("c2", "out", "sum", "in")  # now the skip is the Add's first operand
    add(g, "cat", "concat"), add(g, "z", "relu")
    link(g, "stem", "z")
    g.disconnect(Edge("head", "out", "output", "in"))
    g.connect("head", "out", "cat", "in")  # the block's output will be Concat's first operand
    g.connect("z", "out", "cat", "in")
    link(g, "cat", "output")
    definition, node_id = collapse(g, ["c1", "r1", "c2", "sum", "head"], "Res")
    assert [e.src for e in definition.graph.incoming("sum")] == ["in", "c2"]
    assert [e.src for e in g.incoming("cat")] == [node_id, "z"]
    expand_custom(g, node_id)
    assert [e.src for e in g.incoming("res_sum")] == ["stem", "res_c2"]
    assert [e.src for e in g.incoming("cat")] == ["res_head", "z"]


SELECTION_ERRORS = [
    ([], "Select the nodes"),
    (["input", "n0"], "Input and Output nodes cannot go into a block"),
    (["n2", "output"], "Input and Output nodes cannot go into a block"),
    (["lone"], "has no input"),
    (["n2"], "Nothing leaves the selection"),
    (["n0", "side"], "2 different outputs leave the selection: n0.out, side.out"),
    (["n0", "n2"], "not one piece: the path through ‘n1’ leaves it and comes back through ‘n1’"),
]


@pytest.mark.parametrize("selection, message", SELECTION_ERRORS)
def test_collapse_refuses_selections_that_cannot_be_a_block(selection, message):
    g = chain_graph("conv", "relu", "relu")
    g.disconnect(Edge("n2", "out", "output", "in"))
    link(g, "n1", "output")
    add(g, "lone", "relu"), add(g, "side", "relu"), add(g, "sink", "relu")
    link(g, "lone", "sink")
    link(g, "n0", "side")
    add(g, "side_sink", "add"), link(g, "side", "side_sink")
    recorder = Recorder(g)
    before = snapshot(g)
    with pytest.raises(SelectionError, match=message):
        collapse(g, selection, "Block")
    assert snapshot(g) == before and recorder.events == [] and not g.definitions


def test_collapse_refuses_a_selection_whose_path_leaves_through_a_long_detour():
    g = residual_graph()
    before = snapshot(g)
    with pytest.raises(SelectionError,
                       match="path through ‘c1’ leaves it and comes back through ‘c2’"):
        collapse(g, ["stem", "sum"], "Broken")  # stem → c1 → r1 → c2 → sum leaves and re-enters
    g = chain_graph(*["relu"] * 6)
    g.disconnect(Edge("n5", "out", "output", "in"))
    link(g, "n4", "output")  # n5 becomes a dead end, so n0 gives the only output
    with pytest.raises(SelectionError, match="through ‘n1’ leaves it and comes back through ‘n4’"):
        collapse(g, ["n0", "n5"], "Broken")
    assert not g.definitions and snapshot(residual_graph()) == before


@pytest.mark.parametrize("exposed, message", [
    ({"w": [("n2", "out_channels")]}, "‘n2’ is not in the selection"),
    ({"w": [("n0", "stride")]}, "Node ‘n0’ has no parameter ‘stride’"),
    ({"w": [("n0", "out_channels"), ("n1", "out_channels")]}, "must hold the same value"),
    ({"w": []}, "bound to nothing"),
    ({"2w": [("n0", "out_channels")]}, "Block parameter name ‘2w’"),
    ({"w": [("n0", "out_channels")], "v": [("n0", "out_channels")]}, "bound to both ‘w’ and ‘v’"),
])
def test_collapse_refuses_bad_parameter_bindings(exposed, message):
    g = chain_graph("conv", "conv", "conv")
    g.set_params("n1", {"out_channels": 32})
    with pytest.raises(SelectionError, match=message):
        collapse(g, ["n0", "n1"], "Pair", exposed=exposed)
    assert not g.definitions and len(g) == 5


def test_one_block_parameter_may_bind_several_equal_values():
    g = chain_graph("conv", "conv")
    definition, _ = collapse(g, ["n0", "n1"], "Pair",
                             exposed={"w": [("n0", "out_channels"), ("n1", "out_channels")]})
    convs = definition.graph.nodes_of_type("conv")
    assert [n.params["out_channels"] for n in convs] == ["$w", "$w"]


def test_references_to_the_input_spec_become_parameters_the_new_node_passes_on():
    g = chain_graph("flatten", "linear")
    g.set_params("n1", {"out_features": "$classes"})
    definition, node_id = collapse(g, ["n0", "n1"], "Head")
    assert [(p.name, p.default) for p in definition.params] == [("classes", 10)]
    assert g.node(node_id).params == {"classes": "$classes"}
    assert definition.graph.node("n1").params["out_features"] == "$classes"
    expand_custom(g, node_id)
    assert g.node("head_n1").params["out_features"] == "$classes"


def test_collapse_renames_selected_nodes_that_clash_with_boundary_names():
    g = new_graph()
    add(g, "input", "input"), add(g, "output", "relu"), add(g, "in2", "relu")
    add(g, "end", "output")
    link(g, "input", "output", "in2", "end")
    definition, _ = collapse(g, ["output", "in2"], "Clash")
    body = definition.graph
    assert body.node("output").type_id == "output"
    assert body.node("output_1").type_id == "relu" and body.node("in2").type_id == "relu"


def test_collapsing_the_same_name_twice_gives_distinct_types():
    g = chain_graph("relu", "relu")
    first, _ = collapse(g, ["n0"], "Act")
    second, _ = collapse(g, ["n1"], "Act")
    assert (first.type_id, second.type_id) == ("custom.act", "custom.act_2")


def test_collapse_of_a_vector_layer_works_although_block_inputs_are_feature_maps_at_top():
    g = chain_graph("flatten", "linear")
    definition, _ = collapse(g, ["n1"], "Classifier")
    assert definition.graph.incoming("n1") == [Edge("in", "out", "n1", "in")]


# ----- round trips -----------------------------------------------------------------------------
def test_collapse_then_expand_restores_an_equivalent_graph():
    g = residual_graph()
    original = structure(g)
    positions = {n.id: n.position for n in g}
    _, node_id = collapse(g, ["c1", "r1", "c2", "sum"], "Basic",
                          exposed={"planes": [("c1", "out_channels"), ("c2", "out_channels")]})
    assert structure(g) != original
    new_ids = expand_custom(g, node_id)
    assert structure(g) == original
    for new_id in new_ids:  # the nodes come back where they were
        old_id = new_id.removeprefix(f"{node_id}_")
        assert g.node(new_id).position == pytest.approx(positions[old_id])


def test_collapse_emits_events_for_each_change_and_leaves_a_dag():
    g = residual_graph()
    recorder = Recorder(g)
    collapse(g, ["c1", "r1", "c2"], "Branch")
    kinds = recorder.kinds()
    assert kinds[0] == "DefinitionsChanged" and kinds.count("NodeRemoved") == 3
    assert kinds.count("NodeAdded") == 1 and kinds[-2:] == ["EdgeAdded", "EdgeAdded"]
    assert len(g.topological_order()) == len(g)


def test_nested_custom_blocks_resolve_and_expand_level_by_level():
    g = residual_graph()
    original = structure(g)
    inner, inner_id = collapse(g, ["c1", "r1"], "Inner")
    outer, outer_id = collapse(g, [inner_id, "c2", "sum"], "Outer")
    body = outer.graph
    assert body.node(inner_id).type_id == inner.type_id
    assert body.node_spec(inner_id).title == "Inner"  # found through the project's root graph
    assert g.depends_on(outer.type_id, inner.type_id)
    with pytest.raises(DefinitionError, match="still used by Outer/inner"):
        g.remove_definition(inner.type_id)
    expanded = expand_custom(g, outer_id)
    nested = next(i for i in expanded if g.node(i).type_id == inner.type_id)
    expand_custom(g, nested)
    assert structure(g) == original


def test_realistic_blocks_analyse_the_same_after_collapse_and_expand():
    pytest.importorskip("torch")
    from resnet_studio.blocks import CATALOGUE
    from resnet_studio.compiler import Analyzer
    from resnet_studio.graph import InputSpec

    g = Graph(CATALOGUE, InputSpec(channels=3, height=8, width=8, classes=10))
    kinds = [("input", {}), ("conv2d", {"out_channels": 8}), ("batchnorm2d", {}),
             ("relu", {}), ("conv2d", {"out_channels": 8}), ("batchnorm2d", {}), ("add", {}),
             ("relu", {}), ("adaptiveavgpool2d", {}), ("flatten", {}),
             ("linear", {"out_features": "$classes"}), ("output", {})]
    ids = [g.add_node(t, p, node_id=f"n{i}").id for i, (t, p) in enumerate(kinds)]
    link(g, *ids)
    g.connect("n1", "out", "n6", "in")  # the skip from the stem around conv-bn-relu-conv-bn
    before = Analyzer().analyze(g)
    assert before.ok, before.diagnostics
    _, node_id = collapse(g, ids[2:8], "Basic", exposed={"planes": [("n4", "out_channels")]})
    collapsed = Analyzer().analyze(g)
    assert collapsed.ok, collapsed.diagnostics
    assert collapsed.total_params == before.total_params
    expand_custom(g, node_id)
    after = Analyzer().analyze(g)
    assert after.ok and after.nodes["n10"].out_shape == before.nodes["n10"].out_shape
    assert after.total_params == before.total_params and after.total_macs == before.total_macs
