"""Renders the four analysis views to PNG files for the documentation, offscreen:

    QT_QPA_PLATFORM=offscreen python -m resnet_studio.ui.analyze.screenshots RUN TWIN OUT_DIR

RUN is a trained run directory and TWIN its plain twin's run; the signal view measures RUN's
network at init, the others analyse the runs as the app would (on this thread: a script),
with RUN picked in the run picker above the pages.
Writes analysis-signal.png, analysis-lesion.png, analysis-landscape.png, analysis-explain.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from ..shell.qt_app import application
from . import jobs
from .dialogs import SIGNAL_DEFAULTS
from .dock import AnalysisDock

SIZE = (1180, 500)


def _no_progress(done: int, total: int, message: str) -> None:
    """The script prints nothing per step."""


def _sample_image(run_path: Path, folder: Path) -> Path:
    """The run's first validation image, as the network saw it (before normalising), in a PNG."""
    import numpy as np
    from PIL import Image

    from ...analysis.common import load_run
    from ...analysis.explain import validation_image

    image, _ = validation_image(load_run(run_path), 0)
    pixels = (image.numpy() * 255).round().astype(np.uint8)
    path = folder / "sample.png"
    Image.fromarray(pixels.transpose(1, 2, 0).squeeze()).save(path)
    return path


def _render(app: QApplication, dock: AnalysisDock, key: str, made: Any, path: Path) -> None:
    result, context = made
    dock.views[key].show_result(result, context)
    dock.show_view(key)
    dock.set_idle("")
    for _ in range(8):
        app.processEvents()
    dock.grab().save(str(path), "PNG")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


def main(argv: list[str]) -> int:
    from ...analysis.common import load_run
    from ...graph import project
    from ...train.rundir import summarise

    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run, twin, out = (Path(a) for a in argv)
    out.mkdir(parents=True, exist_ok=True)
    app = application([])
    dock = AnalysisDock()
    dock.resize(*SIZE)
    dock.show_runs([summarise(run), summarise(twin)], run)  # RUN picked, as in the app
    dock.show()
    graph = project.to_dict(load_run(run).graph)
    made = {"signal": jobs.signal_job(graph, SIGNAL_DEFAULTS),
            "lesion": jobs.lesion_job([run, twin], {"samples": 500}),
            "landscape": jobs.landscape_job([run, twin], {"samples": 128, "steps_1d": 21,
                                                          "steps_2d": 13, "span": 1.0})}
    for key, job in made.items():
        _render(app, dock, key, job(_no_progress, None), out / f"analysis-{key}.png")
    with tempfile.TemporaryDirectory() as folder:
        image = _sample_image(run, Path(folder))
        job = jobs.explain_job(run, image, {"top_k": 5, "method": "integrated_gradients"})
        _render(app, dock, "explain", job(_no_progress, None), out / "analysis-explain.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
