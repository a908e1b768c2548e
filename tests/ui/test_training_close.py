"""Closing the window while a network trains: the question, the cooperative stop, the wait
for the worker thread, and a process that exits cleanly (a QThread destroyed while running
would abort Python with "QThread: Destroyed while thread is still running")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from training_helpers import TrainingPrompts, configure, tiny_net

ROOT = Path(__file__).resolve().parents[2]



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


CLOSE_SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path
    sys.path.insert(0, {helpers!r})
    from PySide6.QtCore import QSettings, QTimer
    from resnet_studio.ui.app import application
    from resnet_studio.ui.main_window import MainWindow
    from training_helpers import TrainingPrompts, configure, tiny_net

    app = application()
    scratch = Path(tempfile.mkdtemp())
    window = MainWindow(QSettings(str(scratch / "s.ini"), QSettings.Format.IniFormat),
                        TrainingPrompts(), scratch / "recovery", tiny_net())
    window.training.runner.unsaved_runs_dir = scratch / "runs"
    window.show()
    configure(window, epochs=500)
    window.training.start()

    def close_when_training():
        plots = window.training.views.plots
        if plots is not None and plots.points > 0:
            window.close()
            app.quit()
        else:
            QTimer.singleShot(20, close_when_training)

    QTimer.singleShot(20, close_when_training)
    app.exec()
    print("closed", window.training.bridge.last_end.status)
""")


def test_closing_during_training_exits_the_process_cleanly(tmp_path):
    script = tmp_path / "close.py"
    script.write_text(CLOSE_SCRIPT.format(helpers=str(Path(__file__).parent)))
    env = {"QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert "closed stopped" in done.stdout
    assert "Destroyed while thread" not in done.stderr
