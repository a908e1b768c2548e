"""timm's ResNet family imports as projects whose built networks are timm's: the same
state_dict keys and shapes, the same outputs; timm checkpoints (torch.save or safetensors)
load through ``resnet-studio import timm:NAME --weights FILE``; unsupported models, unknown
names and a missing timm are refused in one line."""

from __future__ import annotations

import sys

import pytest
import torch

from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.compiler import Analyzer, build
from resnet_studio.export import ModelImportError, import_timm, timm_family
from resnet_studio.graph import InputSpec, project
from resnet_studio.graph.project import to_dict
from resnet_studio.presets import PRESETS, create

timm = pytest.importorskip("timm", reason="timm is an optional extra: pip install "
                                          "'resnet-studio[timm]'")

NUMERIC = ["resnet18", "resnet50", "resnet50d", "res2net50_26w_4s", "resnetrs50",
           "seresnext50_32x4d"]
STRUCTURE = ["resnet34d", "resnet26t", "resnext50d_32x4d", "seresnet50", "res2next50",
             "res2net50d", "wide_resnet50_2", "resnet50s"]


def randomised_timm(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # timm zero-initialises every last BN; make each layer count
        for key, tensor in model.state_dict().items():
            if key.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.is_floating_point() and tensor.dim() <= 1:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.2)
    return model.eval()


def test_the_family_holds_timms_resnet_and_res2net_models():
    family = timm_family()
    assert set(NUMERIC + STRUCTURE) <= set(family)
    assert "vit_base_patch16_224" not in family and "convnext_tiny" not in family


@pytest.mark.parametrize("name", NUMERIC)
def test_timm_weights_load_strictly_and_give_the_same_outputs(name):
    graph = import_timm(name, input_size=64)
    assert graph.name == name and graph.input_spec == InputSpec(3, 64, 64, 1000)
    theirs = randomised_timm(name)
    ours = build(graph, initialise=False).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)
        assert expected.std() > 0 and (ours(x) - expected).abs().max() < 1e-4


@pytest.mark.parametrize("name", STRUCTURE)
def test_import_has_timms_tensors(name):
    graph = import_timm(name, input_size=64)
    assert Analyzer().analyze(graph).ok
    with torch.device("meta"):
        ours, theirs = build(graph), timm.create_model(name)
    own = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert own == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("name", sorted(p.name for p in PRESETS.values() if p.timm_name))
def test_import_of_a_preset_model_is_the_preset(name):
    spec = InputSpec(3, 96, 96, 10)
    nodes = [(n["id"], n["type"], n["params"]) for n in to_dict(create(name, spec))["nodes"]]
    imported = to_dict(import_timm(name, classes=10, input_size=96))["nodes"]
    assert nodes == [(n["id"], n["type"], n["params"]) for n in imported]


@pytest.mark.parametrize("name, fragments", [
    ("ecaresnet50d", ["ecaresnet50d.layer1.0.se is a EcaModule", "SEModule"]),
    ("resnetblur18", ["resnetblur18.maxpool holds MaxPool2d, BlurPool2d", "anti-aliased"]),
    ("resnet50_gn", ["resnet50_gn.bn1 is a GroupNorm"]),
    ("senet154", ["senet154.layer1 differs from every catalogue stage", "0.bn1"]),
    ("resnet50e", ["timm has no model ‘resnet50e’", "Did you mean ‘resnet50’?"]),
    ("vit_base_patch16_224", ["not a ResNet-family model", "resnet50d"])])
def test_unsupported_models_are_refused_by_name(name, fragments):
    with pytest.raises(ModelImportError) as info:
        import_timm(name)
    assert all(f in str(info.value) for f in fragments), str(info.value)


def test_a_missing_timm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm now raises ImportError
    with pytest.raises(ModelImportError, match=r"pip install 'resnet-studio\[timm\]'"):
        import_timm("resnet18")


# ----- the command ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """timm's resnet18 state dict, saved as torch.save and as safetensors files."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("timm")
    state = randomised_timm("resnet18").state_dict()
    torch.save(state, folder / "resnet18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "resnet18.safetensors")
    return folder, state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_command_imports_and_loads_a_timm_checkpoint(checkpoints, suffix, capsys):
    folder, state = checkpoints
    out = folder / f"net{suffix}.rstudio.json"
    code = main(["import", "timm:resnet18", "-o", str(out), "--weights",
                 str(folder / f"resnet18{suffix}"), "--force"])
    assert code == 0, capsys.readouterr().err
    graph = project.load(out, CATALOGUE)
    weights = torch.load(folder / f"net{suffix}.weights.pt", weights_only=True)
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[k], state[k]) for k in state)
    build(graph, initialise=False).load_state_dict(weights, strict=True)


@pytest.mark.parametrize("args, fragment", [
    (["timm:resnet50e"], "timm has no model ‘resnet50e’"),
    (["timm:resnet18", "--weights", "no-such-file.pth"],
     "--weights no-such-file.pth: no such file; timm models take a local"),
    (["timm:resnet50d", "--weights", "{folder}/resnet18.pth"], "do not fit this network")])
def test_command_errors_are_one_line(checkpoints, args, fragment, tmp_path, capsys):
    folder, _ = checkpoints
    args = [a.replace("{folder}", str(folder)) for a in args]
    code = main(["import", args[0], "-o", str(tmp_path / "x.rstudio.json"), *args[1:]])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert err.startswith("resnet-studio: error: ")
