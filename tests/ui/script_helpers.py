"""Helpers for the tests that run the application in a separate Python process: how a process
ends (a clean exit, or an abort such as "QThread: Destroyed while thread is still running")
can only be seen from outside it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent

# The main window on the tiny network, training a run too long to end by itself; once the
# curves show a point, ON_TRAINING runs; after the event loop REPORT is printed.
_TRAINING_SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path
    sys.path.insert(0, HELPERS)
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from resnet_studio.ui.shell.app import application
    from resnet_studio.ui.shell.main_window import MainWindow
    from training_helpers import TrainingPrompts, configure, tiny_net

    app = application()
    scratch = Path(tempfile.mkdtemp())
    window = MainWindow(QSettings(str(scratch / "s.ini"), QSettings.Format.IniFormat),
                        TrainingPrompts(), scratch / "recovery", tiny_net())
    window.training.runner.unsaved_runs_dir = scratch / "runs"
    window.show()
    configure(window, epochs=500)
    window.training.start()

    def when_training():
        plots = window.training.views.plots
        if plots is not None and plots.points > 0:
            ON_TRAINING
        else:
            QTimer.singleShot(20, when_training)

    QTimer.singleShot(20, when_training)
    app.exec()
    print(REPORT)
""")


def training_script(on_training: list[str], report: str) -> str:
    """The source of a script that starts training in the main window, runs the statements
    ``on_training`` once the curves show a point, and prints ``report`` (an expression on
    ``window``) when the application's event loop has ended."""
    line = next(line for line in _TRAINING_SCRIPT.splitlines() if "ON_TRAINING" in line)
    indent = "\n" + line[: len(line) - len(line.lstrip())]
    return (_TRAINING_SCRIPT.replace("HELPERS", repr(str(HELPERS)))
            .replace("ON_TRAINING", indent.join(on_training))
            .replace("REPORT", report))


def run_script(tmp_path: Path, source: str, timeout: float = 150) -> subprocess.CompletedProcess:
    """Run ``source`` with this checkout's package, offscreen, with home and configuration
    folders in ``tmp_path`` (so nothing of the user's is read or written)."""
    script = tmp_path / "script.py"
    script.write_text(source)
    env = {"QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path)}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=tmp_path, check=False)
