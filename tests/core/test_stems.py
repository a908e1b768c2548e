"""Stem blocks: the deep stem of ResNet-C/D and the Conv-BN-ReLU unit build the layers they
promise, expand into primitives computing the same function, and explain bad inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build, generate_source
from resnet_studio.graph import Graph, InputSpec, expand

CASES = {
    "deep": ("deepstem", {"first": 8, "second": 12, "out_channels": 16, "stride": 2}),
    "deep-unstrided": ("deepstem", {"first": 4, "second": 4, "out_channels": 4, "stride": 1}),
    "convbnrelu": ("convbnrelu", {"out_channels": 6, "stride": 2}),
    "convbnrelu-k5": ("convbnrelu", {"out_channels": 6, "kernel_size": 5, "stride": 1}),
}


def stem_graph(type_id: str, params: dict, size: int = 12) -> Graph:
    g = Graph(CATALOGUE, InputSpec(3, size, size, 5))
    for node_id, kind, values in (("input", "input", {}), ("stem", type_id, params),
                                  ("pool", "adaptiveavgpool2d", {}), ("flat", "flatten", {}),
                                  ("fc", "linear", {"out_features": "$classes"}),
                                  ("output", "output", {})):
        g.add_node(kind, values, node_id=node_id)
    for src, dst in (("input", "stem"), ("stem", "pool"), ("pool", "flat"), ("flat", "fc"),
                     ("fc", "output")):
        g.connect(src, "out", dst, "in")
    return g


def randomise(net: nn.Module) -> None:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point() and tensor.dim() <= 1:
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)


def test_deep_stem_is_timms_conv1():
    g = stem_graph(*CASES["deep"])
    stem = build(g).stem
    assert [type(m) for m in stem] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 2 + [nn.Conv2d]
    assert [m.out_channels for m in stem if isinstance(m, nn.Conv2d)] == [8, 12, 16]
    assert [m.stride for m in stem if isinstance(m, nn.Conv2d)] == [(2, 2), (1, 1), (1, 1)]
    assert all(m.bias is None for m in stem if isinstance(m, nn.Conv2d))
    assert Analyzer().analyze(g).nodes["stem"].out_shape == (16, 6, 6)


@pytest.mark.parametrize("case", CASES)
def test_expansion_and_source_compute_the_same_function(case):
    g, flat = stem_graph(*CASES[case]), stem_graph(*CASES[case])
    info = Analyzer().analyze(flat).nodes["stem"]
    expand(flat, "stem", CATALOGUE.get(CASES[case][0]).expand(info.resolved, info.in_shapes))
    assert "stem" not in flat.nodes and "stem_0" in flat.nodes
    net, flat_net = build(g).eval(), build(flat).eval()
    randomise(net)
    # stem.3.weight (module index 3) is the expanded node stem_3
    state = {k.replace("stem.", "stem_", 1): v for k, v in net.state_dict().items()}
    flat_net.load_state_dict(state, strict=True)
    namespace: dict = {}
    exec(compile(generate_source(g), "model.py", "exec"), namespace)
    generated = namespace["Net"]().eval()
    generated.load_state_dict(net.state_dict(), strict=True)
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(flat_net(x), net(x))
        torch.testing.assert_close(generated(x), net(x))


def test_a_vector_input_is_explained():
    g = Graph(CATALOGUE, InputSpec(3, 8, 8, 5))
    for node_id, kind in (("input", "input"), ("flat", "flatten"), ("any", "identity"),
                          ("stem", "deepstem")):
        g.add_node(kind, node_id=node_id)
    g.connect("input", "out", "flat", "in")
    g.connect("flat", "out", "any", "in")
    g.connect("any", "out", "stem", "in")
    messages = [d.message for d in Analyzer().analyze(g).diagnostics if d.node_id == "stem"]
    assert "Deep stem ‘stem’: a stem needs a feature map (C×H×W) but receives 192; put it " \
        "right after the Input." in messages
