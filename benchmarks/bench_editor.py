"""How the editor copes with ResNet-152: the time to open and lay it out, and the time from a
parameter edit to updated shapes on the canvas, for the stage-level preset (13 nodes) and for
the same network expanded down to primitive layers (~1,000 nodes).

Run offscreen: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_editor.py``.
Prints the median and spread over interleaved repeats; exits 0.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

from resnet_studio import presets
from resnet_studio.graph.layout import auto_layout
from resnet_studio.ui.design.commands import SetParamsCommand
from resnet_studio.ui.shell.app import application
from resnet_studio.ui.shell.main_window import MainWindow
from resnet_studio.ui.shell.screenshot import _Declining
from resnet_studio.ui.structure import can_expand, expand_node, subgraph_for

REPEATS = 5


def expanded_resnet152():
    """ResNet-152 with every stage and block expanded into primitive layers."""
    from resnet_studio.compiler import Analyzer

    graph = presets.create("resnet152")
    analyzer = Analyzer()
    for _ in range(2):  # stages into blocks, then blocks into layers
        analysis = analyzer.analyze(graph)
        for node_id in [n.id for n in graph if can_expand(graph, n.id)]:
            expand_node(graph, node_id, subgraph_for(graph, node_id, analysis))
            analysis = analyzer.analyze(graph)
    auto_layout(graph)
    return graph


def settle(app) -> None:
    for _ in range(4):
        app.processEvents()


def time_open(window, app, graph) -> float:
    start = time.perf_counter()
    auto_layout(graph)
    window.document.load_graph(graph)
    window.editor.view.fit()
    settle(app)
    window.grab()  # one real paint of the whole window
    return time.perf_counter() - start


def time_edit(window, app, node_id: str, params: dict) -> float:
    """From pushing the edit to the analysis applied to the scene (the 150 ms debounce that
    groups keystrokes is left out: the analysis is started at once)."""
    doc = window.document
    start = time.perf_counter()
    doc.push(SetParamsCommand(doc.graph, [node_id], params))
    doc.analyze_now()
    settle(app)
    return time.perf_counter() - start


def event_loop_stall(app, seconds: float = 0.5) -> float:
    """Largest lateness of a 10 ms timer while the loop is otherwise idle (a sanity floor)."""
    clock, late = QElapsedTimer(), []
    timer = QTimer()
    timer.setInterval(10)
    last = [0]

    def tick():
        now = clock.elapsed()
        late.append(max(0, now - last[0] - 10))
        last[0] = now

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
    timer.stop()
    return max(late[1:] or [0])


def report(name: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    print(f"{name:58s} {statistics.median(ms):8.1f} ms  ({ms[0]:.1f} … {ms[-1]:.1f})")


def main() -> int:
    app = application()
    big = expanded_resnet152()
    print(f"ResNet-152: {len(presets.create('resnet152'))} nodes as stages, "
          f"{len(big)} nodes expanded to layers")
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, _Declining(), Path(scratch) / "rec")
        window.resize(1400, 900)
        window.show()
        settle(app)
        for round_ in range(REPEATS):  # interleave the cases within each round
            planes = 256 if round_ % 2 else 128
            results.setdefault("open + lay out, stage level", []).append(
                time_open(window, app, presets.create("resnet152")))
            results.setdefault("edit layer3.planes → shapes, stage level", []).append(
                time_edit(window, app, "layer3", {"planes": planes}))
            results.setdefault("edit bn1.eps → shapes, stage level", []).append(
                time_edit(window, app, "bn1", {"eps": 1e-5 * (round_ + 2)}))
            results.setdefault("open + lay out, expanded", []).append(
                time_open(window, app, big.copy()))
            results.setdefault("edit conv1.out_channels → shapes, expanded", []).append(
                time_edit(window, app, "conv1", {"out_channels": 64 + 8 * (round_ % 2 + 1)}))
        stall = event_loop_stall(app)
        window.close()
    for name, values in results.items():
        report(name, values)
    print(f"{'idle event-loop lateness after the runs (max)':58s} {stall:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
