"""Every ResNet-family model of torchvision imports as a project whose built network is
torchvision's: same modules, same state_dict keys and shapes, same outputs."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build
from resnet_studio.export import ModelImportError, import_torchvision, resnet_family
from resnet_studio.export.torchvision_import import graph_from_resnet, natural_key
from resnet_studio.graph import project

FAMILY = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
          "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
NUMERIC = ["resnet18", "resnext50_32x4d"]  # basic blocks; grouped bottlenecks of other width


def layer_facts(model: nn.Module) -> dict[str, tuple]:
    """What decides a layer's arithmetic, per module name: type-independent facts of every
    convolution, norm, pool and linear layer."""
    facts = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            facts[name] = ("conv", m.in_channels, m.out_channels, m.kernel_size, m.stride,
                           m.padding, m.dilation, m.groups, m.bias is not None)
        elif isinstance(m, nn.BatchNorm2d):
            facts[name] = ("bn", m.num_features, m.eps, m.momentum)
        elif isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Linear)):
            facts[name] = (type(m).__name__, str(m))
    return facts


def test_the_family_is_discovered_from_torchvision():
    # ConvNeXt-T comes from its preset (tests/core/test_presets_convnext.py).
    assert resnet_family() == sorted(FAMILY + ["convnext_tiny"], key=natural_key)
    names = resnet_family()
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet50") \
        < names.index("resnet101") < names.index("resnet152")
    assert names.index("wide_resnet50_2") < names.index("wide_resnet101_2")


@pytest.mark.parametrize("name", FAMILY)
def test_import_builds_torchvisions_network(name):
    graph = import_torchvision(name, input_size=64)
    assert graph.name == name and graph.input_spec.classes == 1000
    assert Analyzer().analyze(graph).ok
    with torch.device("meta"):  # structure only: fast even for the 100-layer models
        ours, theirs = build(graph), torchvision.models.get_model(name, weights=None)
    own = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert own == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert list(own) == list(theirs.state_dict())  # same order: same optimiser state layout
    assert layer_facts(ours) == layer_facts(theirs)


@pytest.mark.parametrize("name", NUMERIC)
def test_torchvision_weights_load_strictly_and_give_the_same_outputs(name):
    torch.manual_seed(0)
    theirs = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():  # non-trivial norm statistics, so that the comparison can fail
        for m in theirs.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    ours = build(import_torchvision(name, input_size=64)).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-4)


def test_classes_and_input_size_are_the_projects():
    graph = import_torchvision("resnet18", classes=7, input_size=(48, 80))
    spec = graph.input_spec
    assert (spec.channels, spec.height, spec.width, spec.classes) == (3, 48, 80, 7)
    assert graph.node("fc").params["out_features"] == "$classes"
    assert Analyzer().analyze(graph).output_shape() == (7,)
    again = project.loads(project.dumps(graph), CATALOGUE)  # an ordinary, editable project
    assert project.to_dict(again) == project.to_dict(graph)
    stages = [graph.node(f"layer{i}").params for i in range(1, 5)]
    assert [(p["block"], p["blocks"], p["planes"], p["stride"]) for p in stages] == [
        ("basicblock", 2, 64, 1), ("basicblock", 2, 128, 2), ("basicblock", 2, 256, 2),
        ("basicblock", 2, 512, 2)]


def test_grouped_and_wide_blocks_are_read_from_the_convolutions():
    params = import_torchvision("resnext101_64x4d").node("layer3").params
    assert (params["block"], params["blocks"], params["groups"], params["width_per_group"],
            params["expansion"]) == ("bottleneck", 23, 64, 4, 4)
    wide = import_torchvision("wide_resnet101_2").node("layer1").params
    assert (wide["groups"], wide["width_per_group"]) == (1, 128)


# ----- refusals -------------------------------------------------------------------------------
def test_an_unknown_name_suggests_the_closest():
    with pytest.raises(ModelImportError, match=r"no model ‘resnet51’.*Did you mean ‘resnet50’"):
        import_torchvision("resnet51")


def test_a_torchvision_model_outside_the_family_is_refused():
    with pytest.raises(ModelImportError, match=r"‘vgg11’ is not a ResNet-family model.*resnet18"):
        import_torchvision("vgg11")


def test_a_dilated_resnet_is_refused_by_layer():
    with torch.device("meta"):
        model = torchvision.models.resnet50(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ModelImportError, match=r"dilated\.layer4\.1\.conv2 uses dilation"):
        graph_from_resnet(model, "dilated")


def test_a_changed_layer_is_refused_by_name():
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    model.layer2[1].bn2 = nn.GroupNorm(4, 128)
    with pytest.raises(ModelImportError, match=r"custom\.layer2\.1\.bn2 is a GroupNorm"):
        graph_from_resnet(model, "custom")
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, 10))
    with pytest.raises(ModelImportError, match=r"custom\.fc is not a Linear layer"):
        graph_from_resnet(model, "custom")


def test_an_impossible_input_size_is_refused():
    with pytest.raises(ModelImportError, match="input_size must be an int or"):
        import_torchvision("resnet18", input_size="big")
