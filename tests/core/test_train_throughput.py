"""images/s means one thing during and after a run: the run's figure is the streamed
per-window figures' mean, each window weighted by its time, recomputed here from the records."""

from __future__ import annotations

import pytest
from test_train_support import run_engine, tiny_config

from resnet_studio.train.progress import summary
from resnet_studio.train.records import StepRecord


def _windows(steps: list[StepRecord]) -> list[list[StepRecord]]:
    """The telemetry windows: each ends with the one record that carries weight norms."""
    windows, current = [], []
    for record in steps:
        current.append(record)
        if record.weight_norms is not None:
            windows.append(current)
            current = []
    assert not current
    return windows


@pytest.mark.parametrize("telemetry_every", [1, 2, 5])
def test_the_runs_images_per_s_is_the_time_weighted_mean_of_the_streamed_ones(telemetry_every):
    config = tiny_config(epochs=2, telemetry_every=telemetry_every)  # 6 full batches of 8
    _, recorder, end = run_engine(config)
    windows = _windows(recorder.of(StepRecord))
    assert sum(map(len, windows)) == end.step == 12
    images = seconds = 0.0
    for window in windows:
        rate = window[0].images_per_s
        assert all(r.images_per_s == rate for r in window)  # one figure per window
        count = config.batch_size * len(window)
        images, seconds = images + count, seconds + count / rate
    assert end.images_per_s == pytest.approx(images / seconds, rel=1e-9)
    streamed = [w[0].images_per_s for w in windows]
    assert min(streamed) <= end.images_per_s <= max(streamed)


def test_the_command_lines_closing_lines_give_the_same_figure():
    _, _, end = run_engine(tiny_config(epochs=1))
    assert f"6 steps, {end.images_per_s:,.0f} images/s" in summary(end, 3.0)
