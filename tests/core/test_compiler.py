"""Shape inference, diagnostics, costs and building, on small hand-made graphs."""

from __future__ import annotations

import pytest
import torch

from resnet_studio.blocks import CATALOGUE, Call
from resnet_studio.compiler import Analyzer, BuildError, build
from resnet_studio.graph import Graph, InputSpec, collapse

OVERRIDES = {
    "groupnorm": {"groups": 4},
    "zeropadshortcut": {"out_channels": 12, "stride": 2},
    "squeezeexcite": {"reduction": 4},
}
TWO_PORT = {"subtract", "multiply"}
MULTI = {"add", "concat"}
SPEC = InputSpec(8, 12, 12, 10)  # frozen, so one instance serves as a default


def chain(*steps, spec=SPEC) -> Graph:
    """input → steps… → output, each step a (type, params) pair."""
    g = Graph(CATALOGUE, spec)
    g.add_node("input")
    prev = "input"
    for i, (type_id, params) in enumerate(steps):
        node = g.add_node(type_id, params, node_id=f"n{i}")
        g.connect(prev, "out", node.id, "in")
        prev = node.id
    g.add_node("output")
    g.connect(prev, "out", "output", "in")
    return g


def single_block_graph(type_id: str) -> Graph:
    g = Graph(CATALOGUE, InputSpec(8, 12, 12, 10))
    g.add_node("input")
    src = "input"
    if type_id == "linear":
        g.add_node("flatten")
        g.connect("input", "out", "flatten", "in")
        src = "flatten"
    params = dict(OVERRIDES.get(type_id, {}))
    if type_id == "linear":
        params["out_features"] = "$classes"
    g.add_node(type_id, params, node_id="block")
    spec = CATALOGUE.spec(type_id)
    for port in spec.inputs:
        g.connect(src, "out", "block", port.name)
        if port.multi:
            g.add_node("identity", node_id="other")
            g.connect(src, "out", "other", "in")
            g.connect("other", "out", "block", port.name)
    head = {"linear": [], "flatten": ["linear"]}.get(type_id,
                                                     ["adaptiveavgpool2d", "flatten", "linear"])
    prev = "block"
    for i, head_type in enumerate(head):
        params = {"out_features": "$classes"} if head_type == "linear" else {}
        g.add_node(head_type, params, node_id=f"head{i}")
        g.connect(prev, "out", f"head{i}", "in")
        prev = f"head{i}"
    g.add_node("output")
    g.connect(prev, "out", "output", "in")
    return g


# Heads give a pyramid or a task's output, not one tensor: test_blocks_heads checks them.
BLOCK_TYPES = [b.type_id for b in CATALOGUE
               if b.type_id not in ("input", "output") and b.spec.category != "Heads"]


@pytest.mark.parametrize("type_id", BLOCK_TYPES)
def test_every_block_infers_its_real_shape_and_parameter_count(type_id):
    g = single_block_graph(type_id)
    info = Analyzer().analyze(g).nodes["block"]
    assert info.problem is None, info.problem
    xs = [torch.randn(2, *shape) for shape in info.in_shapes]
    op = info.op
    if isinstance(op, Call):
        module = op.build().eval()
        assert info.params == sum(p.numel() for p in module.parameters())
        real = module(*xs)
    else:
        real = op.fn(*xs)
    assert tuple(real.shape[1:]) == info.out_shape
    assert build(g)(torch.randn(2, 8, 12, 12)).shape == (2, 10)


def test_add_with_mismatched_operands_suggests_a_strided_projection():
    g = chain(("conv2d", {"out_channels": 16, "stride": 2}))
    g.add_node("add", node_id="sum")
    g.connect("n0", "out", "sum", "in")
    g.connect("input", "out", "sum", "in")
    analysis = Analyzer().analyze(g)
    message = analysis.nodes["sum"].problem
    assert message.startswith("Add ‘sum’: inputs 16×6×6 and 8×12×12 differ")
    assert "1×1 projection with stride 2" in message


def test_add_with_different_channels_only_suggests_a_projection():
    g = chain(("conv2d", {"out_channels": 16}))
    g.add_node("add", node_id="sum")
    g.connect("n0", "out", "sum", "in")
    g.connect("input", "out", "sum", "in")
    assert "match the channel counts" in Analyzer().analyze(g).nodes["sum"].problem


def test_only_the_root_cause_is_reported_not_every_downstream_node():
    g = chain(("conv2d", {"out_channels": 4, "kernel_size": 31, "padding": 0}),
              ("relu", {}), ("flatten", {}), ("linear", {"out_features": 10}))
    analysis = Analyzer().analyze(g)
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    assert [d.node_id for d in errors] == ["n0"]
    assert "larger than the padded 12×12 input" in errors[0].message


def test_unconnected_input_port_is_named():
    g = chain(("relu", {}))
    g.add_node("conv2d", node_id="loose")
    analysis = Analyzer().analyze(g)
    assert analysis.nodes["loose"].problem == "Conv2d ‘loose’: input ‘in’ is not connected."


def test_linear_fed_a_feature_map_through_an_activation_explains_the_fix():
    g = chain(("relu", {}), ("linear", {"out_features": 10}))
    problem = Analyzer().analyze(g).nodes["n1"].problem
    assert "needs a feature vector but receives 8×12×12" in problem
    assert "Flatten" in problem


def test_output_class_count_mismatch_points_at_classes_reference():
    g = chain(("flatten", {}), ("linear", {"out_features": 7}))
    analysis = Analyzer().analyze(g)
    assert not analysis.ok
    assert "7 scores but the project has 10 classes" in analysis.nodes["output"].problem


def test_output_that_is_not_a_vector_is_reported():
    g = chain(("relu", {}))
    assert "one score per class" in Analyzer().analyze(g).nodes["output"].problem


def test_missing_input_and_output_nodes_are_diagnosed():
    g = Graph(CATALOGUE)
    g.add_node("relu")
    messages = [d.message for d in Analyzer().analyze(g).diagnostics]
    assert any("no Input node" in m for m in messages)
    assert any("no Output node" in m for m in messages)


def test_undefined_reference_is_reported_with_the_defined_names():
    g = chain(("flatten", {}), ("linear", {"out_features": "$clases"}))
    problem = Analyzer().analyze(g).nodes["n1"].problem
    assert "$clases" in problem and "$classes" in problem


def test_classes_reference_follows_the_input_spec():
    g = chain(("flatten", {}), ("linear", {"out_features": "$classes"}))
    g.set_input_spec(InputSpec(8, 12, 12, 3))
    analysis = Analyzer().analyze(g)
    assert analysis.ok and analysis.output_shape() == (3,)


def test_costs_follow_the_textbook_formulas():
    g = chain(("conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1, "bias": False}),
              ("flatten", {}), ("linear", {"out_features": 10}))
    analysis = Analyzer().analyze(g)
    conv, fc = analysis.nodes["n0"], analysis.nodes["n2"]
    assert conv.macs == 16 * 8 * 3 * 3 * 12 * 12
    assert conv.params == 16 * 8 * 9
    assert fc.macs == 16 * 12 * 12 * 10
    assert analysis.total_flops == 2 * (conv.macs + fc.macs)
    assert conv.activation_bytes == 16 * 12 * 12 * 4
    assert analysis.activation_bytes(32) == 32 * analysis.activation_bytes(1)


def test_edits_are_picked_up_by_a_reused_analyzer():
    analyzer = Analyzer()
    g = chain(("conv2d", {"out_channels": 16}), ("relu", {}))
    assert analyzer.analyze(g).nodes["n1"].out_shape == (16, 12, 12)
    g.set_params("n0", {"out_channels": 32, "stride": 2})
    assert analyzer.analyze(g).nodes["n1"].out_shape == (32, 6, 6)


def test_build_refuses_a_broken_graph_listing_the_problems():
    g = chain(("flatten", {}), ("linear", {"out_features": 7}))
    with pytest.raises(BuildError) as info:
        build(g)
    assert "7 scores" in str(info.value)
    assert info.value.diagnostics


def test_parameter_free_operations_are_not_registered_as_modules():
    g = chain(("conv2d", {"out_channels": 4}), ("relu", {}), ("flatten", {}),
              ("linear", {"out_features": 10}))
    names = [name for name, _ in build(g).named_children()]
    assert names == ["n0", "n1", "n3"]


def test_build_initialises_like_torchvision():
    g = chain(("conv2d", {"out_channels": 64}), ("batchnorm2d", {}), ("flatten", {}),
              ("linear", {"out_features": 10}))
    net = build(g)
    std = net.n0.weight.std().item()
    expected = (2.0 / (64 * 9)) ** 0.5  # Kaiming normal, fan_out
    assert abs(std - expected) / expected < 0.15
    assert torch.all(net.n1.weight == 1) and torch.all(net.n1.bias == 0)


def test_custom_block_compiles_like_the_nodes_it_replaced():
    g = chain(("conv2d", {"out_channels": 8}), ("batchnorm2d", {}), ("relu", {}),
              ("flatten", {}), ("linear", {"out_features": 10}))
    before = Analyzer().analyze(g)
    _, node_id = collapse(g, ["n0", "n1", "n2"], "Conv BN ReLU",
                          exposed={"channels": [("n0", "out_channels")]})
    after = Analyzer().analyze(g)
    assert after.ok, after.diagnostics
    assert after.nodes[node_id].out_shape == before.nodes["n2"].out_shape
    assert after.total_params == before.total_params
    assert after.total_macs == before.total_macs
    g.set_params(node_id, {"channels": 4})
    assert Analyzer().analyze(g).nodes[node_id].out_shape == (4, 12, 12)
    net = build(g)
    assert net(torch.randn(2, 8, 12, 12)).shape == (2, 10)


def test_problem_inside_a_custom_block_is_reported_on_the_block_node():
    g = chain(("conv2d", {"out_channels": 8}), ("groupnorm", {"groups": 4}),
              ("flatten", {}), ("linear", {"out_features": 10}))
    _, node_id = collapse(g, ["n0", "n1"], "Conv GN",
                          exposed={"channels": [("n0", "out_channels")]})
    g.set_params(node_id, {"channels": 6})
    problem = Analyzer().analyze(g).nodes[node_id].problem
    assert "inside block ‘Conv GN’" in problem and "groups=4" in problem
