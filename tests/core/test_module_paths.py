"""Module paths: a node may place its module inside nested containers (``features.0.1``) so
that a graph reproduces a reference network's state_dict keys. The path round-trips through
the project file, bad paths are refused naming the node, clashes are analysis errors, and the
built network and its generated source agree key for key and value for value."""

from __future__ import annotations

import json

import pytest
import torch

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, BuildError, build, generate_source
from resnet_studio.graph import (
    Graph,
    InputSpec,
    InvalidModulePathError,
    ProjectFileError,
    project,
)
from resnet_studio.presets.base import Chain


def nested_graph() -> Graph:
    """A small network with a ``features`` container (two levels) and a ``classifier`` one,
    the layout of torchvision's ConvNeXt."""
    chain = Chain(InputSpec(3, 16, 16, 10))
    modules = {"stem_conv": "features.0.0", "stem_norm": "features.0.1",
               "layer1": "features.1"}
    chain.add("stem_conv", "conv2d", out_channels=8, kernel_size=3, padding=1)
    chain.add("stem_norm", "batchnorm2d")
    chain.add("layer1", "stage", block="basicblock", blocks=1, planes=8)
    chain.classifier()
    for node_id, path in {**modules, "fc": "classifier.2"}.items():
        chain.graph.node(node_id).module = path
    return chain.graph


def test_state_dict_keys_follow_module_paths():
    keys = list(build(nested_graph()).state_dict())
    assert keys[:2] == ["features.0.0.weight", "features.0.0.bias"]
    assert "features.0.1.running_mean" in keys
    assert "features.1.0.conv1.weight" in keys
    assert keys[-2:] == ["classifier.2.weight", "classifier.2.bias"]
    assert not any(k.startswith(("stem_conv", "layer1", "fc.")) for k in keys)


def test_generated_source_has_the_same_keys_and_outputs():
    graph = nested_graph()
    net = build(graph).eval()
    namespace: dict = {}
    source = generate_source(graph)
    exec(compile(source, "model.py", "exec"), namespace)
    generated = namespace["Net"]().eval()
    assert list(generated.state_dict()) == list(net.state_dict())
    generated.load_state_dict(net.state_dict(), strict=True)
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(generated(images), net(images))
    assert 'x = self.features["0"]["1"](x)' in source
    assert 'x = self.classifier["2"](x)' in source


def test_project_file_round_trips_module_paths_and_omits_them_when_unset():
    graph = nested_graph()
    text = project.dumps(graph)
    again = project.loads(text, CATALOGUE)
    assert again.node("stem_norm").module == "features.0.1"
    assert again.node("avgpool").module == ""
    assert project.dumps(again) == text
    entries = {n["id"]: n for n in json.loads(text)["nodes"]}
    assert entries["fc"]["module"] == "classifier.2"
    assert "module" not in entries["avgpool"]


@pytest.mark.parametrize("path, reason", [
    ("features..0", "empty name"),
    ("0.features", "starting with a letter"),
    ("features.keys", "reserved"),
    ("features.state_dict", "reserved"),
    ("features.0-1", "whole number or a name"),
    ("class.0", "starting with a letter"),
])
def test_bad_module_paths_are_refused_naming_the_node(path, reason):
    graph = Graph(CATALOGUE, InputSpec())
    with pytest.raises(InvalidModulePathError, match=f"Node ‘conv’: .*{reason}"):
        graph.add_node("conv2d", {}, node_id="conv", module=path)
    assert "conv" not in graph.nodes


def test_a_bad_module_path_in_a_file_names_the_node_and_field():
    data = json.loads(project.dumps(nested_graph()))
    data["nodes"][1]["module"] = "features.0.items"
    with pytest.raises(ProjectFileError, match=r"nodes\[1\]\.module: Node ‘stem_conv’"):
        project.loads(json.dumps(data), CATALOGUE)
    data["nodes"][1]["module"] = 7
    with pytest.raises(ProjectFileError, match="module"):
        project.loads(json.dumps(data), CATALOGUE)


def test_clashing_paths_are_analysis_errors_naming_both_nodes():
    graph = nested_graph()
    graph.node("layer1").module = "features.0"  # would hold the stem's container
    analysis = Analyzer().analyze(graph)
    messages = {d.node_id: d.message for d in analysis.diagnostics if d.severity == "error"}
    assert "overlaps the module ‘features.0’ of node ‘layer1’" in messages["stem_conv"]
    assert set(messages) == {"stem_conv", "stem_norm", "layer1"}
    with pytest.raises(BuildError):
        build(graph)


def test_a_path_equal_to_another_node_id_is_an_error():
    graph = nested_graph()
    graph.node("fc").module = "avgpool"
    errors = [d for d in Analyzer().analyze(graph).diagnostics if d.severity == "error"]
    assert [(d.node_id, "is also the module ‘avgpool’ of node ‘avgpool’" in d.message)
            for d in errors] == [("fc", True)]


def test_telemetry_names_a_layer_per_node_wherever_its_module_sits():
    """Gradient norms per node, not per top-level container: a ConvNeXt-like network would
    otherwise show only ``features`` and ``classifier``."""
    from resnet_studio.train.telemetry import Layers

    layers = Layers.of(build(nested_graph()))
    assert layers.names == ("stem_conv", "stem_norm", "layer1", "fc")
    assert layers.types == ("Conv2d", "BatchNorm2d", "Sequential", "Linear")
    assert sum(layers.sizes) == sum(p.numel() for p in build(nested_graph()).parameters())


def test_telemetry_of_a_plain_module_groups_by_top_level_child():
    from resnet_studio.train.telemetry import Layers

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    assert Layers.of(model).names == ("0", "2")
    assert Layers.of(model).types == ("Linear", "Linear")
