"""Start-up: a window shows before PyTorch loads; the editor follows when it has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from resnet_studio.ui.startup import ModuleLoader, StartupWindow

ROOT = Path(__file__).resolve().parents[2]

# The modules the first window needs must not pull in torch (5 s and 1 GB on a cold start),
# nor torchvision and torch._dynamo, which the editor never needs to open.
IMPORT_CHECK = """
import sys
from resnet_studio.ui import app, startup
heavy = [m for m in ("torch", "torchvision", "torch._dynamo", "pyqtgraph") if m in sys.modules]
print("heavy:", heavy)
"""


def test_the_first_window_imports_no_torch():
    done = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT),
                                                      "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "heavy: []"


def test_startup_window_shows_the_name_and_what_it_waits_for(qtbot):
    window = StartupWindow("ResNet Studio", (600, 400))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "ResNet Studio"
    assert "Loading PyTorch" in window.label.text()


def test_loader_delivers_the_module_on_the_gui_thread(qtbot):
    loader = ModuleLoader("resnet_studio.ui.format")
    with qtbot.waitSignal(loader.loaded, timeout=30_000) as blocker:
        loader.start()
    assert blocker.args[0].__name__ == "resnet_studio.ui.format"
    loader.wait()


def test_loader_reports_a_failed_import(qtbot):
    loader = ModuleLoader("resnet_studio.ui.no_such_module")
    with qtbot.waitSignal(loader.failed, timeout=30_000) as blocker:
        loader.start()
    assert "No module named" in blocker.args[0] and "no_such_module" in blocker.args[0]
    loader.wait()
