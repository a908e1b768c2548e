"""Real training runs from the window: streaming, pause, resume, stop, export, resume from a
run directory, failures, and closing the window while a network trains."""

from __future__ import annotations

import json

import numpy as np
import torch
from training_helpers import configure, tiny_net, wait_finished

from resnet_studio.compiler import build
from resnet_studio.graph import project
from resnet_studio.ui.design.commands import SetParamsCommand
from resnet_studio.ui.train.bridge import PAUSED, RUNNING
from resnet_studio.ui.train.views import TAB_RUNS

LAYERS = ("conv1", "bn1", "conv2", "bn2", "fc")




def drain_ticks(qtbot, controller, ticks: int = 5) -> None:
    """Let the bridge's drain timer fire ``ticks`` times (the event loop keeps running)."""
    seen = []
    controller.bridge._timer.timeout.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= ticks, timeout=10_000)


def test_a_run_streams_pauses_resumes_stops_and_exports_its_checkpoint(trainer, qtbot,
                                                                        tmp_path):
    window, c, prompts = trainer
    configure(window, epochs=500)  # far more than the test lets it train
    assert c.start()
    assert not c.actions["train_start"].isEnabled()
    qtbot.waitUntil(lambda: c.views.plots.points >= 4, timeout=30_000)
    assert c.start_record.layer_names == LAYERS
    qtbot.waitUntil(lambda: set(window.editor.scene.tinted_nodes()) == set(LAYERS))
    assert window.current_workspace == "train" and window.docks["curves"].isVisible()
    window.show_workspace("design")  # the canvas shows the gradient tints and their legend
    assert c.legend.isVisible()
    assert not c.panel.settings.isEnabled()  # locked while the run uses them
    # the run trains a copy: editing the network now changes the next run, and says so
    window.document.push(SetParamsCommand(window.document.graph, ["conv1"], {"out_channels": 6}))
    assert "applies to the next run" in c.panel.state.text()
    assert c.bridge.engine.model.conv1.out_channels == 4

    c.actions["train_pause"].trigger()
    qtbot.waitUntil(lambda: c.bridge.state == PAUSED, timeout=30_000)
    paused_at = c.bridge.engine.step
    assert c.views.plots.points == paused_at  # everything up to the pause was flushed and drawn
    drain_ticks(qtbot, c)
    assert c.bridge.engine.step == paused_at and c.views.plots.points == paused_at
    assert c.actions["train_resume"].isEnabled() and not c.actions["train_pause"].isEnabled()

    c.actions["train_resume"].trigger()
    qtbot.waitUntil(lambda: c.views.plots.points > paused_at, timeout=30_000)
    assert c.bridge.state == RUNNING

    with qtbot.waitSignal(c.bridge.finished, timeout=30_000) as finished:
        c.actions["train_stop"].trigger()
    end = finished.args[0]
    assert end.status == "stopped" and end.step == c.bridge.engine.step
    assert c.views.plots.points == end.step
    assert window.editor.scene.tinted_nodes() == [] and not c.legend.isVisible()
    assert c.panel.settings.isEnabled() and c.actions["train_start"].isEnabled()

    prompts.save_path = str(tmp_path / "exported.pt")
    prompts.item_answer = "last.pt"  # the weights at the stop, not the best epoch's
    c.actions["export_checkpoint"].trigger()
    assert "last.pt: latest weights" in window.statusBar().currentMessage()
    state = torch.load(tmp_path / "exported.pt", map_location="cpu", weights_only=True)
    assert state["step"] == end.step
    model = build(project.from_dict(state["graph"], window.document.graph.lookup))
    model.load_state_dict(state["model"])
    gui_model = c.bridge.engine.model
    x = torch.randn(6, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), gui_model.eval()(x), atol=1e-6)
    summary = c.views.runs.summaries[c.current_run]
    assert summary.status == "stopped" and summary.has_checkpoint


def test_a_stopped_run_resumes_from_its_last_checkpoint(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=300)
    c.start()
    qtbot.waitUntil(lambda: c.views.plots.points >= 6, timeout=30_000)
    c.bridge.stop()
    first = wait_finished(qtbot, c)
    run = c.current_run
    c.views.runs.select_paths([run])
    assert c.views.runs.buttons["resume"].isEnabled()
    c.views.runs.buttons["resume"].click()
    qtbot.waitUntil(lambda: c.start_record is not None, timeout=30_000)
    assert c.start_record.resumed_step == first.step
    assert c.views.plots.points >= first.step  # the history before the checkpoint is shown again
    qtbot.waitUntil(lambda: c.views.plots.points >= first.step + 4, timeout=30_000)
    c.bridge.stop()
    second = wait_finished(qtbot, c)
    assert second.status == "stopped" and second.step > first.step
    steps = [json.loads(line)["step"] for line in (run / "steps.jsonl").read_text().splitlines()]
    assert steps == list(range(1, second.step + 1))  # one uninterrupted run on disk
    assert np.array_equal(c.views.plots.loss.raw.x, np.arange(1, second.step + 1))


def test_a_diverging_run_reports_why_and_leaves_the_app_usable(trainer, qtbot):
    window, c, prompts = trainer
    window.document.load_graph(tiny_net(batchnorm=False))
    configure(window, epochs=40, lr=100.0, weight_decay=0.0)
    assert c.start()
    end = wait_finished(qtbot, c)
    assert end.status == "failed" and "diverged" in end.message
    assert prompts.errors == [("Training failed", end.message)]
    assert c.panel.state.text() == end.message and c.panel.state.isVisible()
    assert "b42318" in c.panel.state.styleSheet()  # shown as an error
    assert c.views.plots.loss.raw.y.max() > 1e6  # the plot shows the loss blowing up
    assert c.views.runs.summaries[c.current_run].status == "failed"
    # the app goes on: the next run, with a sane learning rate, trains to the end
    configure(window, epochs=1, lr=0.01)
    assert c.start()
    assert wait_finished(qtbot, c).status == "finished"
    assert len(prompts.errors) == 1


def test_bad_settings_are_refused_before_any_thread_starts(trainer):
    window, c, _ = trainer
    doc = window.document
    doc.push(SetParamsCommand(doc.graph, ["fc"], {"out_features": 7}))
    assert not c.start() and not c.start_with_twin()
    assert "fix it before training" in c.panel.state.text() and not c.bridge.is_active()
    doc.undo_stack.undo()
    s = c.panel.settings
    s.dataset.setCurrentIndex(s.dataset.findData("folder"))
    s.folder.setText("")
    assert not c.start()
    assert "folder" in c.panel.state.text() and not c.bridge.is_active()
    assert "folder" in window.statusBar().currentMessage()


def test_plain_twin_trains_after_the_network_and_both_are_compared(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=1)
    assert c.start_with_twin()
    qtbot.waitUntil(lambda: c.current_run is not None and c.current_run.name.startswith(
        "tiny_plain-") and not c.bridge.is_active(), timeout=60_000)
    assert c.bridge.last_end.status == "finished"
    runs = c.views.compare.shown
    assert len(runs) == 2 and runs[0].name.startswith("tiny-")
    twin_graph = json.loads((runs[1] / "graph.json").read_text())
    assert {n["id"]: n["type"] for n in twin_graph["nodes"]}["add"] == "identity"
    text = c.views.compare.differences.toPlainText()
    assert "add: type add → identity" in text
    assert c.views.tabs.currentIndex() == TAB_RUNS
    assert sorted(c.views.runs.selected_paths()) == sorted(runs)
