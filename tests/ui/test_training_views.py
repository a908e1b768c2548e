"""The training views without a live engine: the GUI path under a long run's load, run
directories written by the command line, comparisons, exports and the single-image check."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from training_helpers import TrainingPrompts, configure, tiny_net, wait_finished

from resnet_studio import presets
from resnet_studio.cli import main as cli
from resnet_studio.graph import project
from resnet_studio.train.history import RunHistory
from resnet_studio.train.records import EpochRecord, RunStartRecord, StepRecord
from resnet_studio.ui.train.heatmap import gradient_alerts

LAYERS = ("conv1", "bn1", "conv2", "bn2", "fc")
CLI_DATA = ["--dataset", "synthetic", "--train-size", "48", "--val-size", "16", "--image-size",
            "8", "--classes", "4", "--channels", "3", "--batch-size", "8", "--device", "cpu"]




def start_record(layers: tuple[str, ...], steps_per_epoch: int = 100) -> RunStartRecord:
    data = {"class_names": ["a", "b", "c"], "channels": 3, "height": 8, "width": 8}
    return RunStartRecord(layers, ("Conv2d",) * len(layers), (10,) * len(layers), {}, data,
                          None, "cpu", 1, steps_per_epoch, 10 ** 6, 0, None)


def cli_run(folder: Path, name: str, *options: str) -> Path:
    """A run directory written by ``resnet-studio train`` (in this process)."""
    project_file = folder / f"{name}.rstudio.json"
    project.save(tiny_net(name=name), project_file)
    out = folder / name
    assert cli(["train", str(project_file), *CLI_DATA, "--epochs", "2", "--out", str(out),
                *options]) == 0
    return out


# ----- a long run through the GUI path --------------------------------------------------------
def test_100k_steps_through_the_bridge_keep_every_buffer_bounded(trainer):
    window, c, _ = trainer
    layers = tuple(f"layer{i}" for i in range(12))
    sink = c.bridge.sink
    sink.on_record(start_record(layers))
    rng = np.random.default_rng(0)
    norms = rng.uniform(0.01, 1.0, size=(100_000, 12))
    norms[:, 0] *= 1e-9  # a vanishing first layer
    norms[-1, 5] = np.inf  # and, at the very end, an exploding one
    for i in range(100_000):
        step = i + 1
        sink.on_record(StepRecord(step, step // 100 + 1, 2.0 / np.sqrt(step), 0.5, 0.1, 1000.0,
                                  norms[i]))
        if step % 100 == 0:
            sink.on_record(EpochRecord(step // 100, step, 1.0, 0.5, 1.0, 0.5,
                                       np.eye(3, dtype=np.int64), False, 1.0))
    drains = 0
    while c.bridge.drain():
        drains += 1
    assert drains >= 100_000 // 5000  # bounded work per timer tick
    plots, gradients = c.views.plots, c.views.gradients
    assert gradients.dirty  # taken in, to be drawn when the tab is shown
    c.views.tabs.setCurrentIndex(1)
    assert not gradients.dirty
    assert plots.points == 100_000 and plots.loss.val.size == 1000
    for series in (plots.loss.raw, plots.loss.smooth, plots.accuracy.raw, plots.lr):
        assert series.size == 100_000 and series.capacity == 2 ** 17  # next power of two
    assert plots.loss.val.capacity == 1024
    history = gradients.history
    assert history.used <= history.columns == 1024
    assert history.used * history.stride <= 100_000 < (history.used + 1) * history.stride * 2
    assert gradients.image.image.shape == (12, history.used)
    # column 0 is the mean of the first `stride` steps of every layer
    np.testing.assert_allclose(history.matrix[:, 0], norms[: history.stride].mean(axis=0))
    alerts = gradients.alerts.text()
    assert "Exploding gradients" in alerts and "layer5" in alerts
    assert "Vanishing gradients in layer0" in alerts
    assert window.editor.scene.tinted_nodes() == []  # no node is called layer0 … layer11


def test_hovering_reads_out_layer_step_and_value(trainer):
    _, c, _ = trainer
    c.views.ensure()
    c.views.gradients.start(LAYERS)
    steps = np.arange(1, 11)
    norms = np.tile(np.array([1e-3, 2e-3, 3e-3, 4e-3, 5e-3]), (10, 1)) * steps[:, None]
    c.views.gradients.add_step_arrays(steps, norms)
    assert c.views.gradients.describe(3.2, 2.5) == "conv2 · step 3 · ‖gradient‖ = 0.009"
    assert c.views.gradients.describe(0.0, 7.0) == ""  # below the last layer
    assert c.views.gradients.describe(0.0, 4.5, in_history=False) == \
        "fc · step 10 · ‖gradient‖ = 0.05"
    c.views.plots.history.extend_steps(steps.astype(float), 1.0 / steps, steps / 10.0,
                                 np.full(10, 0.1))
    c.views.plots.changed()
    text = c.views.plots.show_readout(4.4)
    assert "step 4" in text and "loss 0.25" in text and "lr 0.1" in text


def test_gradient_alerts_name_the_layers():
    assert gradient_alerts(LAYERS, np.array([1.0, 0.5, 0.2, 0.1, 0.3])) == []
    tiny = gradient_alerts(LAYERS, np.array([1e-9, 0.5, 1.0, 0.1, 0.3]))
    assert tiny == [("Vanishing gradients in conv1: a millionth of the largest layer's norm or "
                     "less, so these layers hardly learn.")]
    huge = gradient_alerts(LAYERS, np.array([np.nan, 0.5, 5e3, 0.1, 0.3]))
    assert huge == [("Exploding gradients: the norm is not finite in conv1 and above 1000 in "
                     "conv2.")]


# ----- run directories ------------------------------------------------------------------------
def test_a_run_directory_written_by_the_command_line_opens_with_its_curves(trainer, tmp_path):
    window, c, prompts = trainer
    run = cli_run(tmp_path, "cli")
    prompts.directory = str(run)
    c.actions["open_run"].trigger()
    assert window.docks["curves"].isVisible() and window.runs.shown_run == run
    assert np.array_equal(c.views.plots.loss.raw.x, np.arange(1, 13))  # 2 epochs of 6 steps
    assert c.views.plots.loss.val.size == 2 and np.isfinite(c.views.plots.accuracy.val.y).all()
    assert c.views.gradients.names == LAYERS and c.views.gradients.history.used == 12
    summary = c.views.runs.summaries[run]
    assert summary.status == "finished" and summary.epochs_done == 2 and summary.best_val_acc
    assert c.views.runs.table.item(list(c.views.runs.summaries).index(run), 1).text() == "finished"
    # its latest validation confusion matrix comes back too
    saved = json.loads((run / "confusion.json").read_text())
    assert saved["epoch"] == 2
    assert c.views.confusion.matrix is not None
    assert c.views.confusion.matrix.tolist() == saved["matrix"]
    assert c.views.confusion.matrix.sum() > 0


def test_runs_written_by_the_command_line_and_the_app_read_into_equal_shaped_histories(
        trainer, qtbot, tmp_path):
    window, c, _ = trainer
    configure(window, epochs=2, train_size=48, val_size=16, batch_size=8)
    assert c.start()
    assert wait_finished(qtbot, c).status == "finished"
    histories = [RunHistory.load(c.current_run), RunHistory.load(cli_run(tmp_path, "cli"))]
    for history in histories:
        assert history.layer_names == LAYERS and history.status == "finished"
        assert np.array_equal(history.steps, np.arange(1, 13))  # 2 epochs of 6 steps
        assert history.grad_norms.array.shape == (len(LAYERS), 12)
        assert np.isfinite(history.grad_norms.array).all()
        assert np.array_equal(history.val_acc.x, [6, 12]) and history.confusion.epoch == 2
    # the app's views show the history the run model reads
    assert np.array_equal(c.views.plots.loss.raw.y, histories[0].loss.raw.y)


def test_opening_a_folder_that_is_no_run_says_so(trainer, tmp_path):
    window, _, prompts = trainer
    prompts.directory = str(tmp_path)
    assert not window.runs.open_run()
    assert prompts.errors and "is not a run directory" in prompts.errors[0][1]


def test_selecting_runs_overlays_them_and_lists_their_differences(trainer, tmp_path):
    _, c, _ = trainer
    first = cli_run(tmp_path, "first", "--lr", "0.05")
    second = cli_run(tmp_path, "second", "--lr", "0.02")
    c.views.ensure()
    c.views.runs.add_run(first)
    c.views.runs.add_run(second)
    c.views.runs.select_paths([first, second])
    assert c.views.compare.shown == [first, second]
    assert len(c.views.compare.loss_plot.listDataItems()) == 2
    text = c.views.compare.differences.toPlainText()
    assert "lr: 0.05 | 0.02" in text
    assert "Architecture:\n  (the same)" in text  # the same network, only the name differs
    assert "data.dataset" not in text  # equal settings are not listed


# ----- exports and the image check ------------------------------------------------------------
def test_metrics_csv_and_plots_png_are_written(trainer, tmp_path):
    window, c, prompts = trainer
    window.runs.open_run(cli_run(tmp_path, "cli"))
    target = tmp_path / "metrics.csv"
    prompts.save_path = str(target)
    c.actions["export_metrics"].trigger()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert [r["val_acc"] != "" for r in rows] == [s in (6, 12) for s in range(1, 13)]
    assert float(rows[0]["loss"]) == pytest.approx(c.views.plots.loss.raw.y[0])
    prompts.save_path = str(tmp_path / "plots.png")
    c.actions["export_plots"].trigger()
    image = QImage(str(tmp_path / "plots.png"))
    assert not image.isNull() and image.width() == 1600


def test_checking_an_image_shows_the_top_predictions(trainer, tmp_path):
    window, _, prompts = trainer
    window.runs.open_run(cli_run(tmp_path, "cli"))
    dialog = window.runs.check_image()
    assert dialog is not None and "best.pt of cli" in dialog.windowTitle()
    predictions = dialog.show_sample(3)
    assert len(predictions) == 4  # four classes: all of them, most probable first
    probabilities = [p.probability for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    assert "validation sample 3 — true class" in dialog.caption.text()
    picture = tmp_path / "picture.png"
    image = QImage(20, 12, QImage.Format.Format_RGB888)
    image.fill(0x3366CC)
    image.save(str(picture))
    prompts.open_file = str(picture)
    assert [p.name for p in dialog.open_image()] and dialog.caption.text() == "picture.png"
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert dialog.open_image(str(tmp_path / "broken.png")) == []
    assert "broken.png: cannot be read as an image" in dialog.caption.text()
    dialog.close()


# ----- settings -------------------------------------------------------------------------------
def test_settings_start_from_the_presets_recipe(make_window):
    window = make_window(presets.create("resnet50"), TrainingPrompts())
    s = window.training.panel.settings
    config = s.config(window.document.graph)
    assert (config.lr, config.batch_size, config.step_size) == (0.1, 256, 30)
    assert config.data.dataset == "folder:imagenet" and "torchvision" in s.recipe.text()
    window.document.load_graph(presets.create("resnet20"))
    config = s.config(window.document.graph)
    assert (config.lr, config.weight_decay, config.epochs) == (0.1, 1e-4, 164)
    assert config.milestone_fractions == (0.5, 0.75) and config.data.dataset == "cifar10"
    assert "He et al. 2016" in s.recipe.text()


def test_settings_round_trip_through_the_form(trainer):
    window, c, _ = trainer
    s = c.panel.settings
    graph = window.document.graph
    original = s.config(graph).replace(optimizer="adamw", lr=3e-4, weight_decay=0.05,
                                       schedule="onecycle", epochs=7, batch_size=32,
                                       label_smoothing=0.1, seed=5, grad_clip=1.0)
    s.set_config(original)
    assert s.lr.text() == "0.0003" and not s.momentum.isEnabled()
    assert s.config(graph) == original
    s.dataset.setCurrentIndex(s.dataset.findData("cifar10"))
    s.data_root.setText("/data/sets")
    s.download.setChecked(True)
    data = s.config(graph).data
    assert (data.dataset, data.root, data.download) == ("cifar10", "/data/sets", True)
