"""The later ResNets against timm: resnet50d, res2net50_26w_4s, resnetrs50 and
seresnext50_32x4d load timm's state dict with strict=True, built and as generated model.py,
have timm's parameter counts and compute what timm computes. The CIFAR-size descendants build,
train a step and have a plain twin."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_studio.blocks import family_modules
from resnet_studio.compiler import Analyzer, build, generate_source
from resnet_studio.graph import InputSpec
from resnet_studio.presets import PRESETS, create, plain_twin

timm = pytest.importorskip("timm", reason="timm is an optional extra: pip install "
                                          "'resnet-studio[timm]'")

# timm 1.0's own parameter counts (timm.create_model(name).parameters(), 1000 classes).
TIMM_PARAMS = {"resnet50d": 25_576_264, "res2net50_26w_4s": 25_699_120,
               "resnetrs50": 35_691_912, "seresnext50_32x4d": 27_559_896}
TIMM_PRESETS = sorted(p.name for p in PRESETS.values() if p.timm_name)
CIFAR_DESCENDANTS = ["resnet20d", "res2net20", "seresnet20b"]
SIZE = 64  # small enough for two CPU cores, large enough for layer4 to be a 2×2 map


@pytest.fixture(autouse=True)
def one_thread():
    # Two shared cores: several torch threads per process only fight over them.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomise(model: nn.Module) -> None:
    """Non-trivial norms and statistics (timm zero-initialises every bn3, which would hide a
    misplaced branch), and SE gates far from 0.5."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.is_floating_point() and tensor.dim() <= 1:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.2)


def reference(name: str) -> nn.Module:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False)
    randomise(model)
    return model.eval()


def load_generated(source: str) -> nn.Module:
    namespace: dict = {"__name__": "generated_model"}
    exec(compile(source, "model.py", "exec"), namespace)  # the code under test
    return namespace["Net"]().eval()


def test_the_timm_presets_are_the_promised_ones():
    assert sorted(TIMM_PARAMS) == TIMM_PRESETS
    for name in TIMM_PRESETS:
        assert PRESETS[name].timm_name == name and name in timm.list_models()
        assert PRESETS[name].default_input == InputSpec(3, 224, 224, 1000)


@pytest.mark.parametrize("name", sorted(TIMM_PARAMS))
def test_parameter_count_is_timms(name):
    count = Analyzer().analyze(create(name)).total_params
    assert count == TIMM_PARAMS[name]
    with torch.device("meta"):
        assert count == sum(p.numel() for p in timm.create_model(name).parameters())


@pytest.mark.parametrize("name", sorted(TIMM_PARAMS))
def test_built_and_generated_networks_equal_timms(name):
    graph = create(name, InputSpec(3, SIZE, SIZE, 1000))
    analysis = Analyzer().analyze(graph)
    assert analysis.diagnostics == []
    theirs = reference(name)
    state = theirs.state_dict()
    net = build(graph, analysis, initialise=False).eval()
    net.load_state_dict(state, strict=True)
    generated = load_generated(generate_source(graph, analysis=analysis))
    generated.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)
        assert torch.isfinite(expected).all() and expected.std() > 0
        assert (net(x) - expected).abs().max() < 1e-4
        assert (generated(x) - expected).abs().max() < 1e-4


def test_res2net_block_equals_timms_bottle2neck_in_both_kinds():
    from timm.models.res2net import Bottle2neck as TimmBottle2neck
    from timm.models.resnet import downsample_conv

    for inplanes, stride in ((64, 2), (256, 1)):  # a stage's first block, then a later one
        down = downsample_conv(inplanes, 256, 1, stride) if inplanes != 256 or stride > 1 else None
        theirs = TimmBottle2neck(inplanes, 64, stride, down, base_width=26, scale=4,
                                 norm_layer=nn.BatchNorm2d).eval()
        randomise(theirs)
        ours = family_modules.Bottle2neck(inplanes, 64, stride).eval()
        assert ours.is_first == theirs.is_first == (down is not None)
        ours.load_state_dict(theirs.state_dict(), strict=True)
        x = torch.randn(2, inplanes, 9, 9)
        with torch.no_grad():
            torch.testing.assert_close(ours(x), theirs(x))


def test_resnet_d_and_rs_stems_are_timms():
    graph = create("resnetrs50")
    assert graph.node("conv1").type_id == "deepstem"
    assert graph.node("maxpool").type_id == "convbnrelu"
    assert {n.params["shortcut"] for n in graph.nodes_of_type("stage")} == {"D"}
    assert {n.params["reduction"] for n in graph.nodes_of_type("stage")} == {4}
    assert create("seresnext50_32x4d").node("maxpool").type_id == "maxpool2d"


# ----- CIFAR-size descendants ----------------------------------------------------------------
@pytest.mark.parametrize("name", CIFAR_DESCENDANTS)
def test_cifar_descendant_trains_a_step_and_has_a_plain_twin(name):
    graph = create(name)
    assert PRESETS[name].default_input == InputSpec(3, 32, 32, 10)
    analysis = Analyzer().analyze(graph)
    assert analysis.diagnostics == [] and 150_000 < analysis.total_params < 400_000
    torch.manual_seed(0)
    net = build(graph, analysis).train()
    optimiser = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    losses = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(net(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    twin = plain_twin(graph)
    assert {n.params["shortcut"] for n in twin.nodes_of_type("stage")} == {"none"}
    assert Analyzer().analyze(twin).total_params <= analysis.total_params
