"""File → Export Trained Model and File → Import, driven through the window."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QPushButton
from training_helpers import TrainingPrompts

from resnet_studio.data import DataConfig
from resnet_studio.graph import InputSpec
from resnet_studio.graph.project import to_dict
from resnet_studio.presets import create
from resnet_studio.train import Engine, TrainConfig
from resnet_studio.ui.run_focus import ANOTHER, checkpoint_choices

SPEC = InputSpec(channels=3, height=8, width=8, classes=4)


class InteropPrompts(TrainingPrompts):
    def __init__(self) -> None:
        super().__init__()
        self.item: str | None = None

    def ask_item(self, title: str, label: str, items: list[str]) -> str | None:
        self.asked.append(("item", tuple(items)))
        return self.item


@pytest.fixture
def answers() -> InteropPrompts:
    return InteropPrompts()


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """last.pt of a two-step run of the small residual preset on 8×8 synthetic images."""
    torch.set_num_threads(1)
    data = DataConfig(dataset="synthetic", train_size=32, val_size=8, image_size=8, channels=3,
                      classes=4)
    config = TrainConfig(epochs=1, batch_size=16, device="cpu", data=data).validate()
    engine = Engine(create("small_resnet", SPEC), config, [], tmp_path / "run")
    assert engine.run().status == "finished"
    engine.close()
    return tmp_path / "run" / "last.pt"


def finish(qtbot, task) -> None:
    """Wait for an import or export the window runs on its worker thread."""
    assert task is not None
    qtbot.waitUntil(lambda: task.done, timeout=120_000)


def test_export_onnx_from_a_chosen_checkpoint_is_verified_and_reported(
        make_window, answers, checkpoint, tmp_path, qtbot):
    window = make_window(answers=answers)
    answers.open_file = str(checkpoint)
    answers.save_path = str(tmp_path / "net.onnx")
    finish(qtbot, window.interop.export("onnx"))
    result = window.interop.last_result
    assert result is not None and (tmp_path / "net.onnx").is_file()
    assert result.max_abs_diff < 1e-4
    assert "net.onnx" in window.statusBar().currentMessage()


def test_export_of_a_foreign_file_is_refused_with_the_reason(make_window, answers, tmp_path,
                                                             qtbot):
    window = make_window(answers=answers)
    bogus = tmp_path / "not-a-checkpoint.pt"
    bogus.write_bytes(b"hello")
    answers.open_file = str(bogus)
    answers.save_path = str(tmp_path / "out.safetensors")
    finish(qtbot, window.interop.export("safetensors"))
    assert window.interop.last_result is None
    assert answers.errors and answers.errors[-1][0] == "Export failed"
    assert "not-a-checkpoint.pt" in answers.errors[-1][1]
    assert not (tmp_path / "out.safetensors").exists()


def test_cancelled_export_writes_nothing(make_window, answers, tmp_path):
    window = make_window(answers=answers)
    answers.open_file = None
    assert window.interop.export("pt2") is None
    assert not answers.errors


def test_an_export_shows_its_stages_with_the_time_left_and_cancel_writes_nothing(
        make_window, answers, checkpoint, tmp_path, qtbot, monkeypatch):
    from resnet_studio.export import exporter

    window = make_window(answers=answers)
    answers.open_file = str(checkpoint)
    answers.save_path = str(tmp_path / "net.safetensors")
    task = window.interop.export("safetensors")
    labels = []
    task.progressed.connect(lambda *_: labels.append(task.label))
    finish(qtbot, task)
    assert (tmp_path / "net.safetensors").is_file()
    assert labels[0] == "Loading the checkpoint — estimating time left"
    assert labels[1].startswith("Writing the safetensors export and checking it against the "
                                "trained network — about ") and labels[1].endswith(" left")

    real = exporter.open_trained

    def held(source):  # the export holds after loading until it is cancelled
        trained = real(source)
        assert window.interop.task.cancel_flag.wait(timeout=60), "never cancelled"
        return trained

    monkeypatch.setattr(exporter, "open_trained", held)
    answers.save_path = str(tmp_path / "again.safetensors")
    task = window.interop.export("safetensors")
    qtbot.waitUntil(lambda: task.label.startswith("Loading the checkpoint"), timeout=60_000)
    assert task.dialog.findChild(QPushButton).text() == "Cancel"
    task.dialog.findChild(QPushButton).click()
    finish(qtbot, task)
    assert task.cancelled and not answers.errors
    assert not (tmp_path / "again.safetensors").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_import_torchvision_replaces_the_project(make_window, answers, qtbot):
    window = make_window(answers=answers)
    answers.item = "resnet18"
    finish(qtbot, window.interop.import_torchvision())
    graph = window.document.graph
    assert {"conv1", "layer4", "fc"} <= set(graph.nodes)
    assert any("resnet18" in items for kind, items in answers.asked if kind == "item")
    assert window.document.current_analysis().ok


def test_import_timm_replaces_the_project(make_window, answers, qtbot):
    pytest.importorskip("timm", reason="timm is an optional extra: pip install "
                                       "'resnet-studio[timm]'")
    window = make_window(answers=answers)
    answers.item = "res2net50_26w_4s"
    finish(qtbot, window.interop.import_timm())
    graph = window.document.graph
    assert graph.name == "res2net50_26w_4s" and graph.node("layer1").params["block"] == "res2net"
    assert any("resnet50d" in items for kind, items in answers.asked if kind == "item")
    assert window.document.current_analysis().ok


def test_import_timm_without_timm_says_how_to_install_it(make_window, answers, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "timm", None)
    window = make_window(answers=answers)
    assert window.interop.import_timm() is None
    assert answers.errors and "pip install 'resnet-studio[timm]'" in answers.errors[-1][1]
    assert not any(kind == "item" for kind, _ in answers.asked)


def test_import_model_source_round_trips_a_generated_file(make_window, answers, tmp_path,
                                                          qtbot):
    from resnet_studio.export import model_source_with_project

    window = make_window(answers=answers)
    original = create("resnet20")
    path = tmp_path / "model.py"
    path.write_text(model_source_with_project(original), encoding="utf-8")
    answers.open_file = str(path)
    finish(qtbot, window.interop.import_model_source())
    assert to_dict(window.document.graph)["nodes"] == to_dict(original)["nodes"]


def test_import_of_a_hand_written_file_is_refused(make_window, answers, tmp_path, qtbot):
    window = make_window(answers=answers)
    before = to_dict(window.document.graph)
    path = tmp_path / "mine.py"
    path.write_text("import torch\n", encoding="utf-8")
    answers.open_file = str(path)
    finish(qtbot, window.interop.import_model_source())
    assert answers.errors[-1][0] == "Import failed"
    assert to_dict(window.document.graph) == before


def test_file_menu_lists_every_export_format_and_every_import(make_window):
    window = make_window()
    file_menu = window.menu("file")
    titles = {a.text(): a.menu() for a in file_menu.actions() if a.menu() is not None}
    exports = [a.text() for a in titles["Export &Trained Model"].actions()]
    imports = [a.text() for a in titles["&Import"].actions()]
    from resnet_studio.export import FORMATS

    assert len(exports) == len(FORMATS) == 5 and any("ONNX" in t for t in exports)
    assert any("Backbone" in t for t in exports)
    assert imports == ["&torchvision ResNet…", "t&imm ResNet…", "Generated &model.py…"]


def test_imports_run_off_the_gui_thread_and_a_cancelled_one_leaves_the_project(
        make_window, answers, qtbot):
    window = make_window(answers=answers)
    before = to_dict(window.document.graph)
    gate, threads = threading.Event(), []

    def slow_import():
        threads.append(threading.get_ident())
        assert gate.wait(30)  # held until the test has cancelled it
        return create("resnet20")

    task = window.interop._load(slow_import, "a slow network")
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert threads[0] != threading.get_ident() and not task.done  # the GUI thread is free
    qtbot.waitUntil(task.dialog.isVisible, timeout=5_000)
    assert task.dialog.findChild(QPushButton).text() == "Cancel"
    task.dialog.findChild(QPushButton).click()
    gate.set()
    finish(qtbot, task)
    assert task.cancelled and to_dict(window.document.graph) == before
    assert not answers.errors


def test_export_offers_the_best_or_last_weights_of_the_run_in_focus(
        make_window, answers, checkpoint, tmp_path, qtbot):
    window = make_window(answers=answers)
    run = checkpoint.parent
    window.run_focus.set_run(run)
    answers.item = next(label for label, _ in checkpoint_choices(run) if label.startswith("last"))
    answers.save_path = str(tmp_path / "net.safetensors")
    finish(qtbot, window.interop.export("safetensors"))
    offered = next(items for kind, items in answers.asked if kind == "item")
    assert [i.split(":")[0] for i in offered] == ["best.pt", "last.pt", ANOTHER]
    assert "epoch 1" in offered[0] and "validation accuracy" in offered[0]
    assert not any(kind == "open_file" for kind, _ in answers.asked)  # no file dialog
    assert window.interop.last_result.checkpoint == run / "last.pt"


def test_the_backbone_exports_from_the_menu_as_a_checked_folder(
        make_window, answers, checkpoint, tmp_path, qtbot):
    window = make_window(answers=answers)
    window.run_focus.set_run(checkpoint.parent)
    answers.item = next(label for label, _ in checkpoint_choices(checkpoint.parent)
                        if label.startswith("best"))
    answers.save_path = str(tmp_path / "backbone")
    assert "Backbone" in window.actions["export_backbone"].text()
    finish(qtbot, window.interop.export("backbone"))
    result = window.interop.last_result
    assert result is not None and result.format == "backbone"
    assert sorted(p.name for p in (tmp_path / "backbone").iterdir()) == [
        "backbone.py", "backbone_weights.pt"]
    assert "backbone" in window.statusBar().currentMessage()


def test_another_run_is_chosen_only_when_asked_for(make_window, answers, checkpoint, tmp_path,
                                                   qtbot):
    window = make_window(answers=answers)
    window.run_focus.set_run(checkpoint.parent)
    answers.item = ANOTHER
    answers.open_file = None  # the file dialog is cancelled: nothing is exported
    assert window.interop.export("onnx") is None
    assert answers.asked[-1] == ("open_file", "Export the checkpoint of another run")
    answers.item = None  # cancelling the question exports nothing and opens no file dialog
    count = len(answers.asked)
    assert window.interop.export("onnx") is None
    assert [kind for kind, _ in answers.asked[count:]] == ["item"]


@pytest.mark.parametrize(("fmt", "pattern"), [("onnx", "(*.onnx)"), ("pt2", "(*.pt2)"),
                                              ("safetensors", "(*.safetensors)"),
                                              ("bundle", "folder"), ("backbone", "folder")])
def test_each_export_offers_its_own_name_filter(make_window, answers, checkpoint, fmt, pattern):
    window = make_window(answers=answers)
    answers.open_file = str(checkpoint)
    offered = []

    def ask_save_path(title, suggested, file_filter=""):
        offered.append((suggested, file_filter))
        return None  # cancelled: nothing is written

    window.prompts.ask_save_path = ask_save_path
    assert window.interop.export(fmt) is None
    (suggested, file_filter), = offered
    assert pattern in file_filter and "All files" not in file_filter
    assert fmt in ("bundle", "backbone") or suggested.endswith(pattern[2:-1])
