"""What one render of a live run costs the GUI thread: the progress bar is not repainted
inside it, the canvas is recoloured at most every ``TINT_SECONDS`` and the gradient heatmap at
most every ``HEATMAP_SECONDS``, while the curves follow every render. Records go in as the
bridge hands them over; the clocks are the tests' own."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject

from resnet_studio.train.records import RunStartRecord, StepRecord
from resnet_studio.ui.train.bridge import RUNNING, RunUpdate
from resnet_studio.ui.train.controller import TINT_SECONDS
from resnet_studio.ui.train.views import HEATMAP_SECONDS, TAB_CURVES, TAB_GRADIENTS

LAYERS = ("conv1", "bn1", "conv2", "bn2", "fc")  # tiny_net's layers: nodes on the canvas


class PaintCounter(QObject):
    def __init__(self, widget) -> None:
        super().__init__()
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def live(trainer, monkeypatch):
    """The training views of a window as during a run (no engine: records are handed in)."""
    window, c, _ = trainer
    monkeypatch.setattr(c.bridge, "is_active", lambda: True)
    c.bridge.state = RUNNING
    c.show_docks()
    start = RunStartRecord(LAYERS, ("Conv2d",) * 5, (10,) * 5, {}, {}, None, "cpu", 1, 100,
                           1000, 0, None)
    c._on_update(RunUpdate(start=start))
    c.clock = c.views.clock = Clock()
    return window, c


def steps(first: int, count: int = 4) -> list[StepRecord]:
    rng = np.random.default_rng(first)
    return [StepRecord(s, 1, 1.0 / s, 0.5, 0.1, 100.0, rng.uniform(0.01, 1.0, len(LAYERS)))
            for s in range(first, first + count)]


def render(c, records: list[StepRecord], later: float = 0.0) -> None:
    c.clock.now += later
    c._on_update(RunUpdate(steps=records))
    c.render()


def test_the_progress_bar_is_repainted_after_the_render_not_inside_it(live, qtbot):
    window, c = live
    bar = c.panel.progress
    window.reveal("training")
    render(c, steps(1))
    qtbot.waitUntil(lambda: not bar.visibleRegion().isEmpty())
    counter = PaintCounter(bar)
    c.panel.show_step(steps(500, 1)[0])  # half-way: a change the bar shows
    assert bar.value() == 500 and "step 500/1,000" in bar.format()
    assert counter.paints == 0  # QProgressBar.setValue alone would have painted by now
    qtbot.waitUntil(lambda: counter.paints > 0)  # the ordinary repaint, from the event loop


def test_the_canvas_is_recoloured_at_most_every_tint_seconds(live):
    window, c = live
    render(c, steps(1))
    assert set(window.editor.scene.tinted_nodes()) == set(LAYERS) and c.legend.step == 4
    render(c, steps(5), later=TINT_SECONDS / 5)
    assert c.views.plots.points == 8  # the curves follow every render …
    assert c.legend.step == 4  # … the canvas keeps its colours a while
    render(c, steps(9), later=TINT_SECONDS)
    assert c.legend.step == 12


def test_the_heatmap_is_redrawn_at_most_every_heatmap_seconds_while_a_run_streams(live):
    _, c = live
    views = c.views
    views.show_tab(TAB_GRADIENTS)
    render(c, steps(1))
    heatmap = views.gradients
    assert not heatmap.dirty and heatmap.latest_step == 4
    assert views.plots.dirty  # hidden: drawn when its tab is shown
    render(c, steps(5), later=HEATMAP_SECONDS / 5)
    assert heatmap.dirty and heatmap.image.image.shape[1] == 4  # taken in, not yet drawn
    render(c, steps(9), later=HEATMAP_SECONDS)
    assert not heatmap.dirty and heatmap.image.image.shape[1] == 12
    render(c, steps(13), later=HEATMAP_SECONDS / 5)
    views.draw(all_views=True)  # the end of the run draws everything at once
    assert not heatmap.dirty and heatmap.image.image.shape[1] == 16
    views.show_tab(TAB_CURVES)
    assert not views.plots.dirty and views.plots.loss.raw_item.getData()[0].size == 16


def test_a_run_without_layer_telemetry_leaves_the_canvas_uncoloured(trainer, monkeypatch):
    """Its records hold NaN for the per-layer norms (not measured), which would otherwise paint
    every layer in the error red of a non-finite gradient."""
    window, c, _ = trainer
    monkeypatch.setattr(c.bridge, "is_active", lambda: True)
    c.bridge.state = RUNNING
    c.show_docks()
    start = RunStartRecord(LAYERS, ("Conv2d",) * 5, (10,) * 5, {"layer_telemetry": False}, {},
                           None, "cpu", 1, 100, 1000, 0, None)
    c._on_update(RunUpdate(start=start))
    c.clock = c.views.clock = Clock()
    unmeasured = [StepRecord(s, 1, 1.0 / s, 0.5, 0.1, 100.0, np.full(len(LAYERS), np.nan))
                  for s in range(1, 5)]
    render(c, unmeasured)
    assert window.editor.scene.tinted_nodes() == [] and not c.legend.isVisible()
    assert c.views.plots.points == 4  # the loss curves still follow
