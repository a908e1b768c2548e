"""The example projects: the list, the shipped files (loaded, analysed, one training step
each), their generator, ``resnet-studio examples`` and ``new --example``."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from resnet_studio import cli
from resnet_studio.api import analyze, load_project
from resnet_studio.compiler import build
from resnet_studio.compiler.task import task_of
from resnet_studio.examples import EXAMPLES, SUFFIX, UnknownExampleError, _make, example
from resnet_studio.train import Engine
from resnet_studio.train.recipe import project_training

ROOT = Path(__file__).resolve().parents[2]
NAMES = [e.name for e in EXAMPLES]
DENSE = {"shapes_detector": "detection", "shapes_segmenter": "segmentation"}
CLASSIFIERS = [name for name in NAMES if name not in DENSE]


def test_the_list_names_titles_describes_and_finds_every_shipped_file():
    folder = ROOT / "resnet_studio" / "examples"
    assert sorted(p.name for p in folder.glob("*" + SUFFIX)) == sorted(n + SUFFIX for n in NAMES)
    assert 4 <= len(EXAMPLES) <= 8 and len(set(NAMES)) == len(NAMES)
    for entry in EXAMPLES:
        assert entry.path.resolve() == (folder / (entry.name + SUFFIX)).resolve()
        assert entry.title and len(entry.description) > 60
    assert example("cifar_resnet20").title.startswith("CIFAR ResNet-20")


def test_resources_examples_is_the_package_folder_without_copies():
    link = ROOT / "resources" / "examples"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == (ROOT / "resnet_studio" / "examples").resolve()


def test_the_package_data_declares_the_example_files():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    assert '"examples/*.rstudio.json"' in section


def test_an_unknown_name_lists_the_examples():
    with pytest.raises(UnknownExampleError) as caught:
        example("cifar_resnet21")
    message = str(caught.value)
    assert "‘cifar_resnet21’" in message and "Did you mean ‘cifar_resnet20’?" in message
    assert all(name in message for name in NAMES) and "\n" not in message


def test_listing_the_examples_loads_neither_torch_nor_qt():
    code = ("import sys\nfrom resnet_studio.examples import EXAMPLES\n"
            "assert EXAMPLES[0].path.is_file()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6')"
            " or m.startswith(('resnet_studio.compiler', 'resnet_studio.blocks'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_shipped_files_are_what_the_generator_makes():
    for name in NAMES:
        shipped = example(name).path.read_text(encoding="utf-8")
        assert shipped == _make.text(name), f"{name}: run python -m resnet_studio.examples._make"
    assert _make.main(["--check"]) == 0


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_an_example_loads_analyses_and_trains_one_step(name, tmp_path):
    graph = load_project(example(name).path)
    assert graph.name == name
    analysis = analyze(graph)
    assert analysis.ok and not analysis.diagnostics, analysis.diagnostics
    assert analysis.output_shape() == (graph.input_spec.classes,)
    training = project_training(graph)  # the file's settings are complete and valid
    assert training.recipe is not None and graph.training["recipe"]["name"] == training.recipe.name
    spec = graph.input_spec
    data = dataclasses.replace(training.config.data, dataset="synthetic", train_size=8,
                               val_size=8, image_size=spec.height, channels=spec.channels,
                               classes=spec.classes, root=str(tmp_path))
    config = dataclasses.replace(training.config, data=data, epochs=1, batch_size=8,
                                 device="cpu", telemetry_every=1)
    engine = Engine(graph, config)
    end = engine.run()
    assert end.status == "finished", end.message
    assert end.step == 1 and math.isfinite(engine.history[-1]["train_loss"])


@pytest.mark.parametrize("name", sorted(DENSE))
def test_a_dense_example_is_a_resnet18_with_its_head_and_takes_a_step(name):
    graph = load_project(example(name).path)
    analysis = analyze(graph)
    assert analysis.ok and not analysis.diagnostics, analysis.diagnostics
    assert task_of(graph) == DENSE[name]
    assert (graph.input_spec.height, graph.input_spec.width, graph.input_spec.classes) == \
        (64, 64, 4)
    assert [graph.node(f"layer{i}").params["blocks"] for i in (1, 2, 3, 4)] == [2, 2, 2, 2]
    stride = 8 if DENSE[name] == "segmentation" else 32  # the head's map: 8×8 or 2×2
    assert analysis.nodes["layer4"].out_shape == (512, 64 // stride, 64 // stride)
    torch.manual_seed(0)
    model = build(graph).train()
    images = torch.rand(2, 3, 64, 64)
    if DENSE[name] == "detection":
        targets = [{"boxes": torch.tensor([[8.0, 8.0, 40.0, 40.0]]),
                    "labels": torch.tensor([k])} for k in (1, 3)]
        loss = sum(model(images, targets).values())
    else:
        loss = F.cross_entropy(model(images)["out"], torch.randint(0, 4, (2, 64, 64)))
    loss.backward()
    assert math.isfinite(loss.item()) and model.backbone.get_parameter(
        "body.conv1.weight" if DENSE[name] == "detection" else "conv1.weight").grad.abs().sum() > 0


def test_the_custom_block_project_uses_its_block_four_times():
    graph = load_project(example("custom_residual_block").path)
    (type_id,) = graph.definitions
    uses = [n for n in graph if n.type_id == type_id]
    assert [n.params["channels"] for n in uses] == [16, 16, 32, 32]
    body = graph.definitions[type_id].graph
    assert sorted(n.type_id for n in body) == sorted(
        ["input", "conv2d", "batchnorm2d", "relu", "conv2d", "batchnorm2d", "add", "relu",
         "output"])


def test_the_recipes_are_the_cited_ones():
    recipes = {name: load_project(example(name).path).training["recipe"]["name"]
               for name in NAMES}
    assert recipes["cifar_resnet20"] == "he2016_cifar"
    assert recipes["mnist_small_resnet"] == recipes["mnist_plain_cnn"] == "digits_adamw"
    assert recipes["small_convnext"] == "convnext_adamw"
    config = project_training(load_project(example("cifar_resnet20").path)).config
    assert (config.lr, config.epochs, config.milestone_fractions) == (0.1, 164, (0.5, 0.75))
    for name, recipe, dataset in (
            ("shapes_detector", "torchvision_detection_shapes", "shapes-detection"),
            ("shapes_segmenter", "torchvision_segmentation_shapes", "shapes-segmentation")):
        assert recipes[name] == recipe  # its head's recipe, on the shapes that serve its task
        training = project_training(load_project(example(name).path))
        assert training.config.data.dataset == dataset
        assert training.config.data.task == DENSE[name]


# ----- the command line -------------------------------------------------------------------
def test_examples_command_lists_names_titles_and_descriptions(capsys):
    assert cli.main(["examples"]) == 0
    out = capsys.readouterr().out
    table, descriptions = out.split("\n\n", 1)
    rows = [line.split()[0] for line in table.splitlines()[2:]]
    assert rows == NAMES
    assert "Hand-built residual block" in table
    assert "custom_residual_block: A residual unit drawn layer by layer" in descriptions


def test_new_writes_an_example_that_validates(tmp_path, capsys):
    path = tmp_path / "mine.rstudio.json"
    assert cli.main(["new", "--example", "custom_residual_block", "-o", str(path)]) == 0
    assert "example ‘custom_residual_block’" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == example("custom_residual_block").path.read_text(
        encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 0


def test_new_example_takes_the_input_options(tmp_path, capsys):
    path = tmp_path / "small.rstudio.json"
    argv = ["new", "--example", "small_convnext", "-o", str(path), "--classes", "4",
            "--height", "16", "--width", "16"]
    assert cli.main(argv) == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["input"] == {"channels": 3, "height": 16, "width": 16, "classes": 4}
    assert analyze(load_project(path)).output_shape() == (4,)


@pytest.mark.parametrize("argv, fragments", [
    (["--example", "nope"], ["unknown example ‘nope’", "mnist_small_resnet", "small_convnext"]),
    ([], ["give a PRESET or --example NAME"]),
    (["resnet20", "--example", "cifar_resnet20"], ["give a PRESET or --example NAME"]),
])
def test_new_refuses_a_bad_example_in_one_line(argv, fragments, tmp_path, capsys):
    path = tmp_path / "x.rstudio.json"
    assert cli.main(["new", *argv, "-o", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error: ") and err.count("\n") == 1, err
    assert all(f in err for f in fragments), err
    assert not path.exists()


def test_new_example_never_overwrites_without_force(tmp_path, capsys):
    path = tmp_path / "mine.rstudio.json"
    path.write_text("precious", encoding="utf-8")
    assert cli.main(["new", "--example", "cifar_resnet20", "-o", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "precious"
