"""Presets: every one builds cleanly, torchvision's ResNets are reproduced exactly, the CIFAR
ResNets have the paper's sizes, and plain twins really have no skip connections."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
import torchvision
from torch import nn

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build
from resnet_studio.graph import Graph, InputSpec, collapse
from resnet_studio.graph.layout import RANK_GAP, READING_ASPECT, band_ranks, main_path
from resnet_studio.presets import (
    DEFAULT_PRESET,
    PRESETS,
    Preset,
    UnknownPresetError,
    create,
    plain_twin,
)

TORCHVISION = sorted(p.name for p in PRESETS.values() if p.torchvision_name)
# torchvision's ResNets; ConvNeXt-T, the other torchvision preset, has tests of its own.
TORCHVISION_RESNETS = [n for n in TORCHVISION if PRESETS[n].family == "ImageNet ResNet"]
CIFAR_DEPTHS = (20, 32, 44, 56, 110)
# He et al. 2015, Table 6 (CIFAR-10): parameters in millions, as printed.
PAPER_PARAMS = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


# One analyser for the whole module: its cache makes the many identical blocks and repeated
# presets cost one meta-device run each.
ANALYZER = Analyzer()


def analyse(graph: Graph):
    return ANALYZER.analyze(graph)


def cifar_param_count(depth: int, classes: int = 10) -> int:
    """Parameters of the paper's CIFAR ResNet counted by hand: 3×3 convolutions without bias,
    BatchNorm weight and bias per channel, parameter-free option A shortcuts, one fc."""
    n = (depth - 2) // 6
    total = 3 * 16 * 9 + 2 * 16
    c_in = 16
    for width in (16, 32, 64):
        for _ in range(n):
            total += c_in * width * 9 + width * width * 9 + 4 * width
            c_in = width
    return total + 64 * classes + classes


def outputs_vary_with_input(net: nn.Module, spec: InputSpec) -> bool:
    torch.manual_seed(0)
    x = torch.randn(4, spec.channels, spec.height, spec.width)
    with torch.no_grad():
        y = net.eval()(x)
    return not torch.allclose(y, y[:1].expand_as(y))


def silence_last_block(net: nn.Module, node_id: str) -> None:
    """Zero every parameter of the last residual block under ``node_id``: its branch then
    outputs zero, so only a skip connection can carry the input any further."""
    module = net.get_submodule(node_id)
    block = module[-1] if isinstance(module, nn.Sequential) else module
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()


# ----- the gallery -----------------------------------------------------------------------------
def test_gallery_holds_the_promised_presets():
    expected = {"small_resnet", "mnist_plain_cnn", "mnist_small_resnet", "wide_resnet28_10",
                "preact_resnet18", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                "resnext50_32x4d", "wide_resnet50_2", "resnet50d", "res2net50_26w_4s",
                "resnetrs50", "seresnext50_32x4d", "resnet20d", "res2net20", "seresnet20b",
                "convnext_tiny"}
    expected |= {f"{kind}{d}" for kind in ("resnet", "plain") for d in CIFAR_DEPTHS}
    assert set(PRESETS) == expected
    assert DEFAULT_PRESET == "small_resnet" and next(iter(PRESETS)) == DEFAULT_PRESET
    for name, preset in PRESETS.items():
        assert isinstance(preset, Preset) and preset.name == name
        assert preset.title and preset.family and len(preset.description) > 40


def test_torchvision_names_are_torchvision_models():
    assert sorted(["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                   "resnext50_32x4d", "wide_resnet50_2", "convnext_tiny"]) == TORCHVISION
    assert sorted(set(TORCHVISION) - {"convnext_tiny"}) == TORCHVISION_RESNETS
    for name in TORCHVISION:
        preset = PRESETS[name]
        assert preset.torchvision_name == name
        assert preset.default_input == InputSpec(3, 224, 224, 1000)
        assert callable(getattr(torchvision.models, name))


def test_unknown_preset_lists_known_names():
    with pytest.raises(KeyError) as info:
        create("reznet18")
    message = str(info.value)
    assert isinstance(info.value, UnknownPresetError)
    assert "reznet18" in message and "Did you mean ‘resnet18’?" in message
    assert all(name in message for name in PRESETS)


def test_a_bad_input_spec_names_the_field():
    with pytest.raises(ValueError, match="classes"):
        create("resnet20", InputSpec(3, 32, 32, classes=0))


# ----- every preset ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_has_no_diagnostics_and_builds(name):
    graph = create(name)
    analysis = analyse(graph)
    assert analysis.diagnostics == []
    spec = PRESETS[name].default_input
    assert analysis.output_shape() == (spec.classes,)
    assert graph.name == name
    if name in TORCHVISION or PRESETS[name].timm_name:
        return  # built and run against torchvision or timm, at a smaller input size
    net = build(graph, analysis)
    with torch.no_grad():
        y = net.eval()(torch.randn(1, spec.channels, spec.height, spec.width))
    assert y.shape == (1, spec.classes) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["resnet20", "small_resnet", "resnet50"])
def test_preset_is_laid_out_with_its_trunk_in_reading_order(name):
    """Top to bottom, wrapped into bands side by side (newspaper columns) for a wide canvas:
    each node sits right under the one before, or at the top of the next band to the right."""
    graph = create(name)
    trunk = main_path(graph)
    assert trunk[0] == "input" and trunk[-1] == "output" and len(trunk) == len(graph)
    per_band = band_ranks(len(trunk), 1, READING_ASPECT)
    assert 1 < per_band < len(trunk)  # wrapped, neither one tall column nor one long row
    positions = [graph.node(n).position for n in trunk]
    assert positions[0] == (0.0, 0.0)
    for rank, ((x0, y0), (x1, y1)) in enumerate(pairwise(positions), 1):
        if rank % per_band:
            assert (x1, y1) == (x0, y0 + RANK_GAP)
        else:
            assert y1 == 0.0 and x1 > x0


def test_other_input_size_and_class_count():
    cases = [("resnet20", InputSpec(1, 40, 24, classes=5)),
             ("mnist_small_resnet", InputSpec(1, 32, 32, classes=3)),
             ("small_resnet", InputSpec(3, 16, 16, classes=100))]
    for name, spec in cases:
        graph = create(name, spec)
        analysis = analyse(graph)
        assert analysis.diagnostics == []
        net = build(graph, analysis)
        with torch.no_grad():
            assert net.eval()(torch.randn(2, spec.channels, spec.height, spec.width)).shape == \
                (2, spec.classes)


# ----- torchvision ------------------------------------------------------------------------------
def randomise_batchnorm(model: nn.Module) -> None:
    """Make BatchNorm non-trivial so a misplaced norm layer cannot go unnoticed in eval mode."""
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)


@pytest.mark.parametrize("name", TORCHVISION_RESNETS)
def test_identical_to_torchvision(name):
    # 40×40 keeps the test quick yet leaves layer4 a 2×2 map, and its odd sizes (5×5 after
    # layer3) check that every stride and padding agrees with torchvision's.
    spec = InputSpec(3, 40, 40, classes=1000)
    graph = create(name, spec)
    assert list(graph.nodes) == ["input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                 "layer3", "layer4", "avgpool", "flatten", "fc", "output"]
    net = build(graph, analyse(graph), initialise=False)
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)(weights=None)
    randomise_batchnorm(reference)
    assert [n for n, _ in net.named_children()] == [n for n, _ in reference.named_children()]
    ours, theirs = net.state_dict(), reference.state_dict()
    assert set(ours) == set(theirs)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    net.load_state_dict(theirs, strict=True)
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        ours, theirs = net.eval()(x), reference.eval()(x)
    assert torch.isfinite(theirs).all() and theirs.std() > 0
    assert torch.equal(ours, theirs)  # the same operations in the same order: bit for bit


# ----- CIFAR ResNets and plain twins -------------------------------------------------------------
@pytest.mark.parametrize("depth", CIFAR_DEPTHS)
def test_cifar_resnet_has_the_papers_parameter_count(depth):
    count = analyse(create(f"resnet{depth}")).total_params
    assert count == cifar_param_count(depth)
    digits = 1 if depth == 110 else 2
    assert round(count / 1e6, digits) == PAPER_PARAMS[depth]


@pytest.mark.parametrize("depth", CIFAR_DEPTHS)
def test_plain_twin_has_the_same_parameters_and_no_shortcut(depth):
    residual, plain = create(f"resnet{depth}"), create(f"plain{depth}")
    assert analyse(plain).total_params == analyse(residual).total_params
    assert list(plain.nodes) == list(residual.nodes)
    assert {n.params["shortcut"] for n in residual.nodes_of_type("stage")} == {"A"}
    assert {n.params["shortcut"] for n in plain.nodes_of_type("stage")} == {"none"}


@pytest.mark.parametrize("pair", [("resnet20", "plain20", "layer3"),
                                  ("mnist_small_resnet", "mnist_plain_cnn", "res2"),
                                  ("small_resnet", None, "layer3")])
def test_only_the_residual_network_carries_the_input_past_a_silent_block(pair):
    residual_name, plain_name, node_id = pair
    spec = PRESETS[residual_name].default_input
    residual = create(residual_name)
    plain = create(plain_name) if plain_name else plain_twin(residual)
    for graph, carries in ((residual, True), (plain, False)):
        torch.manual_seed(0)
        net = build(graph, analyse(graph))
        silence_last_block(net, node_id)
        assert outputs_vary_with_input(net, spec) is carries


def test_wide_resnet_28_10_has_the_papers_size():
    # Zagoruyko & Komodakis 2016, Table 1 / GitHub README: WRN-28-10 has 36.5M parameters.
    graph = create("wide_resnet28_10")
    assert round(analyse(graph).total_params / 1e6, 1) == 36.5
    assert {n.params["planes"] for n in graph.nodes_of_type("stage")} == {160, 320, 640}
    assert {n.params["dropout"] for n in graph.nodes_of_type("stage")} == {0.3}


def test_preact_resnet18_ends_with_norm_and_activation():
    graph = create("preact_resnet18")
    assert main_path(graph)[-6:] == ["bn", "relu", "avgpool", "flatten", "fc", "output"]
    assert [n.params["blocks"] for n in graph.nodes_of_type("stage")] == [2, 2, 2, 2]


# ----- plain_twin on primitive residuals ---------------------------------------------------------
def primitive_graph(nodes, edges) -> Graph:
    g = Graph(CATALOGUE, InputSpec(3, 8, 8, 4), name="tiny")
    head = [("input", "input", {}), ("stem", "conv2d", {"out_channels": 4}), ("act", "relu", {}),
            ("sum", "add", {}), ("pool", "adaptiveavgpool2d", {}), ("flat", "flatten", {}),
            ("fc", "linear", {"out_features": "$classes"}), ("output", "output", {})]
    for node_id, type_id, params in head + nodes:
        g.add_node(type_id, params, node_id=node_id)
    tail = [("input", "stem"), ("stem", "act"), ("sum", "pool"), ("pool", "flat"), ("flat", "fc"),
            ("fc", "output")]
    for src, dst in tail + edges:
        g.connect(src, "out", dst, "in")
    return g


def primitive_residual() -> Graph:
    """One residual block spelled out in primitives: act → conv1 → bn1 → relu1 → conv2 → bn2
    → sum, plus a strided projection shortcut act → proj → proj_bn → sum, connected first."""
    conv = {"out_channels": 8}
    nodes = [("proj", "conv2d", {"out_channels": 8, "kernel_size": 1, "stride": 2, "padding": 0}),
             ("proj_bn", "batchnorm2d", {}), ("conv1", "conv2d", dict(conv, stride=2)),
             ("bn1", "batchnorm2d", {}), ("relu1", "relu", {}), ("conv2", "conv2d", conv),
             ("bn2", "batchnorm2d", {})]
    edges = [("act", "proj"), ("proj", "proj_bn"), ("proj_bn", "sum"), ("act", "conv1"),
             ("conv1", "bn1"), ("bn1", "relu1"), ("relu1", "conv2"), ("conv2", "bn2"),
             ("bn2", "sum")]
    return primitive_graph(nodes, edges)


def test_plain_twin_of_primitives_drops_the_shortcut_branch():
    graph = primitive_residual()
    twin = plain_twin(graph)
    assert set(graph.nodes) - set(twin.nodes) == {"proj", "proj_bn"}
    assert twin.node("sum").type_id == "identity"
    assert [(e.src, e.dst) for e in twin.incoming("sum")] == [("bn2", "sum")]
    assert twin.node("sum").position == graph.node("sum").position
    assert analyse(twin).diagnostics == []
    assert twin.name == "tiny_plain"
    assert graph.node("sum").type_id == "add" and len(graph.incoming("sum")) == 2  # untouched


def test_plain_twin_keeps_parallel_branches_of_equal_length():
    nodes = [(f"{b}{i}", "conv2d", {"out_channels": 4}) for b in "ab" for i in (1, 2)]
    edges = [("act", "a1"), ("a1", "a2"), ("a2", "sum"), ("act", "b1"), ("b1", "b2"),
             ("b2", "sum")]
    graph = primitive_graph(nodes, edges)
    twin = plain_twin(graph)
    assert twin.node("sum").type_id == "add" and len(twin.incoming("sum")) == 2
    assert set(twin.nodes) == set(graph.nodes)
    assert analyse(twin).diagnostics == []


def test_plain_twin_reaches_into_custom_blocks():
    graph = primitive_residual()
    inside = ["proj", "proj_bn", "conv1", "bn1", "relu1", "conv2", "bn2", "sum"]
    definition, _ = collapse(graph, inside, "My block")
    twin = plain_twin(graph)
    body = twin.definitions[definition.type_id].graph
    assert "proj" not in body.nodes and body.node("sum").type_id == "identity"
    assert "proj" in definition.graph.nodes  # the original definition is untouched
    assert analyse(twin).diagnostics == []
    assert analyse(twin).total_params < analyse(graph).total_params
