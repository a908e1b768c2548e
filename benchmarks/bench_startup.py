"""Start-up: the time from launching ``resnet-studio`` to its first visible window, and to
the editor's window, measured in fresh processes (each cold start pays every import).

Run under Xvfb (``DISPLAY=:99 .venv/bin/python benchmarks/bench_startup.py``) or offscreen
(the default when DISPLAY is unset). A window counts as visible when Qt delivers its first
Expose event. Prints the median and spread over repeats, and what the start-up imported;
exits 0.
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

# Runs in the child: the real entry point, with an event filter that reports Expose events
# (seconds since the child's interpreter started) and quits once the editor is on screen.
CHILD = r"""
import sys, time
started = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from resnet_studio.ui import app as studio

class Watch(QObject):
    first = None
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Expose and obj.isWindowType() and obj.isExposed():
            now = time.time() - started
            if self.first is None:
                self.first = now
                print(f"first {now:.3f} torch_loaded={'torch' in sys.modules}", flush=True)
            widget = next((w for w in QApplication.topLevelWidgets()
                           if w.windowHandle() is obj), None)
            if type(widget).__name__ == "MainWindow":
                print(f"editor {now:.3f}", flush=True)
                QTimer.singleShot(0, widget.close)
        return False

app = studio.application()
watch = Watch()
app.installEventFilter(watch)
studio.main([])
print("dynamo", "torch._dynamo" in sys.modules, "torchvision", "torchvision" in sys.modules)
"""


def one_start(env: dict[str, str]) -> tuple[float, float, str]:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(started)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    if "first" not in lines or "editor" not in lines:
        raise SystemExit(f"the app did not show its windows:\n{done.stdout}\n{done.stderr}")
    first = float(lines["first"].split()[0])
    loaded = (f"{lines['first'].split()[1]}; "
              f"once the editor is open: torch._dynamo {lines['dynamo']}")
    return first, float(lines["editor"]), loaded


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.2f} s, min {min(values):.2f}, "
            f"max {max(values):.2f} (n={len(values)})")


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(scratch),
               XDG_CONFIG_HOME=str(scratch / "config"), XDG_DATA_HOME=str(scratch / "data"))
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    firsts, editors, notes = [], [], ""
    for _ in range(REPEATS):
        first, editor, notes = one_start(env)
        firsts.append(first)
        editors.append(editor)
    platform = env.get("QT_QPA_PLATFORM") or f"X display {env['DISPLAY']}"
    print(f"start-up on {platform}, {REPEATS} cold starts")
    print(f"  launch → first visible window : {spread(firsts)}")
    print(f"  launch → editor window        : {spread(editors)}")
    print(f"  at the first window: {notes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
