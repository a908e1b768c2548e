"""The GUI while it trains: event-loop stalls and the cost of streaming into the plots.

One training run is made twice, interleaved and repeated:

* **headless** — ``Engine.run()`` on a thread, with a ``QueueSink`` nobody reads, no window;
* **GUI** — the same run started from the main window (``TrainingController.start``), its
  records drained at 20 Hz and drawn at most ten times a second into the live curves, the
  gradient heatmap, the confusion matrix and the canvas tints, the window shown (offscreen).

While the GUI run trains, a 10 ms precise ``QTimer`` on the main thread records how late each
tick fires: its maximum and 99th percentile are the longest stall a user would feel (also
given without the run's first second, which holds the one-time cost of showing the plot
docks). The same timer runs during the headless run, in an otherwise empty event loop, as
the control: what the machine and the training thread alone do to the main thread.

The throughput of each run is the engine's own measure (images per second over its telemetry
windows, which leave out set-up and validation), combined over all steps after the first
window as total images / total time. The ratio GUI / headless says what the GUI costs the
training (target ≥ 0.95; stalls < 50 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_training.py
    … --preset resnet20 --rounds 5 --epochs 3 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt, QTimer

from resnet_studio import presets
from resnet_studio.data import DataConfig
from resnet_studio.train import Engine, QueueSink, StepRecord, TrainConfig
from resnet_studio.ui.shell.app import application
from resnet_studio.ui.shell.main_window import MainWindow

TICK_MS = 10


class _Quiet:
    """Answers the window's questions: nothing to recover, discard, stop training."""

    def ask_restore(self, description: str) -> bool:
        return False

    def ask_unsaved(self, name: str) -> str:
        return "discard"

    def ask_stop_training(self) -> bool:
        return True

    def show_error(self, title: str, message: str) -> None:
        print(f"{title}: {message}", file=sys.stderr)


def config_for(args: argparse.Namespace, graph) -> TrainConfig:
    spec = graph.input_spec
    data = DataConfig(dataset="synthetic", train_size=args.train_size, val_size=256,
                      image_size=spec.height, channels=spec.channels, classes=spec.classes)
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.05,
                       schedule="constant", device=args.device, data=data)


def throughput(steps: list[StepRecord], batch_size: int, skip: int) -> float:
    """Total images / total time over the steps after the first ``skip`` (harmonic mean of
    the per-step rates: every step of a telemetry window carries the window's rate)."""
    rates = np.array([s.images_per_s for s in steps if s.step > skip], dtype=np.float64)
    return float(len(rates) * batch_size / np.sum(batch_size / rates)) if len(rates) else 0.0


def run_headless(args: argparse.Namespace, graph, run_dir: Path) -> tuple[float, list]:
    """The engine alone, on a plain thread (as in the GUI: torch's intra-op threads behave
    differently on the main thread of a busy machine). The main thread runs an event loop
    with only the stall meter in it, which gives the stalls that are not the GUI's doing:
    the machine's other work and the training thread's share of the interpreter lock."""
    app = application()
    sink = QueueSink()
    engine = Engine(graph.copy(), config_for(args, graph), [sink], run_dir)
    result = {}
    worker = threading.Thread(target=lambda: result.update(end=engine.run()))
    meter = StallMeter()
    poll = QTimer(interval=20)
    poll.timeout.connect(lambda: None if worker.is_alive() else app.quit())
    worker.start()
    meter.start()
    poll.start()
    app.exec()
    meter.stop()
    poll.stop()
    worker.join()
    engine.close()
    end = result["end"]
    assert end.status == "finished", end.message
    steps = [r for r in sink.drain() if isinstance(r, StepRecord)]
    return throughput(steps, args.batch_size, skip=10), meter.lateness


class StallMeter:
    """A precise 10 ms timer on the main thread; ``lateness`` in ms per tick."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.times: list[float] = []  # seconds since start() of each tick
        self._last = self._began = 0.0
        self.timer = QTimer(interval=TICK_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = self._began = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self.times.append(now - self._began)
        self._last = now

    def steady(self, after: float) -> list[float]:
        """The lateness of the ticks later than ``after`` seconds (past the start-up)."""
        return [late for late, t in zip(self.lateness, self.times) if t > after]

    def stop(self) -> None:
        self.timer.stop()


def run_gui(args: argparse.Namespace, graph, scratch: Path, index: int) -> tuple[float, list]:
    app = application()
    settings = QSettings(str(scratch / f"gui{index}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, _Quiet(), scratch / f"recovery{index}", graph)
    window.training.unsaved_runs_dir = scratch / "runs"
    window.resize(1400, 900)
    window.show()
    window.training.panel.settings.set_config(config_for(args, graph))
    steps: list[StepRecord] = []
    window.training.bridge.updated.connect(lambda update: steps.extend(update.steps))
    meter = StallMeter()
    window.training.bridge.finished.connect(app.quit)
    assert window.training.start()
    meter.start()
    app.exec()  # the application's own event loop, until the run has ended
    meter.stop()
    end = window.training.bridge.last_end
    assert end.status == "finished", end.message
    window.close()
    window.deleteLater()
    app.processEvents()
    return throughput(steps, args.batch_size, skip=10), meter.lateness, meter.steady(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small_resnet")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    application()
    graph = presets.create(args.preset)
    print(f"{args.preset}, synthetic {graph.input_spec.height}px, batch {args.batch_size}, "
          f"{args.epochs} epochs of {args.train_size // args.batch_size} steps, "
          f"{torch.get_num_threads()} torch threads, {args.rounds} rounds")
    headless, gui, stalls, steady, quiet = [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for r in range(args.rounds):
            order = ("headless", "gui") if r % 2 == 0 else ("gui", "headless")
            for kind in order:
                if kind == "headless":
                    rate, lateness = run_headless(args, graph, scratch / f"headless{r}")
                    headless.append(rate)
                    quiet.extend(lateness)
                else:
                    rate, lateness, later = run_gui(args, graph, scratch, r)
                    gui.append(rate)
                    stalls.extend(lateness)
                    steady.extend(later)
            print(f"round {r + 1}: headless {headless[-1]:,.0f} img/s, GUI {gui[-1]:,.0f} img/s,"
                  f" ratio {gui[-1] / headless[-1]:.3f}")
    ratios = [g / h for g, h in zip(gui, headless)]
    print(f"throughput GUI / headless: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target ≥ 0.95")
    print(f"lateness of a {TICK_MS} ms timer on the main thread (target < 50 ms):")
    for label, values in (("GUI run, whole run", stalls),
                          ("GUI run, after its first second", steady),
                          ("headless run, empty loop", quiet)):
        late = np.array(values)
        print(f"  {label}: max {late.max():.1f} ms, p99 {np.percentile(late, 99):.1f} ms, "
              f"median {np.median(late):.1f} ms over {len(late)} ticks")


if __name__ == "__main__":
    main()
