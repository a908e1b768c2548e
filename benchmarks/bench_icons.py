"""Icons: what qtawesome costs, to decide where it may run (see ``resnet_studio.ui.shell.icons``).

Each repeat is a fresh process with a QApplication already made (as in the app): the time to
import qtawesome, then to make every icon the toolbar and menus declare (the first one loads
the icon fonts), then to make them all again (the cache). Prints the median and spread over
repeats; exits 0. Run offscreen: ``QT_QPA_PLATFORM=offscreen .venv/bin/python
benchmarks/bench_icons.py``.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
ROOT = Path(__file__).resolve().parents[1]
DECLARING = ("resnet_studio/ui/design/actions.py", "resnet_studio/ui/train/controller.py")

CHILD = r"""
import sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
names = sys.argv[1:]
t0 = time.perf_counter()
import qtawesome
t1 = time.perf_counter()
from resnet_studio.ui.shell import icons
made = [icons.icon(n) for n in names]
t2 = time.perf_counter()
icons._cache.clear()
again = [icons._make(n) for n in names]
t3 = time.perf_counter()
assert all(i is not None for i in made), "an icon name is unknown"
print(1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t3 - t2))
"""


def declared_icons() -> list[str]:
    text = "".join((ROOT / p).read_text(encoding="utf-8") for p in DECLARING)
    return re.findall(r'icon="([^"]+)"', text)


def main() -> int:
    names = declared_icons()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(REPEATS):
        done = subprocess.run([sys.executable, "-c", CHILD, *names], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=True)
        runs.append([float(x) for x in done.stdout.split()])
    print(f"{len(names)} icons, {REPEATS} fresh processes (median, min-max, ms):")
    for i, label in enumerate(("import qtawesome", f"make {len(names)} icons (fonts load)",
                               f"make {len(names)} again (fonts loaded)")):
        values = [r[i] for r in runs]
        print(f"  {label:<32} {statistics.median(values):7.1f}  "
              f"({min(values):.1f}-{max(values):.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
