"""The backbone export: stage features that drop into torchvision's detection models."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from test_export_support import PYTHON, child_env, leftovers, trained_run
from torchvision.models.detection import FasterRCNN
from torchvision.ops import FrozenBatchNorm2d

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build
from resnet_studio.export import ExportError, command, staging
from resnet_studio.export.backbone import SOURCE, WEIGHTS, write_backbone
from resnet_studio.export.bundle import load_module
from resnet_studio.graph import Graph, InputSpec, project
from resnet_studio.presets import create
from resnet_studio.train import load_checkpoint, save_checkpoint
from resnet_studio.train.checkpoint import DATA_SPEC

SPEC = InputSpec(channels=3, height=64, width=64, classes=3)
HAND_BUILT_FEATURES = ("relu2", "relu3", "relu4")


ROOT = Path(__file__).resolve().parents[2]


def chained(spec: InputSpec, nodes: list[tuple[str, str, dict]]) -> Graph:
    """A graph of ``nodes`` (id, type, parameters), each fed by the one before."""
    g = Graph(CATALOGUE, spec)
    for node_id, type_id, params in nodes:
        g.add_node(type_id, params, node_id=node_id)
    for a, b in itertools.pairwise(nodes):
        g.connect(a[0], "out", b[0], "in")
    return g


def hand_built() -> Graph:
    """No Stage nodes: a strided stem, a residual add, a max pool, a strided convolution."""
    g = chained(SPEC, [
        ("input", "input", {}), ("conv1", "conv2d", {"out_channels": 8, "stride": 2}),
        ("bn1", "batchnorm2d", {}), ("relu1", "relu", {}),
        ("conv2", "conv2d", {"out_channels": 8}), ("add", "add", {}), ("relu2", "relu", {}),
        ("pool", "maxpool2d", {}), ("conv3", "conv2d", {"out_channels": 16}),
        ("relu3", "relu", {}), ("conv4", "conv2d", {"out_channels": 24, "stride": 2}),
        ("relu4", "relu", {}), ("avgpool", "adaptiveavgpool2d", {}),
        ("flatten", "flatten", {}), ("fc", "linear", {"out_features": "$classes"}),
        ("output", "output", {})])
    g.connect("relu1", "out", "add", "in")  # the shortcut
    return g


def one_resolution(spec: InputSpec) -> Graph:
    """A convolution straight into the classifier: one size of feature maps only."""
    return chained(spec, [("input", "input", {}), ("conv", "conv2d", {}), ("relu", "relu", {}),
                          ("avgpool", "adaptiveavgpool2d", {}), ("flatten", "flatten", {}),
                          ("fc", "linear", {"out_features": "$classes"}),
                          ("output", "output", {})])


def exported(graph: Graph, folder: Path, seed: int = 0):
    """(the network with seeded weights, its written backbone module, the features)."""
    torch.manual_seed(seed)
    model = build(graph).eval()
    for m in model.modules():  # non-trivial norm statistics, as a trained network has
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    folder.mkdir(parents=True, exist_ok=True)
    features = write_backbone(graph, model.state_dict(), folder)
    return model, load_module(folder / SOURCE), features


def hooked_features(model: torch.nn.Module, graph: Graph, names, x) -> dict:
    """The outputs of the modules of ``names``, caught by forward hooks on a full forward."""
    caught = {}
    handles = [model.get_submodule(graph.node(n).module_name).register_forward_hook(
        lambda _m, _i, out, n=n: caught.__setitem__(n, out)) for n in names]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return caught


@pytest.mark.parametrize("name", ["resnet18", "hand_built", "resnet50", "resnet50d",
                                  "convnext_tiny"])
def test_the_fpn_backbone_trains_a_step_inside_torchvision_faster_rcnn(name, tmp_path):
    graph = hand_built() if name == "hand_built" else create(name, SPEC)
    _, module, features = exported(graph, tmp_path / "backbone")
    backbone = module.build_backbone(fpn=True)
    assert backbone.out_channels == 256
    maps = backbone(torch.rand(1, 3, 64, 64))
    more = ["pool"] if len(features) >= 4 else ["pool", "pool2"]
    assert list(maps) == [str(i) for i in range(min(4, len(features)))] + more
    assert all(m.shape[1] == 256 for m in maps.values())
    detector = FasterRCNN(backbone, num_classes=3, min_size=64, max_size=64).train()
    first = next(p for p in backbone.body.parameters() if p.dim() == 4)
    before = first.detach().clone()
    optimiser = torch.optim.SGD(detector.parameters(), lr=0.01)
    target = {"boxes": torch.tensor([[8.0, 10.0, 40.0, 50.0]]), "labels": torch.tensor([1])}
    losses = detector([torch.rand(3, 64, 64)], [target])
    loss = sum(losses.values())
    assert torch.isfinite(loss) and {"loss_classifier", "loss_objectness"} <= set(losses)
    loss.backward()
    assert first.grad is not None and float(first.grad.abs().sum()) > 0
    optimiser.step()
    assert not torch.equal(first.detach(), before)


@pytest.mark.parametrize("name", ["resnet18", "hand_built"])
def test_the_features_are_the_stages_outputs_of_the_trained_network(name, tmp_path):
    graph = hand_built() if name == "hand_built" else create(name, SPEC)
    model, module, features = exported(graph, tmp_path / "backbone", seed=3)
    expected = HAND_BUILT_FEATURES if name == "hand_built" else (
        "layer1", "layer2", "layer3", "layer4")
    assert features == expected
    x = torch.randn(2, 3, 80, 48)  # another size than the project's: detection resizes
    want = hooked_features(model, graph, expected, x)
    backbone = module.build_backbone().eval()
    with torch.no_grad():
        got = backbone(x)
    assert list(got) == list(expected)
    for n in expected:
        assert got[n].shape == want[n].shape
        assert torch.allclose(got[n], want[n], atol=1e-5), n
    assert backbone.out_channels == want[expected[-1]].shape[1]
    fresh = module.build_backbone(weights=False).eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(x)[expected[-1]], want[expected[-1]], atol=1e-3)


def test_the_readme_example_builds_a_detector_from_an_exported_folder(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Backbone export\n", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    exported(create("resnet18"), tmp_path / "backbone")
    monkeypatch.chdir(tmp_path)  # the example imports from ./backbone
    monkeypatch.setattr(sys, "path", list(sys.path))  # it inserts a path
    monkeypatch.delitem(sys.modules, "backbone", raising=False)  # a fresh import, then none
    namespace: dict = {}
    try:
        exec(compile(example, "README.md", "exec"), namespace)
    finally:
        sys.modules.pop("backbone", None)
    assert isinstance(namespace["model"], FasterRCNN)
    assert namespace["model"].backbone.out_channels == 256


def test_the_weights_file_holds_the_backbone_part_only(tmp_path):
    graph = create("resnet18", SPEC)
    model, module, _ = exported(graph, tmp_path / "backbone", seed=5)
    state = torch.load(tmp_path / "backbone" / WEIGHTS, weights_only=True)
    full = model.state_dict()
    assert set(state) == {k for k in full if not k.startswith("fc.")}
    assert all(torch.equal(state[k], full[k]) for k in state)
    body = module.build_backbone(fpn=True).body  # weights=True: the file is loaded
    assert torch.equal(body.layer4[1].bn2.running_var, full["layer4.1.bn2.running_var"])
    assert module.IMAGE_MEAN is None and module.IMAGE_STD is None  # not given: not guessed


def test_frozen_norms_keep_the_trained_statistics_while_the_detector_trains(tmp_path):
    graph = create("resnet18", SPEC)
    model, module, features = exported(graph, tmp_path / "backbone", seed=7)
    x = torch.randn(2, 3, 64, 64)
    want = hooked_features(model, graph, features, x)  # the network in evaluation mode
    backbone = module.build_backbone(fpn=True, frozen_norm=True)
    body = backbone.body.train()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    frozen = [m for m in body.modules() if isinstance(m, FrozenBatchNorm2d)]
    assert len(frozen) == len(norms) > 0
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in body.modules())
    with torch.no_grad():
        got = body(x)  # training mode, yet the statistics are the trained ones
    assert all(torch.allclose(got[n], want[n], atol=1e-5) for n in features)
    detector = FasterRCNN(backbone, num_classes=3, min_size=64, max_size=64).train()
    target = {"boxes": torch.tensor([[4.0, 4.0, 30.0, 60.0]]), "labels": torch.tensor([2])}
    sum(detector([torch.rand(3, 64, 64)], [target]).values()).backward()
    assert torch.equal(body.layer1[0].bn1.running_var, model.layer1[0].bn1.running_var)


def test_backbone_py_needs_only_torch_and_torchvision(tmp_path):
    folder = tmp_path / "backbone"
    exported(hand_built(), folder)
    tree = ast.parse((folder / SOURCE).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m.split(".")[0] for m in imported} == {"torch", "torchvision", "collections", "os"}
    path = str(folder / SOURCE)
    script = ("import sys, importlib.util\n"
              "sys.modules['resnet_studio'] = None  # importing it now fails\n"
              f"spec = importlib.util.spec_from_file_location('backbone', {path!r})\n"
              "module = importlib.util.module_from_spec(spec)\n"
              "spec.loader.exec_module(module)\n"
              "import torch\n"
              "maps = module.build_backbone(fpn=True).eval()(torch.rand(1, 3, 64, 64))\n"
              "print(sorted(maps), sys.modules['resnet_studio'])")
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True,
                          env=child_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['0',", "'1',", "'2',", "'pool',", "'pool2']", "None"]


def test_node_values_stop_before_a_classifier_that_fits_one_size_only():
    graph = create("mnist_plain_cnn", SPEC)  # flatten → linear: the head needs 64×64 images
    torch.manual_seed(0)
    model = build(graph).eval()
    x = torch.randn(1, 3, 96, 96)
    with pytest.raises(RuntimeError), torch.no_grad():
        model(x)
    with torch.no_grad():
        values = model.node_values(x, nodes=("res2", "relu1"))
    larger = Analyzer().analyze(create("mnist_plain_cnn", replace(SPEC, height=96, width=96)))
    assert list(values) == ["res2", "relu1"]
    assert values["res2"].shape == (1, *larger.nodes["res2"].out_shape)
    with torch.no_grad():
        assert torch.equal(values["relu1"], model.relu1(model.conv1(x)))


def test_a_network_with_one_resolution_is_refused_in_one_line(tmp_path):
    g = one_resolution(SPEC)
    with pytest.raises(ExportError, match=r"has 1 stage\(s\) of feature maps; a backbone "
                                          "needs at least 2") as caught:
        write_backbone(g, build(g).state_dict(), tmp_path)
    assert "\n" not in str(caught.value) and not (tmp_path / SOURCE).exists()


def test_stages_after_an_adaptive_pooling_are_refused_by_name(tmp_path):
    g = create("resnet18", SPEC)
    g.add_node("adaptiveavgpool2d", {"output_size": 8}, node_id="squeeze")
    g.disconnect(g.incoming("layer1", "in")[0])
    g.connect("maxpool", "out", "squeeze", "in")
    g.connect("squeeze", "out", "layer1", "in")
    with pytest.raises(ExportError, match="feature maps of ‘layer1’ do not grow with the image"):
        write_backbone(g, build(g).state_dict(), tmp_path)


# ----- the command ----------------------------------------------------------------------------
@pytest.fixture
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shared training run (small_resnet: three stages, 8×8 images)."""
    return trained_run(tmp_path_factory.getbasetemp())


def test_the_command_exports_a_run_as_a_checked_backbone_folder(capsys, run, tmp_path):
    out = tmp_path / "bb"
    code = command.main(["export", str(run), "--format", "backbone", "-o", str(out)])
    text, err = capsys.readouterr()
    assert code == 0 and err == "", err
    assert f"Wrote {out} (backbone) from {run / 'best.pt'}" in text
    assert sorted(p.name for p in out.iterdir()) == [SOURCE, WEIGHTS]
    assert leftovers(tmp_path) == []
    trained = build(project.from_dict(load_checkpoint(run / "best.pt")["graph"], CATALOGUE))
    trained.load_state_dict(load_checkpoint(run / "best.pt")["model"])
    x = torch.randn(2, 3, 16, 16)
    want = trained.eval().node_values(x, nodes=("layer3",))["layer3"]
    with torch.no_grad():
        got = load_module(out / SOURCE).build_backbone().eval()(x)
    assert list(got) == ["layer1", "layer2", "layer3"]
    assert torch.allclose(got["layer3"], want, atol=1e-5)
    module = load_module(out / SOURCE)
    spec = load_checkpoint(run / "best.pt")[DATA_SPEC]["normalisation"]
    assert pytest.approx(spec["mean"]) == module.IMAGE_MEAN and len(module.IMAGE_MEAN) == 3
    assert pytest.approx(spec["std"]) == module.IMAGE_STD


def test_a_backbone_that_disagrees_with_the_network_exits_1_and_writes_nothing(
        capsys, run, tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "ATOL", -1.0)  # no difference is small enough
    out = tmp_path / "bb"
    code = command.main(["export", str(run), "-f", "backbone", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "(backbone.py, feature ‘layer1’): outputs differ" in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_the_command_refuses_a_network_without_stages_in_one_line(capsys, run, tmp_path):
    checkpoint = load_checkpoint(run / "last.pt")
    flat = one_resolution(InputSpec(channels=3, height=8, width=8, classes=4))
    checkpoint.update(graph=project.to_dict(flat), model=build(flat).state_dict())
    save_checkpoint(checkpoint, tmp_path / "flat.pt")
    out = tmp_path / "bb"
    code = command.main(["export", str(tmp_path / "flat.pt"), "-f", "backbone", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("resnet-studio: error: ") and "needs at least 2" in err
    assert not out.exists() and leftovers(tmp_path) == []
