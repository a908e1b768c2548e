"""What the window keeps of training results: a failed run never becomes the run in focus,
a new project starts without the previous one's results, the runs list follows a running
run's epoch, and data errors give advice a GUI user can follow."""

from __future__ import annotations

from training_helpers import configure, tiny_net, wait_finished

from resnet_studio.data.torchvision_sets import SETS, _not_found_message
from resnet_studio.ui.data.wording import app_wording


def test_a_failed_run_leaves_the_last_good_run_in_focus(trainer, qtbot):
    window, c, _ = trainer
    window.document.load_graph(tiny_net(batchnorm=False))
    configure(window, epochs=1, lr=0.01)
    assert c.start() and wait_finished(qtbot, c).status == "finished"
    good = c.current_run
    configure(window, epochs=40, lr=100.0, weight_decay=0.0)
    assert c.start()
    assert window.run_focus.run != good  # while it trains, the new run is the one in focus
    assert wait_finished(qtbot, c).status == "failed"
    assert window.run_focus.run == good
    _, label = window.runs.model_for_check(window.run_focus.run)
    assert label == f"best.pt of {good.name}"  # Check an Image uses the good run


def test_a_missing_dataset_tells_the_user_what_to_do_in_the_app(trainer, qtbot, tmp_path):
    window, c, prompts = trainer
    configure(window, epochs=1)
    s = c.panel.settings
    s.dataset.setCurrentIndex(s.dataset.findData("cifar10"))
    s.data_root.setText(str(tmp_path / "no-data"))
    s.download.setChecked(False)
    assert c.start()
    end = wait_finished(qtbot, c)
    assert end.status == "failed" and "--download" in end.message  # the engine's own words
    shown = prompts.errors[-1][1]
    assert "--download" not in shown and "Download if missing" in shown
    assert "CIFAR-10 not found" in shown
    assert c.panel.state.text() == shown


def test_every_command_line_hint_of_the_data_layer_is_translated():
    message = _not_found_message(SETS["cifar10"], "/data", ["data_batch_1"])
    assert "--download" in message
    assert "--download" not in app_wording(message)
    damaged = "cannot read X; delete them and fetch them again (--download)"
    assert "--download" not in app_wording(damaged)


def test_new_clears_the_previous_project_s_results(trainer, qtbot):
    window, c, prompts = trainer
    configure(window, epochs=1)
    assert c.start() and wait_finished(qtbot, c).status == "finished"
    assert c.views.plots.points > 0 and c.views.confusion.matrix is not None
    assert c.views.gradients.names == ("conv1", "bn1", "conv2", "bn2", "fc")
    prompts.preset = "small_resnet"
    assert window.new_project()
    assert c.views.plots.points == 0 and len(c.history) == 0
    assert c.views.confusion.matrix is None
    assert c.views.gradients.source is c.history and c.views.gradients.names == ()
    assert window.run_focus.run is None and c.current_run is None
    assert c.panel.metrics.text() == ""


def test_the_runs_list_shows_the_epoch_a_running_run_is_in(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=50)
    assert c.start()
    runs = c.views.runs

    def epoch_cell() -> str:
        if c.current_run not in runs.summaries:
            return ""
        row = list(runs.summaries).index(c.current_run)
        return runs.table.item(row, 3).text()

    def shown_epoch() -> int:
        return int(epoch_cell().split("/")[0] or 0)

    qtbot.waitUntil(lambda: shown_epoch() >= 2, timeout=60_000)  # it was 0 the whole run
    c.bridge.pause()
    qtbot.waitUntil(lambda: c.bridge.state == "paused", timeout=30_000)
    qtbot.waitUntil(lambda: c.views.plots.points == c.bridge.engine.step
                    and c._latest_step is None)  # every record in and drawn
    assert shown_epoch() == int(c.history.epoch.y[-1])  # the epoch of the latest step
    row = list(runs.summaries).index(c.current_run)
    assert runs.table.item(row, 2).text().endswith("%")  # its best accuracy so far
    c.bridge.stop()
    assert wait_finished(qtbot, c).status == "stopped"
    done = runs.summaries[c.current_run].epochs_done
    assert epoch_cell() == f"{done}/50"  # stopped: the epochs it finished


def test_the_study_layer_s_repeat_hints_name_the_repeats_field():
    from resnet_studio.study.aggregate import ONE_SEED

    assert "--seeds" in ONE_SEED
    text = app_wording(ONE_SEED)
    assert "--" not in text and "Repeats set to 3" in text
    assert app_wording("leave repeats (--seeds) at 1.") == "leave Repeats at 1."
