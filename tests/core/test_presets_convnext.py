"""ConvNeXt-T against torchvision: the convnext_tiny preset loads torchvision's state dict with
strict=True, built and as generated model.py, has its parameter count and computes what it
computes; it round-trips through a project file, is listed, summarised, and has a plain twin."""

from __future__ import annotations

import argparse

import pytest
import torch
import torchvision
from torch import nn

import resnet_studio as rs
from resnet_studio import presets
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import run_presets
from resnet_studio.compiler import Analyzer, build, generate_source
from resnet_studio.export.errors import ModelImportError
from resnet_studio.export.pretrained import load_pretrained
from resnet_studio.export.torchvision_import import import_torchvision, resnet_family
from resnet_studio.graph import InputSpec, project
from resnet_studio.presets import PRESETS, create, plain_twin
from resnet_studio.presets.recipes import CONVNEXT, graph_recipe, preset_recipe

NAME = "convnext_tiny"
# torchvision's own count: sum(p.numel() for p in convnext_tiny().parameters()), 1000 classes.
TORCHVISION_PARAMS = 28_589_128
# 64×64 keeps two CPU cores quick; the stem (÷4) and three downsamplings leave a 2×2 map.
SPEC = InputSpec(3, 64, 64, classes=1000)


@pytest.fixture(autouse=True)
def one_thread():
    # Two shared cores: several torch threads per process only fight over them.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    """torchvision's convnext_tiny with LayerNorms and layer scales far from their initial
    values (1, 0 and 1e-6 would make every block nearly the identity and hide a misplaced
    branch), in eval mode."""
    torch.manual_seed(0)
    model = torchvision.models.convnext_tiny(weights=None)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("layer_scale"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.1)
            elif tensor.dim() == 1:  # LayerNorm weights and every bias
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.2
                             + (1.0 if name.endswith("weight") else 0.0))
    return model.eval()


def images() -> torch.Tensor:
    return torch.randn(1, 3, SPEC.height, SPEC.width, generator=torch.Generator().manual_seed(2))


def assert_equal_to(model: nn.Module, reference: nn.Module) -> None:
    ours, theirs = model.state_dict(), reference.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    model.load_state_dict(theirs, strict=True)
    x = images()
    with torch.no_grad():
        expected, got = reference(x), model.eval()(x)
    assert torch.isfinite(expected).all() and expected.std() > 0.1
    assert (got - expected).abs().max() < 1e-4


def test_built_network_is_torchvisions_convnext_tiny(reference):
    graph = create(NAME, SPEC)
    net = build(graph, initialise=False)
    assert [n for n, _ in net.named_children()] == ["features", "avgpool", "classifier"]
    assert_equal_to(net, reference)


def test_generated_model_py_is_torchvisions_convnext_tiny(reference):
    namespace: dict = {}
    exec(compile(generate_source(create(NAME, SPEC)), "model.py", "exec"), namespace)
    assert_equal_to(namespace["Net"](), reference)


def test_parameter_count_equals_torchvision():
    graph = create(NAME)
    analysis = Analyzer().analyze(graph)
    assert analysis.diagnostics == []
    assert analysis.output_shape() == (1000,)
    assert analysis.total_params == TORCHVISION_PARAMS
    reference = torchvision.models.convnext_tiny(weights=None)
    assert sum(p.numel() for p in reference.parameters()) == TORCHVISION_PARAMS


def test_preset_names_torchvision_and_follows_its_stage_table():
    preset = PRESETS[NAME]
    assert preset.torchvision_name == NAME and preset.default_input == InputSpec(3, 224, 224, 1000)
    graph = create(NAME)
    stages = [graph.node(f"stage{i}") for i in range(1, 5)]
    assert [(n.params["blocks"], n.params["planes"], n.module) for n in stages] == [
        (3, 96, "features.1"), (3, 192, "features.3"), (9, 384, "features.5"),
        (3, 768, "features.7")]
    # torchvision's stochastic depth rises linearly to 0.1; each stage carries its mean.
    rates = [n.params["drop_path"] for n in stages]
    assert rates == sorted(rates) and 0 < rates[0] < 0.01 and 0.09 < rates[-1] < 0.1


def test_project_file_round_trips_and_builds_the_same_keys():
    graph = create(NAME, SPEC)
    text = project.dumps(graph)
    again = project.loads(text, CATALOGUE)
    assert project.dumps(again) == text
    assert {n.id: n.module for n in again} == {n.id: n.module for n in graph}
    assert list(build(again).state_dict()) == list(build(graph).state_dict())


def test_summary_and_source_describe_the_network():
    graph = create(NAME)
    summary = rs.summarize(graph, batch_size=1)
    assert "28,589,128" in summary and "stage3" in summary
    source = generate_source(graph)
    assert "class CNBlock(nn.Module):" in source and "class Permute(nn.Module):" in source
    assert 'x = self.features["5"](x)' in source and 'x = self.classifier["2"](x)' in source


def test_plain_twin_keeps_the_parameters_and_drops_the_skips():
    graph = create(NAME, SPEC)
    twin = plain_twin(graph)
    assert Analyzer().analyze(twin).total_params == Analyzer().analyze(graph).total_params
    assert {twin.node(f"stage{i}").params["shortcut"] for i in range(1, 5)} == {"none"}
    assert not any(getattr(m, "residual", False) for m in build(twin).modules())


def test_recipe_is_convnexts_for_the_preset_and_for_graphs_of_its_blocks():
    assert preset_recipe(NAME) is CONVNEXT
    graph = create(NAME, SPEC)
    graph.name = "my network"
    assert graph_recipe(graph) is CONVNEXT


def test_presets_command_lists_it_with_its_parameters(monkeypatch, capsys):
    # tests/core/test_cli.py runs the command over every preset; this reads one row.
    monkeypatch.setattr(presets, "PRESETS", {NAME: PRESETS[NAME]})
    assert run_presets(argparse.Namespace()) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{NAME} ")]
    assert len(rows) == 1
    assert "ConvNeXt" in rows[0] and "3×224×224 → 1000" in rows[0] and " 28.6 M " in rows[0]
    assert rows[0].split()[-1] == CONVNEXT.name


def test_import_from_torchvision_gives_the_preset_and_takes_its_weights(reference, tmp_path):
    assert "convnext_tiny" in resnet_family()
    graph = import_torchvision(NAME, classes=1000, input_size=64)
    assert graph.input_spec == SPEC
    assert project.dumps(graph) == project.dumps(create(NAME, SPEC))
    weights = tmp_path / "convnext_tiny.pth"
    torch.save(reference.state_dict(), weights)
    result = load_pretrained(graph, weights)
    assert result.head is None  # every key fitted, the classifier included
    with torch.no_grad():
        got = result.model.eval()(images())
    assert (got - reference(images())).abs().max() < 1e-4
    with pytest.raises(ModelImportError, match=r"convnext_tiny: .*classes"):
        import_torchvision(NAME, classes=0)
