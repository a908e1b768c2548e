"""After a run the panel gives the run's images/s: the streamed figures' time-weighted mean,
not whatever the last telemetry window measured."""

from __future__ import annotations

from training_helpers import configure, wait_finished


def test_the_finished_run_shows_its_own_images_per_s(trainer, qtbot):
    window, controller, _ = trainer
    configure(window, epochs=1, train_size=64, val_size=16, batch_size=8)
    assert controller.start()
    end = wait_finished(qtbot, controller)
    assert end.status == "finished" and end.images_per_s > 0
    details = controller.panel.details.text()
    assert details.startswith(f"{end.images_per_s:,.0f} images/s over the run · ")
    assert "ETA" not in details
