"""The live curves advance on time as well as on steps: with slow steps (here ~100 ms each,
a sleep added to the training step), the records reach the window at least every ~0.5 s, not
only every ``telemetry_every`` steps."""

from __future__ import annotations

import time

from training_helpers import configure, wait_finished

from resnet_studio.train.engine import FLUSH_SECONDS, Engine

STEP_SECONDS = 0.1


def test_slow_steps_reach_the_window_at_least_twice_a_second(trainer, qtbot, monkeypatch):
    window, c, _ = trainer
    original = Engine._train_step

    def slow_step(self, x, y, *, measure):
        time.sleep(STEP_SECONDS)
        original(self, x, y, measure=measure)

    monkeypatch.setattr(Engine, "_train_step", slow_step)
    # 16 steps per epoch and a telemetry window of 10: steps alone would flush after step 10
    configure(window, epochs=1, train_size=128, batch_size=8)
    s = c.panel.settings
    s._base = s._base.replace(telemetry_every=10)
    window_ends: list[int] = []  # the step that closes each telemetry window, as delivered
    c.bridge.updated.connect(lambda u: window_ends.extend(
        r.step for r in u.steps if r.weight_norms is not None))
    assert c.start()
    qtbot.waitUntil(lambda: len(window_ends) >= 1, timeout=30_000)
    assert window_ends[0] < 10  # the first records came before a full step window
    end = wait_finished(qtbot, c)
    assert end.status == "finished" and window_ends[-1] == 16
    # every step takes at least STEP_SECONDS, so a window of n steps spans ≥ n × 0.1 s: none
    # may hold more steps than fit into half a second
    gaps = [b - a for a, b in zip([0, *window_ends], window_ends)]
    most = int(0.5 / STEP_SECONDS)
    assert max(gaps) <= most, gaps
    assert FLUSH_SECONDS <= 0.5
    assert c.views.plots.points == 16
