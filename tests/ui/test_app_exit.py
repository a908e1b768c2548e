"""The application exits cleanly after copying nodes (PySide6 crashes at exit when the
clipboard still holds a Python-made QMimeData)."""

import os
import subprocess
import sys

SCRIPT = """
from PySide6.QtCore import QTimer
from resnet_studio.ui.design import clipboard
from resnet_studio.ui.shell.app import application
app = application()
app.clipboard().setMimeData(clipboard.to_mime({"nodes": [], "edges": []}))
QTimer.singleShot(0, app.quit)
app.exec()
print("exited")
"""


def test_quitting_with_nodes_on_the_clipboard_exits_cleanly():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], check=False, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exited"
