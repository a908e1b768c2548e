"""Closing the window while a network trains: the question, the cooperative stop, the wait
for the worker thread, and a process that exits cleanly (a QThread destroyed while running
would abort Python with "QThread: Destroyed while thread is still running")."""

from __future__ import annotations

from script_helpers import run_script, training_script
from training_helpers import TrainingPrompts, configure, tiny_net


def test_closing_the_window_while_training_asks_stops_and_waits(make_window, qtbot, tmp_path):
    prompts = TrainingPrompts()
    window = make_window(tiny_net(), prompts)
    c = window.training
    c.runner.unsaved_runs_dir = tmp_path / "runs"
    configure(window, epochs=500)
    c.start()
    qtbot.waitUntil(lambda: c.views.plots.points > 0, timeout=30_000)
    prompts.stop_training_answer = False
    assert not window.close()  # the user chose to keep training
    assert window.isVisible() and c.bridge.is_active()
    prompts.stop_training_answer = True
    assert window.close()
    assert not window.isVisible() and not c.bridge.is_active()
    assert c.bridge.last_end.status == "stopped"
    assert [a for a in prompts.asked if a[0] == "stop_training"] == [("stop_training", None)] * 2
    assert (c.current_run / "last.pt").is_file()  # what was trained is kept


def test_closing_during_training_exits_the_process_cleanly(tmp_path):
    source = training_script(["window.close()", "app.quit()"],
                             '"closed", window.training.bridge.last_end.status')
    done = run_script(tmp_path, source)
    assert done.returncode == 0, done.stderr
    assert "closed stopped" in done.stdout
    assert "Destroyed while thread" not in done.stderr
