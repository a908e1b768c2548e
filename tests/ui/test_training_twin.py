"""Train with Plain Twin reuses a finished run of the same network and settings (only the
twin trains), labels both halves in the comparison, and a stopped first half says that the
twin is cancelled."""

from __future__ import annotations

from training_helpers import configure, wait_finished

from resnet_studio.train.rundir import list_runs


def test_a_finished_run_with_the_same_settings_is_reused(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=1)
    assert c.start() and wait_finished(qtbot, c).status == "finished"
    first = c.current_run
    window.document.graph.move_node("conv1", (40.0, 10.0))  # moving a node changes nothing
    assert c.start_with_twin()
    assert c.current_run.name.startswith("tiny_plain-")  # the residual half is not retrained
    assert f"({first.name}): it is reused" in window.statusBar().currentMessage()
    assert wait_finished(qtbot, c).status == "finished"
    twin = c.current_run
    assert list_runs(c.runner.runs_root()) == [first, twin]
    assert c.views.compare.shown == [first, twin]
    names = c.views.compare.names
    assert names[0].startswith("residual: tiny ") and names[1].startswith("plain twin: tiny_plain")
    # other settings: the network's half would train again
    c.panel.settings.lr.setValue(0.02)
    assert c.runner.finished_run_of(window.document.graph) is None


def test_stopping_the_first_half_says_the_twin_is_cancelled(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=300)
    assert c.start_with_twin()
    qtbot.waitUntil(lambda: c.views.plots.points >= 2, timeout=30_000)
    first = c.current_run
    c.bridge.stop()
    end = wait_finished(qtbot, c)
    assert end.status == "stopped"
    assert "plain twin is cancelled" in c.panel.state.text()
    qtbot.wait(300)
    assert not c.bridge.is_active() and c.current_run == first
    assert list_runs(c.runner.runs_root()) == [first]
