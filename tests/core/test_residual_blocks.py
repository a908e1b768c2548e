"""Residual blocks and stages: inferred shapes and parameter counts, shortcut options,
diagnostics, expansions equivalent to the blocks, zero-initialised residuals, generated-source
completeness and torchvision compatibility."""

from __future__ import annotations

import ast
import inspect
from itertools import pairwise

import pytest
import torch
from torch import nn
from torchvision.models import resnet as tv

from resnet_studio.blocks import CATALOGUE, Call, family_modules, residual_modules
from resnet_studio.blocks.layers import LayerScale, ZeroPadShortcut
from resnet_studio.compiler import Analyzer, build
from resnet_studio.graph import Graph, InputSpec, expand

H = W = 16
RESIDUAL_TYPES = [b.type_id for b in CATALOGUE.categories()["Residual blocks"]]

# case id: (type id, parameters, input channels)
CASES = {
    "basic-identity": ("basicblock", {"planes": 8}, 8),
    "basic-auto-s2": ("basicblock", {"planes": 16, "stride": 2}, 8),
    "basic-auto-widen": ("basicblock", {"planes": 12}, 8),
    "basic-A-s2": ("basicblock", {"planes": 16, "stride": 2, "shortcut": "A"}, 8),
    "basic-A-identity": ("basicblock", {"planes": 8, "shortcut": "A"}, 8),
    "basic-D-s2": ("basicblock", {"planes": 16, "stride": 2, "shortcut": "D"}, 8),
    "basic-D-s3-odd": ("basicblock", {"planes": 16, "stride": 3, "shortcut": "D"}, 8),
    "basic-D-widen": ("basicblock", {"planes": 16, "shortcut": "D"}, 8),
    "basic-none-s2": ("basicblock", {"planes": 16, "stride": 2, "shortcut": "none"}, 8),
    "bottleneck-identity": ("bottleneck", {"planes": 4}, 16),
    "bottleneck-auto": ("bottleneck", {"planes": 4}, 8),
    "bottleneck-auto-s2": ("bottleneck", {"planes": 4, "stride": 2}, 8),
    "bottleneck-A-s2": ("bottleneck", {"planes": 4, "stride": 2, "shortcut": "A"}, 8),
    "bottleneck-D-s2": ("bottleneck", {"planes": 4, "stride": 2, "shortcut": "D"}, 8),
    "bottleneck-none": ("bottleneck", {"planes": 4, "shortcut": "none"}, 8),
    "bottleneck-resnext": ("bottleneck", {"planes": 16, "groups": 4, "width_per_group": 8,
                                          "expansion": 2}, 8),
    "bottleneck-wide": ("bottleneck", {"planes": 4, "width_per_group": 128}, 8),
    "sebottleneck-identity": ("sebottleneck", {"planes": 4, "reduction": 4}, 16),
    "sebottleneck-D-s2": ("sebottleneck", {"planes": 4, "stride": 2, "groups": 2,
                                           "width_per_group": 32, "shortcut": "D"}, 8),
    "sebottleneck-none": ("sebottleneck", {"planes": 4, "shortcut": "none"}, 8),
    "res2net-identity": ("res2net", {"planes": 8}, 32),
    "res2net-first-widen": ("res2net", {"planes": 8}, 16),
    "res2net-s2": ("res2net", {"planes": 8, "stride": 2, "scale": 3}, 16),
    "res2net-D-s2": ("res2net", {"planes": 8, "stride": 2, "shortcut": "D"}, 16),
    "res2net-grouped": ("res2net", {"planes": 8, "groups": 2, "width_per_group": 16,
                                    "scale": 5}, 32),
    "res2net-scale1": ("res2net", {"planes": 8, "scale": 1}, 32),
    "res2net-none-s2": ("res2net", {"planes": 8, "stride": 2, "shortcut": "none"}, 16),
    "preact-identity": ("preactblock", {"planes": 8}, 8),
    "preact-s2": ("preactblock", {"planes": 16, "stride": 2}, 8),
    "preact-dropout": ("preactblock", {"planes": 8, "dropout": 0.3}, 8),
    "preact-none-s2": ("preactblock", {"planes": 16, "stride": 2, "shortcut": "none"}, 8),
    "se-identity": ("sebasicblock", {"planes": 8, "reduction": 4}, 8),
    "se-s2": ("sebasicblock", {"planes": 16, "stride": 2, "reduction": 4}, 8),
    "se-none": ("sebasicblock", {"planes": 8, "shortcut": "none"}, 8),
    "scaled-identity": ("scaledresidual", {"planes": 8, "init": 0.5}, 8),
    "scaled-auto-s2": ("scaledresidual", {"planes": 16, "stride": 2}, 8),
    "scaled-A-s2": ("scaledresidual", {"planes": 16, "stride": 2, "shortcut": "A"}, 8),
    "scaled-D-s2": ("scaledresidual", {"planes": 16, "stride": 2, "shortcut": "D"}, 8),
    "scaled-none": ("scaledresidual", {"planes": 8, "shortcut": "none"}, 8),
    "resnorm-identity": ("resnormblock", {"planes": 8}, 8),
    "resnorm-auto-s2": ("resnormblock", {"planes": 16, "stride": 2}, 8),
    "resnorm-A-s2": ("resnormblock", {"planes": 16, "stride": 2, "shortcut": "A"}, 8),
    "resnorm-D-s2": ("resnormblock", {"planes": 16, "stride": 2, "shortcut": "D"}, 8),
    "resnorm-none": ("resnormblock", {"planes": 8, "shortcut": "none"}, 8),
    "fusion-identity": ("fusionblock", {"planes": 8}, 8),
    "fusion-auto-s2": ("fusionblock", {"planes": 16, "stride": 2}, 8),
    "fusion-A-s2": ("fusionblock", {"planes": 16, "stride": 2, "shortcut": "A"}, 8),
    "fusion-D-s2": ("fusionblock", {"planes": 16, "stride": 2, "shortcut": "D"}, 8),
    "fusion-none": ("fusionblock", {"planes": 8, "shortcut": "none"}, 8),
    "convnext": ("convnextblock", {}, 8),
    "convnext-k3-noscale": ("convnextblock", {"kernel_size": 3, "expansion": 2,
                                              "layer_scale": 0.0}, 8),
    "convnext-droppath": ("convnextblock", {"drop_path": 0.2, "layer_scale": 0.5}, 8),
    "convnext-none": ("convnextblock", {"shortcut": "none"}, 8),
    "cnblock": ("cnblock", {}, 8),
    "cnblock-k3-noscale": ("cnblock", {"kernel_size": 3, "expansion": 2, "layer_scale": 0.0}, 8),
    "cnblock-droppath": ("cnblock", {"drop_path": 0.2, "layer_scale": 0.5}, 8),
    "cnblock-none": ("cnblock", {"shortcut": "none"}, 8),
    "simple": ("simpleresidual", {}, 8),
    "simple-k5": ("simpleresidual", {"kernel_size": 5}, 8),
    "simple-none": ("simpleresidual", {"shortcut": "none"}, 8),
    "stage-basic-s2": ("stage", {"planes": 16, "stride": 2}, 8),
    "stage-bottleneck-D": ("stage", {"block": "bottleneck", "blocks": 3, "planes": 4,
                                     "stride": 2, "shortcut": "D"}, 8),
    "stage-preact-identity": ("stage", {"block": "preactblock", "planes": 16,
                                        "shortcut": "identity", "dropout": 0.1}, 8),
    "stage-res2net": ("stage", {"block": "res2net", "blocks": 3, "planes": 4, "stride": 2,
                                "width_per_group": 26, "scale": 4, "shortcut": "D"}, 8),
    "stage-sebottleneck": ("stage", {"block": "sebottleneck", "blocks": 2, "planes": 4,
                                     "reduction": 4}, 8),
    "stage-se": ("stage", {"block": "sebasicblock", "planes": 16, "reduction": 4}, 8),
    "stage-scaled": ("stage", {"block": "scaledresidual", "planes": 16, "init": 0.25}, 8),
    "stage-resnorm-A": ("stage", {"block": "resnormblock", "planes": 16, "stride": 2,
                                  "shortcut": "A"}, 8),
    "stage-fusion-none": ("stage", {"block": "fusionblock", "planes": 8, "shortcut": "none"}, 8),
    "stage-convnext": ("stage", {"block": "convnextblock", "planes": 8, "layer_scale": 0.1}, 8),
    "stage-cnblock": ("stage", {"block": "cnblock", "blocks": 3, "planes": 8,
                                "layer_scale": 0.1}, 8),
    "stage-simple-k5": ("stage", {"block": "simpleresidual", "planes": 8, "blocks": 3,
                                  "kernel_size": 5}, 8),
}


# One analyser for the whole module: its cache computes the many identical nodes once.
ANALYZER = Analyzer()


def analyze(graph: Graph):
    return ANALYZER.analyze(graph)


def build_net(graph: Graph, **kwargs) -> nn.Module:
    return build(graph, ANALYZER.analyze(graph), **kwargs)


def block_graph(type_id: str, params: dict, channels: int, *, flatten_first: bool = False) -> Graph:
    """input → block ‘blk’ → flatten → output, with as many classes as the block gives
    numbers, so that the whole block output is compared and the graph builds."""
    g = Graph(CATALOGUE, InputSpec(channels, H, W, 1))
    g.add_node("input")
    source = "input"
    if flatten_first:  # a vector can only reach the block through an untyped port
        g.add_node("flatten", node_id="pre")
        g.add_node("identity", node_id="untyped")
        g.connect("input", "out", "pre", "in")
        g.connect("pre", "out", "untyped", "in")
        source = "untyped"
    g.add_node(type_id, params, node_id="blk")
    g.add_node("flatten")
    g.add_node("output")
    g.connect(source, "out", "blk", "in")
    g.connect("blk", "out", "flatten", "in")
    g.connect("flatten", "out", "output", "in")
    shape = analyze(g).nodes["blk"].out_shape
    if shape is not None:
        g.set_input_spec(InputSpec(channels, H, W, int(torch.Size(shape).numel())))
    return g


def expand_all(g: Graph) -> None:
    """Expand composite nodes until only primitive blocks remain (a stage takes two rounds)."""
    while True:
        analysis = analyze(g)
        composite = [n for n in g if CATALOGUE.get(n.type_id).expand is not None]
        if not composite:
            return
        for node in composite:
            info = analysis.nodes[node.id]
            sub = CATALOGUE.get(node.type_id).expand(info.resolved, info.in_shapes)
            expand(g, node.id, sub)


def randomise(net: nn.Module, seed: int = 0) -> None:
    """Give norms, scales and running statistics non-trivial values (convolutions keep
    their Kaiming initialisation), so that every layer matters in a comparison."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point() and (tensor.dim() <= 1 or tensor.dim() == 3):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)


# torchvision's CNBlock names (Linear layers on channels last) → its expansion's (1×1 convs).
CNBLOCK_PARTS = {"block.0.": "dwconv.", "block.2.": "norm.", "block.3.": "pwconv1.",
                 "block.5.": "pwconv2."}


def cnblock_as_convolutions(key: str, value: torch.Tensor) -> tuple[str, torch.Tensor]:
    """A CNBlock state_dict entry under the name and shape its expansion gives it."""
    if key.endswith(".layer_scale"):
        return key + ".gamma", value
    for part, name in CNBLOCK_PARTS.items():
        if f".{part}" in key:
            key = key.replace(f".{part}", f".{name}")
            if name.startswith("pwconv") and value.dim() == 2:
                value = value[:, :, None, None]
    return key, value


def map_to_expansion(block_state: dict, flat_state: dict) -> dict:
    """``blk.downsample.0.weight`` → ``blk_downsample_0.weight`` (longest module path that
    exists in the expansion); fails on any key without a counterpart."""
    mapped = {}
    for key, value in (cnblock_as_convolutions(*item) for item in block_state.items()):
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            candidate = "_".join(parts[:cut]) + "." + ".".join(parts[cut:])
            if candidate in flat_state:
                mapped[candidate] = value
                break
        else:
            pytest.fail(f"the expansion has no counterpart for {key}")
    assert len(mapped) == len(block_state) == len(flat_state)
    return mapped


def sample(channels: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, channels, H, W, generator=torch.Generator().manual_seed(1))


# ----- catalogue ---------------------------------------------------------------------------------
def test_catalogue_lists_the_residual_blocks_and_the_stage():
    assert RESIDUAL_TYPES == ["basicblock", "bottleneck", "sebottleneck", "res2net",
                              "preactblock", "sebasicblock",
                              "scaledresidual", "resnormblock", "fusionblock", "convnextblock",
                              "cnblock", "simpleresidual"]
    assert [b.type_id for b in CATALOGUE.categories()["Stages"]] == ["stage"]
    for type_id in RESIDUAL_TYPES + ["stage"]:
        block = CATALOGUE.get(type_id)
        assert block.expand is not None and block.check is not None
        assert "none" in block.spec.param("shortcut").choices
    assert set(CATALOGUE.spec("stage").param("block").choices) == set(RESIDUAL_TYPES)


def test_every_type_is_covered_by_the_cases():
    covered = {type_id for type_id, _, _ in CASES.values()}
    covered |= {p["block"] for t, p, _ in CASES.values() if t == "stage" and "block" in p}
    assert covered == set(RESIDUAL_TYPES) | {"stage"}


# ----- shapes, parameter counts, expansion -------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_inferred_shape_and_parameter_count_match_the_module(case):
    type_id, params, channels = CASES[case]
    g = block_graph(type_id, params, channels)
    info = analyze(g).nodes["blk"]
    module = build_net(g).blk.eval()
    out = module(sample(channels))
    assert tuple(out.shape[1:]) == info.out_shape
    assert info.params == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("case", CASES)
def test_expansion_computes_the_same_function(case):
    type_id, params, channels = CASES[case]
    g = block_graph(type_id, params, channels)
    flat = block_graph(type_id, params, channels)
    expand_all(flat)
    assert all(CATALOGUE.get(n.type_id).expand is None for n in flat)
    block_analysis, flat_analysis = analyze(g), analyze(flat)
    assert flat_analysis.ok, flat_analysis.diagnostics
    assert flat_analysis.total_params == block_analysis.total_params
    assert flat_analysis.total_flops == block_analysis.total_flops

    net, flat_net = build_net(g).eval(), build_net(flat).eval()
    randomise(net)
    flat_net.load_state_dict(map_to_expansion(net.state_dict(), flat_net.state_dict()))
    x = sample(channels)
    with torch.no_grad():
        torch.testing.assert_close(flat_net(x), net(x))


def test_basicblock_expansion_mirrors_module_paths_and_lays_out_the_shortcut_aside():
    block = CATALOGUE.get("basicblock")
    sub = block.expand({"planes": 16, "stride": 2, "groups": 1, "width_per_group": 64,
                        "shortcut": "auto"}, [(8, 16, 16)])
    ids = [n.id for n in sub.nodes]
    assert ids == ["conv1", "bn1", "relu", "conv2", "bn2", "downsample_0", "downsample_1",
                   "add", "relu_out"]
    offsets = {n.id: n.offset for n in sub.nodes}
    main = ["conv1", "bn1", "relu", "conv2", "bn2", "add", "relu_out"]
    assert all(offsets[n][0] == 0 for n in main)
    rows = [offsets[n][1] for n in main]
    assert [b - a for a, b in pairwise(rows)] == [90] * (len(main) - 1)
    assert offsets["downsample_0"][0] == offsets["downsample_1"][0] == 220
    assert sorted(sub.inputs["in"]) == [("conv1", "in"), ("downsample_0", "in")]
    assert ("bn2", "out", "add", "in") in sub.edges
    assert ("downsample_1", "out", "add", "in") in sub.edges
    assert sub.output == ("relu_out", "out")


def test_stage_expands_into_chained_blocks_named_like_its_children():
    g = block_graph("stage", {"block": "bottleneck", "blocks": 3, "planes": 4, "stride": 2}, 8)
    info = analyze(g).nodes["blk"]
    sub = CATALOGUE.get("stage").expand(info.resolved, info.in_shapes)
    assert [(n.id, n.type_id, n.params["stride"]) for n in sub.nodes] == [
        ("0", "bottleneck", 2), ("1", "bottleneck", 1), ("2", "bottleneck", 1)]
    assert sub.edges == [("0", "out", "1", "in"), ("1", "out", "2", "in")]
    assert "dropout" not in sub.nodes[0].params  # each block gets only what it declares
    expand(g, "blk", sub)
    assert {"blk_0", "blk_1", "blk_2"} <= set(g.nodes)
    assert list(build_net(g).state_dict())[:2] == ["blk_0.conv1.weight", "blk_0.bn1.weight"]


def test_stage_state_dict_keys_read_like_torchvision_layers():
    g = block_graph("stage", {"planes": 16, "stride": 2}, 8)
    g.rename_node("blk", "layer1")
    keys = list(build_net(g).state_dict())
    assert keys[0] == "layer1.0.conv1.weight"
    assert "layer1.0.downsample.0.weight" in keys and "layer1.1.bn2.running_var" in keys


@pytest.mark.parametrize("block, shortcut, expected", [
    ("convnextblock", "auto", "identity"), ("simpleresidual", "auto", "identity"),
    ("basicblock", "identity", "auto"), ("preactblock", "identity", "auto"),
    ("bottleneck", "D", "D"), ("fusionblock", "none", "none")])
def test_stage_maps_shortcut_names_to_what_each_block_offers(block, shortcut, expected):
    params = CATALOGUE.spec("stage").validate_params(
        {"block": block, "planes": 8, "shortcut": shortcut}, "test")
    sub = CATALOGUE.get("stage").expand(params, [(8, 16, 16)])
    assert [n.params["shortcut"] for n in sub.nodes] == [expected, expected]


@pytest.mark.parametrize("block, kernel", [("convnextblock", 7), ("simpleresidual", 3)])
def test_stage_kernel_size_auto_uses_the_block_default(block, kernel):
    params = CATALOGUE.spec("stage").validate_params({"block": block, "planes": 8}, "test")
    assert params["kernel_size"] == "auto"
    sub = CATALOGUE.get("stage").expand(params, [(8, 16, 16)])
    assert sub.nodes[0].params["kernel_size"] == kernel


# ----- shortcut options --------------------------------------------------------------------------
def _basic(shortcut: str, planes: int = 16, stride: int = 2) -> nn.Module:
    g = block_graph("basicblock", {"planes": planes, "stride": stride, "shortcut": shortcut}, 8)
    return build_net(g, zero_init_residual=True).blk.eval()


def test_shortcut_auto_is_a_strided_projection_with_batchnorm():
    down = _basic("auto").downsample
    assert isinstance(down, nn.Sequential) and len(down) == 2
    assert isinstance(down[0], nn.Conv2d) and down[0].stride == (2, 2)
    assert down[0].kernel_size == (1, 1) and down[0].bias is None
    assert isinstance(down[1], nn.BatchNorm2d)
    assert _basic("auto", planes=8, stride=1).downsample is None


def test_shortcut_a_zero_pads_without_parameters():
    block = _basic("A")
    assert isinstance(block.downsample, ZeroPadShortcut)
    assert sum(p.numel() for p in block.parameters()) == \
        sum(p.numel() for p in _basic("auto").parameters()) - (8 * 16 + 2 * 16)
    x = sample(8)
    # With the branch zeroed the block is relu(shortcut(x)): x subsampled, 4 zero channels
    # on each side.
    expected = torch.relu(nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 4, 4)))
    torch.testing.assert_close(block(x), expected)


def test_shortcut_d_average_pools_before_an_unstrided_projection():
    down = _basic("D").downsample
    pool, conv, norm = down
    assert isinstance(pool, nn.AvgPool2d) and pool.kernel_size == pool.stride == 2
    assert pool.ceil_mode and not pool.count_include_pad
    assert conv.stride == (1, 1) and isinstance(norm, nn.BatchNorm2d)
    # Without a stride the pool is an Identity, so the projection keeps timm's index 1.
    widen = _basic("D", planes=16, stride=1).downsample
    assert [type(m) for m in widen] == [nn.Identity, nn.Conv2d, nn.BatchNorm2d]


@pytest.mark.parametrize("type_id", RESIDUAL_TYPES)
def test_shortcut_none_is_the_plain_twin(type_id):
    planes = {} if type_id in ("convnextblock", "cnblock", "simpleresidual") else {"planes": 8}
    twin = build_net(block_graph(type_id, {**planes, "shortcut": "none"}, 8),
                 zero_init_residual=True).blk.eval()
    residual = build_net(block_graph(type_id, planes, 8), zero_init_residual=True).blk.eval()
    x = sample(8)
    with torch.no_grad():
        assert torch.count_nonzero(twin(x)) == 0  # branch only, and the branch starts at zero
        assert torch.count_nonzero(residual(x)) > 0


# ----- zero-initialised residual branches --------------------------------------------------------
def branch_end(block: nn.Module) -> nn.Module:
    """The module whose output is the residual branch's last tensor."""
    if isinstance(block, residual_modules.ConvNeXtBlock):
        return block.layer_scale if isinstance(block.layer_scale, LayerScale) else block.pwconv2
    if isinstance(block, family_modules.CNBlock):
        return block.stochastic_depth  # layer_scale is a bare parameter, applied before it
    name = {"Bottleneck": "bn3", "Bottle2neck": "bn3", "SEBottleneck": "se",
            "PreActBlock": "conv2", "SEBasicBlock": "se",
            "SimpleResidualBlock": "conv2"}.get(type(block).__name__, "bn2")
    return getattr(block, name)


# The parameters zero_init_residual sets to zero: the last norm's weight where the branch
# ends in a norm (as torchvision does), else the last layer itself.
ZEROED = {"BasicBlock": {"bn2.weight"}, "Bottleneck": {"bn3.weight"},
          "SEBottleneck": {"bn3.weight"}, "Bottle2neck": {"bn3.weight"},
          "PreActBlock": {"conv2.weight"}, "SEBasicBlock": {"bn2.weight"},
          "ScaledResidualBlock": {"bn2.weight"}, "ResNormBlock": {"bn2.weight"},
          "FusionBlock": {"bn2.weight"}, "SimpleResidualBlock": {"conv2.weight", "conv2.bias"}}
NORMS = (nn.BatchNorm2d, nn.LayerNorm)  # their biases start at zero anyway


def branch_outputs(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    blocks = [m for m in net.modules() if hasattr(m, "zero_init_residual") and m is not net]
    outputs: list[torch.Tensor] = []
    hooks = [branch_end(b).register_forward_hook(lambda m, i, o: outputs.append(o.clone()))
             for b in blocks]
    with torch.no_grad():
        net(x)
    for hook in hooks:
        hook.remove()
    assert len(outputs) == len(blocks) > 0
    return outputs


@pytest.mark.parametrize("case", CASES)
def test_zero_init_residual_zeroes_every_branch_output(case):
    type_id, params, channels = CASES[case]
    g = block_graph(type_id, params, channels)
    x = sample(channels)
    assert all(torch.count_nonzero(o) > 0 for o in branch_outputs(build_net(g).eval(), x))
    assert all(torch.count_nonzero(o) == 0
               for o in branch_outputs(build_net(g, zero_init_residual=True).eval(), x))


@pytest.mark.parametrize("case", CASES)
def test_zero_init_residual_zeroes_only_the_last_layer_of_the_branch(case):
    type_id, params, channels = CASES[case]
    net = build_net(block_graph(type_id, params, channels), zero_init_residual=True)
    blocks = [m for m in net.modules() if hasattr(m, "zero_init_residual")]
    for block in blocks:
        zeroed = {f"{path}.{name}" for path, module in block.named_modules()
                  for name, p in module.named_parameters(recurse=False)
                  if not p.any() and not (name == "bias" and isinstance(module, NORMS))}
        expected = ZEROED.get(type(block).__name__)
        if isinstance(block, residual_modules.ConvNeXtBlock):
            expected = ({"layer_scale.gamma"} if isinstance(block.layer_scale, LayerScale)
                        else {"pwconv2.weight", "pwconv2.bias"})
        if isinstance(block, family_modules.CNBlock):
            expected = ({".layer_scale"} if block.layer_scale is not None
                        else {"block.5.weight", "block.5.bias"})
        assert zeroed == expected


@pytest.mark.parametrize("case, expected", [
    ("basic-identity", torch.relu), ("bottleneck-identity", torch.relu),
    ("se-identity", torch.relu), ("scaled-identity", lambda x: torch.relu(0.5 * x)),
    ("preact-identity", lambda x: x), ("convnext", lambda x: x), ("simple", torch.relu),
    ("stage-convnext", lambda x: x), ("stage-simple-k5", torch.relu),
    ("cnblock", lambda x: x), ("stage-cnblock", lambda x: x),
    ("res2net-identity", torch.relu), ("sebottleneck-identity", torch.relu)])
def test_zero_init_residual_starts_identity_blocks_as_the_identity(case, expected):
    type_id, params, channels = CASES[case]
    block = build_net(block_graph(type_id, params, channels), zero_init_residual=True).blk.eval()
    x = sample(channels)
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected(x))


# ----- the variants' formulas --------------------------------------------------------------------
def _branch(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = torch.relu(block.bn1(block.conv1(x)))
    return block.bn2(block.conv2(out))


@pytest.mark.parametrize("type_id, formula", [
    ("scaledresidual", lambda b, f, s: torch.relu(f + b.scale.scale * s)),
    ("resnormblock", lambda b, f, s: torch.relu(f + b.res_norm(f - s))),
    ("fusionblock", lambda b, f, s: torch.relu(f + b.fuse(torch.cat([f, s], dim=1))))])
@pytest.mark.parametrize("shortcut", ["auto", "D"])
def test_variants_compute_their_formula(type_id, formula, shortcut):
    params = {"planes": 16, "stride": 2, "shortcut": shortcut}
    if type_id == "scaledresidual":
        params["init"] = 0.75
    block = build_net(block_graph(type_id, params, 8)).blk.eval()
    randomise(block)
    x = sample(8)
    with torch.no_grad():
        f, s = _branch(block, x), block.downsample(x)
        torch.testing.assert_close(block(x), formula(block, f, s))


def test_scaled_residual_scale_is_one_learnable_scalar_set_by_init():
    block = build_net(block_graph("scaledresidual", {"planes": 8, "init": 0.75}, 8)).blk
    assert block.scale.scale.shape == () and block.scale.scale.requires_grad
    assert block.scale.scale.item() == 0.75


# ----- diagnostics -------------------------------------------------------------------------------
CHECKS = [
    ("basicblock", {"groups": 2}, 8, ["BasicBlock ‘blk’", "groups = 2", "Bottleneck"]),
    ("basicblock", {"width_per_group": 32}, 8, ["width_per_group = 32"]),
    ("basicblock", {"planes": 4, "shortcut": "A"}, 8,
     ["shortcut ‘A’", "8 input channels into 4", "planes = 4", "‘auto’ or ‘D’"]),
    ("bottleneck", {"planes": 1, "shortcut": "A"}, 8, ["Bottleneck ‘blk’", "into 4"]),
    ("bottleneck", {"planes": 1, "width_per_group": 32}, 8,
     ["planes (1) × width_per_group (32)", "0 channels"]),
    ("scaledresidual", {"planes": 4, "shortcut": "A"}, 8, ["shortcut ‘A’"]),
    ("resnormblock", {"planes": 4, "shortcut": "A"}, 8, ["shortcut ‘A’"]),
    ("fusionblock", {"planes": 4, "shortcut": "A"}, 8, ["shortcut ‘A’"]),
    ("convnextblock", {"kernel_size": 4}, 8, ["ConvNeXt block ‘blk’", "kernel_size must be odd",
                                              "4 is even"]),
    ("simpleresidual", {"kernel_size": 2}, 8, ["kernel_size must be odd"]),
    ("stage", {"block": "convnextblock", "planes": 16}, 8,
     ["Stage ‘blk’", "ConvNeXt block", "planes must equal the 8 input channels (it is 16)"]),
    ("stage", {"block": "convnextblock", "planes": 8, "stride": 2}, 8,
     ["stride must be 1 (it is 2)"]),
    ("stage", {"block": "simpleresidual", "planes": 8, "kernel_size": 4}, 8,
     ["block 0 (Simple residual)", "kernel_size must be odd"]),
    ("stage", {"block": "convnextblock", "planes": 8, "kernel_size": 1}, 8,
     ["block 0 (ConvNeXt block)", "parameter ‘kernel_size’", "from 3 to 15"]),
    ("stage", {"block": "preactblock", "shortcut": "A"}, 8,
     ["shortcut ‘A’ is not available for PreActBlock", "auto, none"]),
    ("stage", {"block": "convnextblock", "planes": 8, "shortcut": "D"}, 8,
     ["shortcut ‘D’", "identity, none"]),
    ("stage", {"block": "basicblock", "groups": 2}, 8, ["block 0 (BasicBlock)", "groups = 2"]),
    ("stage", {"block": "bottleneck", "planes": 1, "shortcut": "A"}, 8,
     ["block 0 (Bottleneck)", "shortcut ‘A’"]),
]


@pytest.mark.parametrize("type_id, params, channels, fragments", CHECKS)
def test_check_explains_bad_parameters(type_id, params, channels, fragments):
    analysis = analyze(block_graph(type_id, params, channels))
    messages = [d.message for d in analysis.diagnostics if d.node_id == "blk"]
    assert len(messages) == 1, analysis.diagnostics
    for fragment in fragments:
        assert fragment in messages[0]


@pytest.mark.parametrize("type_id", RESIDUAL_TYPES + ["stage"])
def test_check_rejects_a_flattened_input(type_id):
    analysis = analyze(block_graph(type_id, {}, 8, flatten_first=True))
    messages = [d.message for d in analysis.diagnostics if d.node_id == "blk"]
    assert len(messages) == 1 and "needs a feature map (C×H×W) but receives 2048" in messages[0]


# ----- torchvision compatibility -----------------------------------------------------------------
def _shapes(state: dict) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in state.items()]


@pytest.mark.parametrize("kind, inplanes, planes, stride, extra", [
    ("basic", 16, 16, 1, {}), ("basic", 16, 32, 2, {}),
    ("bottleneck", 16, 4, 1, {}), ("bottleneck", 64, 8, 2, {}),
    ("bottleneck", 16, 8, 1, {"groups": 4, "base_width": 8}),   # ResNeXt-style
    ("bottleneck", 16, 4, 2, {"base_width": 128})])             # Wide ResNet-style
def test_blocks_share_torchvision_state_dicts(kind, inplanes, planes, stride, extra):
    theirs_cls, ours_cls = ((tv.BasicBlock, residual_modules.BasicBlock) if kind == "basic"
                            else (tv.Bottleneck, residual_modules.Bottleneck))
    out = planes * theirs_cls.expansion
    down = None
    if stride != 1 or inplanes != out:
        down = nn.Sequential(tv.conv1x1(inplanes, out, stride), nn.BatchNorm2d(out))
    theirs = theirs_cls(inplanes, planes, stride, down, **extra).eval()
    ours = ours_cls(inplanes, planes, stride, **extra).eval()
    assert _shapes(ours.state_dict()) == _shapes(theirs.state_dict())
    randomise(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = sample(inplanes)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("arch, block, extra", [
    ("resnet18", "basicblock", {}), ("resnet34", "basicblock", {}),
    ("resnet50", "bottleneck", {}), ("resnet101", "bottleneck", {}),
    ("resnet152", "bottleneck", {}),
    ("resnext50_32x4d", "bottleneck", {"groups": 32, "width_per_group": 4}),
    ("wide_resnet50_2", "bottleneck", {"width_per_group": 128})])
def test_stages_load_torchvision_resnet_layers_key_for_key(arch, block, extra):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = getattr(tv, arch)()
    stage = CATALOGUE.get("stage")
    shape = (64, 56, 56)
    for index in range(4):
        layer = getattr(model, f"layer{index + 1}")
        params = stage.spec.validate_params(
            {"block": block, "blocks": len(layer), "planes": 64 * 2 ** index,
             "stride": 1 if index == 0 else 2, **extra}, arch)
        assert stage.check(params, [shape]) is None
        with torch.device("meta"):
            ours = stage.make(params, [shape]).build()
        assert _shapes(ours.state_dict()) == _shapes(layer.state_dict())
        expansion = 1 if block == "basicblock" else 4
        shape = (64 * 2 ** index * expansion, shape[1] // 2, shape[2] // 2)


# ----- generated source --------------------------------------------------------------------------
def _referenced_names(obj) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(inspect.getsource(obj))) if isinstance(n, ast.Name)}


def _targets(call: Call) -> list[type]:
    nested = [t for a in call.args if isinstance(a, Call) for t in _targets(a)]
    return [call.target] + nested


@pytest.mark.parametrize("type_id", RESIDUAL_TYPES + ["stage"])
def test_source_deps_are_complete_and_in_dependency_order(type_id):
    """Each dependency only uses our names defined before it; the classes a block builds
    are its Call target or among its dependencies, and need nothing more."""
    ours = {name for name, obj in vars(residual_modules).items()
            if inspect.isfunction(obj) or inspect.isclass(obj)}
    deps = CATALOGUE.get(type_id).source_deps
    defined: set[str] = set()
    for dep in deps:
        needed = (_referenced_names(dep) & ours) - {dep.__name__}
        assert needed <= defined, f"{dep.__name__} needs {needed - defined} defined before it"
        defined.add(dep.__name__)
    for case in (c for c in CASES.values() if c[0] == type_id):
        op = analyze(block_graph(*case)).nodes["blk"].op
        for target in _targets(op):
            if target.__module__.startswith("torch"):
                continue
            assert target is op.target or target in deps
            assert (_referenced_names(target) & ours) - {target.__name__} <= defined


def _rebuild(value, namespace: dict):
    if not isinstance(value, Call):
        return value
    target = value.target
    if not target.__module__.startswith("torch"):
        target = namespace[target.__name__]
    return target(*[_rebuild(a, namespace) for a in value.args],
                  **{k: _rebuild(v, namespace) for k, v in value.kwargs.items()})


@pytest.mark.parametrize("case", CASES)
def test_copied_source_rebuilds_the_same_module(case):
    """What code generation does: the source of the deps and the block class, run in a
    namespace holding only torch and nn, must build a module equal to ours."""
    type_id, params, channels = CASES[case]
    op = analyze(block_graph(type_id, params, channels)).nodes["blk"].op
    objects = list(CATALOGUE.get(type_id).source_deps)
    objects += [t for t in _targets(op)
                if not t.__module__.startswith("torch") and t not in objects]
    source = "\n\n".join(inspect.getsource(o) for o in objects)
    namespace = {"torch": torch, "nn": nn}
    exec(compile(source, "model.py", "exec"), namespace)  # our own source
    original, copy = op.build().eval(), _rebuild(op, namespace).eval()
    assert _shapes(copy.state_dict()) == _shapes(original.state_dict())
    copy.load_state_dict(original.state_dict())
    x = sample(channels)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), original(x))


def test_block_modules_import_only_torch_and_the_layers():
    tree = ast.parse(inspect.getsource(residual_modules))
    imports = [(n.module, n.level) if isinstance(n, ast.ImportFrom) else (n.names[0].name, 0)
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert sorted(imports) == [("layers", 1), ("torch", 0), ("torch", 0)]


def test_family_modules_import_only_torch_the_layers_and_the_residual_helpers():
    tree = ast.parse(inspect.getsource(family_modules))
    imports = [(n.module, n.level) if isinstance(n, ast.ImportFrom) else (n.names[0].name, 0)
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert sorted(imports) == [("layers", 1), ("residual_modules", 1), ("torch", 0),
                               ("torch", 0)]
