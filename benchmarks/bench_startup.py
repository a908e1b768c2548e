"""Start-up: the time from launching ``resnet-studio`` to its editor window on screen, and to
the shapes and costs being filled in (the compiler and PyTorch load in the background once the
editor shows), measured in fresh processes (each cold start pays every import).

Run under Xvfb (``DISPLAY=:99 .venv/bin/python benchmarks/bench_startup.py``) or offscreen
(the default when DISPLAY is unset). A window counts as visible when Qt delivers its first
Expose event. Prints the median and spread over repeats, and what was imported when the
editor showed; exits 0.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
ROOT = Path(__file__).resolve().parents[1]

# Runs in the child: the real entry point, with an event filter that reports the editor's
# first Expose event (seconds since the child's interpreter started), then polls until the
# document has its first analysis and closes the window.
CHILD = r"""
import sys, time
started = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from resnet_studio.ui.shell import app as studio

def heavy():
    return ",".join(m for m in ("torch", "torchvision", "torch._dynamo") if m in sys.modules)

class Watch(QObject):
    window = None
    def eventFilter(self, obj, event):
        if (self.window is None and event.type() == QEvent.Type.Expose
                and obj.isWindowType() and obj.isExposed()):
            widget = next((w for w in QApplication.topLevelWidgets()
                           if w.windowHandle() is obj), None)
            if type(widget).__name__ == "MainWindow":
                self.window = widget
                print(f"editor {time.time() - started:.3f} {heavy() or 'none'}", flush=True)
                self.poll = QTimer(interval=20)
                self.poll.timeout.connect(self.check)
                self.poll.start()
        return False
    def check(self):
        if self.window.document.analysis is not None:
            self.poll.stop()
            print(f"shapes {time.time() - started:.3f} {heavy()}", flush=True)
            QTimer.singleShot(0, self.window.close)

app = studio.application()
watch = Watch()
app.installEventFilter(watch)
studio.main([])
"""


def one_start(env: dict[str, str]) -> tuple[float, float, str]:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(started)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    if "editor" not in lines or "shapes" not in lines:
        raise SystemExit(f"the app did not show its window:\n{done.stdout}\n{done.stderr}")
    editor, loaded = lines["editor"].split()
    shapes, later = lines["shapes"].split()
    return float(editor), float(shapes), f"when the editor showed: {loaded}; with shapes: {later}"


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.2f} s, min {min(values):.2f}, "
            f"max {max(values):.2f} (n={len(values)})")


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(scratch),
               XDG_CONFIG_HOME=str(scratch / "config"), XDG_DATA_HOME=str(scratch / "data"))
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    editors, shapes, notes = [], [], ""
    for _ in range(REPEATS):
        editor, shaped, notes = one_start(env)
        editors.append(editor)
        shapes.append(shaped)
    platform = env.get("QT_QPA_PLATFORM") or f"X display {env['DISPLAY']}"
    print(f"start-up on {platform}, {REPEATS} cold starts")
    print(f"  launch → editor window on screen : {spread(editors)}")
    print(f"  launch → shapes and costs shown  : {spread(shapes)}")
    print(f"  torch modules loaded {notes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
