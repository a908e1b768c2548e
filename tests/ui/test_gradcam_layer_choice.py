"""Explain's Grad-CAM layer in the app: the dialog lists the run's stages with their shapes
under "Automatic", the pick reaches the job (and the explanation), is remembered per project,
and a remembered stage the network lacks falls back to Automatic with a note."""

from __future__ import annotations

import json

import pytest
from analysis_helpers import accepting, image_file, tiny_resnet, tiny_run
from training_helpers import TrainingPrompts

from resnet_studio.compiler import Analyzer
from resnet_studio.graph import InputSpec, project
from resnet_studio.presets import create
from resnet_studio.presets.base import Chain
from resnet_studio.ui.analyze import feature as feature_module
from resnet_studio.ui.analyze.gradcam_choice import LayerMemory, run_gradcam_layers
from resnet_studio.ui.shell.session import ProjectSession

TINY_ITEMS = ["Automatic (layer2)", "layer1  —  4×8×8", "layer2  —  8×4×4"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("runs") / "tiny")


@pytest.fixture
def studio(make_window, run):
    prompts = TrainingPrompts()
    window = make_window(tiny_resnet(), prompts)
    window.run_focus.set_run(run)
    return window, window.analyses, prompts


def items(box) -> list[str]:
    return [box.itemText(i) for i in range(box.count())]


def spy_jobs(monkeypatch, feature) -> list[tuple]:
    """Record the explain jobs asked for (run, image, options) instead of running them."""
    asked: list[tuple] = []
    monkeypatch.setattr(feature_module.jobs, "explain_job",
                        lambda *args: asked.append(args) or ("job", args))
    monkeypatch.setattr(feature, "start", lambda key, job: True)
    return asked


def opened(feature) -> list:
    """Make the feature's ``ask`` keep each dialog it is given and cancel it."""
    dialogs: list = []
    feature.ask = lambda dialog: dialogs.append(dialog) or False
    return dialogs


def test_the_choice_lists_the_runs_stages_and_the_pick_reaches_the_job(
        qtbot, studio, run, tmp_path, monkeypatch):
    window, feature, prompts = studio
    asked = spy_jobs(monkeypatch, feature)
    dialogs = opened(feature)
    window.actions["analyze_explain"].trigger()
    assert items(dialogs[0].layer) == TINY_ITEMS and dialogs[0].layer.layer() is None
    assert dialogs[0].options()["layer"] is None
    image = image_file(tmp_path / "x.png")
    feature.ask = accepting(image=image, layer="layer1")
    window.actions["analyze_explain"].trigger()
    (path, chosen_image, options), = asked
    assert (path, chosen_image, options["layer"]) == (run, image, "layer1")
    dialogs = opened(feature)
    window.actions["analyze_explain"].trigger()  # the project remembers the pick
    assert dialogs[0].layer.layer() == "layer1" and dialogs[0].layer_note.isHidden()
    assert prompts.errors == []


def test_a_chosen_layer_is_the_one_the_explanation_uses(qtbot, studio, tmp_path):
    _, feature, _ = studio
    feature.ask = accepting(image=image_file(tmp_path / "x.png"), layer="layer1",
                            method="saliency")
    feature.window.actions["analyze_explain"].trigger()
    qtbot.waitUntil(lambda: not feature.busy(), timeout=120_000)
    assert feature.panel.explain.result.gradcam_layer == "layer1"


def test_a_stale_layer_falls_back_to_automatic_with_a_note(qtbot, studio, monkeypatch):
    window, feature, prompts = studio
    feature.layer_memory.remember(window.sessions.current, "layer9")  # a node deleted since
    dialogs = opened(feature)
    window.actions["analyze_explain"].trigger()
    dialog = dialogs[0]
    assert items(dialog.layer) == TINY_ITEMS and dialog.layer.layer() is None
    assert not dialog.layer_note.isHidden()
    assert "‘layer9’, is not in this run's network; Automatic is used" in \
        dialog.layer_note.text()
    assert prompts.errors == []


def plain_run(folder):
    """A run directory of a plain two-convolution network (its files as far as the dialog
    reads them: graph.json, and a checkpoint's name)."""
    chain = Chain(InputSpec(channels=3, height=8, width=8, classes=3))
    chain.add("c1", "conv2d", out_channels=4, kernel_size=3, stride=1, padding=1, bias=True)
    chain.add("c2", "conv2d", out_channels=6, kernel_size=3, stride=2, padding=1, bias=True)
    folder.mkdir()
    (folder / "graph.json").write_text(json.dumps(project.to_dict(chain.classifier())))
    (folder / "config.json").write_text("{}")
    (folder / "best.pt").write_bytes(b"")
    return folder


def test_changing_the_run_relists_and_keeps_the_pick_where_it_exists(qtbot, studio, run,
                                                                     tmp_path):
    from resnet_studio.ui.analyze.dialogs import ExplainDialog

    window, _, prompts = studio
    dialog = ExplainDialog(prompts, run, window, layer="layer1")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.layer.layer() == "layer1"
    dialog.run.edit.setText(str(tmp_path / "nowhere"))  # no run: Automatic alone
    assert items(dialog.layer) == ["Automatic"] and dialog.options()["layer"] is None
    dialog.run.edit.setText(str(run))
    assert items(dialog.layer) == TINY_ITEMS and dialog.layer.layer() == "layer1"
    index = dialog.layer.findData("layer2")
    dialog.layer.setCurrentIndex(index)
    dialog.layer.activated.emit(index)  # as a click on the item does
    dialog.run.edit.setText(str(plain_run(tmp_path / "plain")))
    assert items(dialog.layer) == ["Automatic (c2)", "c1  —  4×8×8", "c2  —  6×4×4"]
    assert dialog.layer.layer() is None and "‘layer2’" in dialog.layer_note.text()
    qtbot.waitUntil(lambda: dialog.layer_note.isVisible())
    note = dialog.layer_note.geometry()
    assert note.height() >= dialog.layer_note.heightForWidth(note.width())  # not clipped
    dialog.run.edit.setText(str(run))
    assert dialog.layer.layer() == "layer2" and dialog.layer_note.isHidden()


def test_the_layer_is_remembered_per_project_file_across_restarts(settings, tmp_path):
    first = ProjectSession(tmp_path / "a.rstudio.json", lambda: None)
    other = ProjectSession(tmp_path / "b.rstudio.json", lambda: None)
    LayerMemory(settings).remember(first, "layer3")
    LayerMemory(settings).remember(other, "layer1")
    memory = LayerMemory(settings)  # the app started again
    assert memory.recall(first) == "layer3" and memory.recall(other) == "layer1"
    untitled = ProjectSession(None, lambda: None)
    assert memory.recall(untitled) is None  # an untitled project has its own memory
    memory.remember(untitled, "layer2")
    assert memory.recall(untitled) == "layer2"
    assert memory.recall(ProjectSession(None, lambda: None)) is None
    memory.remember(first, None)
    assert LayerMemory(settings).recall(first) is None
    assert LayerMemory(settings).recall(other) == "layer1"


def headless_resnet18():
    """ResNet-18 at 64×64 without its classifier (avgpool, flatten, fc)."""
    graph = create("resnet18", InputSpec(channels=3, height=64, width=64, classes=4))
    for node_id in ("avgpool", "flatten", "fc"):
        graph.remove_node(node_id)
    return graph


def with_head(head: str, source: str):
    graph = headless_resnet18() if source != "fpn" else with_fpn()
    graph.add_node(head, {}, node_id="head")
    graph.connect(source, "out", "head", "in")
    graph.connect("head", "out", "output", "in")
    return graph


def with_fpn():
    graph = headless_resnet18()
    graph.add_node("fpn", {}, node_id="fpn")
    for tap in ("layer3", "layer4"):
        graph.connect(tap, "out", "fpn", "in")
    return graph


def test_a_segmenter_runs_choice_is_its_backbone_up_to_the_head(tmp_path):
    for name, graph in (("seg", with_head("deeplabv3_head", "layer3")),
                        ("det", with_head("faster_rcnn", "fpn"))):
        assert Analyzer().analyze(graph).ok, name  # refused for its task, not for errors
        (tmp_path / name).mkdir()
        (tmp_path / name / "graph.json").write_text(json.dumps(project.to_dict(graph)))
    layers = run_gradcam_layers(tmp_path / "seg")
    assert layers.default == "layer3" and list(layers.shapes) == ["layer1", "layer2", "layer3"]
    assert run_gradcam_layers(tmp_path / "det") is None  # Explain itself says why
    assert run_gradcam_layers(tmp_path) is None  # no graph.json
