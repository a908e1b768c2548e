"""The Data workspace: the dataset's settings live there (not in the training panel), an image
folder is picked with a folder dialog (never typed as ``folder:…``), rows that do not apply are
hidden, and the samples, class counts, fitted input and first training batch come from the data
itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from training_helpers import tiny_net
from ui_helpers import ScriptedPrompts

from resnet_studio.ui.data.samples import PER_CLASS


class FolderPrompts(ScriptedPrompts):
    def __init__(self, folder: str | None):
        super().__init__()
        self.folder, self.starts = folder, []

    def ask_directory(self, title: str, start: str) -> str | None:
        self.asked.append(("directory", title))
        self.starts.append(start)
        return self.folder


def _settings(window):
    return window.training.panel.settings


def _image_folder(root, classes=("cat", "dog"), per_class=6, size=12):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def _loaded(window, qtbot):
    feature = window.data
    qtbot.waitUntil(lambda: not feature.busy() and feature.view.samples is not None,
                    timeout=30_000)
    return feature.view.samples


def test_the_dataset_rows_live_in_the_data_workspace(make_window):
    window = make_window(tiny_net())
    s = _settings(window)
    assert window.docks["dataset"].isAncestorOf(s.dataset)
    assert not window.docks["training"].isAncestorOf(s.dataset)
    assert window.workspace("data").isAncestorOf(window.docks["samples"])
    window.show_workspace("train")
    assert s.data_summary.isVisible() and s.dataset.currentText() in s.data_summary.text()
    assert not s.dataset.isVisible()
    window.actions["workspace_data"].trigger()
    assert window.current_workspace == "data" and s.dataset.isVisible()


def test_rows_that_do_not_apply_are_hidden_not_greyed(make_window):
    window = make_window(tiny_net())
    window.show_workspace("data")
    s = _settings(window)
    assert s.fit.currentData() == "network"
    assert not s.image_size.isVisible() and not s.channels.isVisible()
    s.fit.setCurrentIndex(s.fit.findData("none"))
    assert s.image_size.isVisible() and s.channels.isVisible()
    s.augment.setChecked(False)
    assert not s.flip.isVisible()
    s.augment.setChecked(True)
    assert s.flip.isVisible()


def test_picking_image_folder_asks_for_the_folder_at_once(make_window, qtbot, tmp_path):
    folder = _image_folder(tmp_path / "pets")
    prompts = FolderPrompts(str(folder))
    window = make_window(tiny_net(), prompts)
    window.show_workspace("data")
    s = _settings(window)
    index = s.dataset.findData("folder")
    s.dataset.setCurrentIndex(index)
    s.dataset.activated.emit(index)  # as a click in the list does
    assert ("directory", "Choose the image folder") in prompts.asked
    assert prompts.starts == [str(Path.home())]  # no folder yet: home, not the working folder
    assert s.folder.text() == str(folder)
    assert "pets" in s.data_summary.text() and "folder:" not in s.data_summary.text()
    samples = _loaded(window, qtbot)
    assert samples.class_names == ["cat", "dog"]
    assert {label for _, label in samples.grid} == {"cat", "dog"}
    assert sum(samples.train_counts) + sum(samples.val_counts) == 12
    c, h, w = samples.shape  # fitted to the network's input
    spec = window.document.graph.input_spec
    assert (c, h, w) == (spec.channels, spec.height, spec.width)
    assert all(image.shape == (h, w, c) for image, _ in samples.grid)


def test_the_problem_shown_before_the_folder_is_chosen_goes_once_it_is(make_window, tmp_path):
    folder = _image_folder(tmp_path / "pets")
    window = make_window(tiny_net(), FolderPrompts(None))  # the dialog is cancelled at first
    window.show_workspace("data")
    s, state = _settings(window), window.training.panel.state
    before = state.text()
    s.dataset.setCurrentIndex(s.dataset.findData("folder"))  # no folder yet: a problem
    assert "choose the image folder" in state.text()
    s.folder.setText(str(folder))  # then Browse… picks one
    s.folder.editingFinished.emit()
    assert state.text() == before and "choose the image folder" not in state.text()


def test_a_missing_dataset_says_which_box_fetches_it(make_window, qtbot, tmp_path):
    window = make_window(tiny_net())
    window.show_workspace("data")
    s = _settings(window)
    s.data_root.setText(str(tmp_path))  # an empty folder: MNIST is not there
    s.data_root.editingFinished.emit()
    s.dataset.setCurrentIndex(s.dataset.findData("mnist"))
    status = window.data.view.status
    qtbot.waitUntil(lambda: "Cannot load the data" in status.text(), timeout=30_000)
    text = status.text()
    assert "MNIST not found" in text and "“Download if missing” in the Data workspace" in text
    assert "--download" not in text and "download: true" not in text


def test_no_folder_yet_is_said_plainly(make_window, qtbot):
    window = make_window(tiny_net(), FolderPrompts(None))
    window.show_workspace("data")
    s = _settings(window)
    s.dataset.setCurrentIndex(s.dataset.findData("folder"))
    assert not window.data.refresh()
    text = window.data.view.status.text()
    assert "choose the image folder" in text.lower() and "folder:" not in text


def test_the_synthetic_samples_show_every_class_with_its_counts(make_window, qtbot):
    window = make_window(tiny_net())
    s = _settings(window)
    s.train_size.setValue(80)
    s.val_size.setValue(60)
    s.augment.setChecked(False)
    window.show_workspace("data")
    samples = _loaded(window, qtbot)
    classes = len(samples.class_names)
    assert sum(samples.train_counts) == 80 and sum(samples.val_counts) == 60
    labels = [label for _, label in samples.grid]
    assert len(labels) == PER_CLASS * min(classes, 10)
    assert labels == sorted(labels, key=samples.class_names.index)  # in class order
    table = window.data.view.counts
    assert table.rowCount() == classes
    assert [int(table.item(r, 1).text()) for r in range(classes)] == samples.train_counts
    assert "off" in window.data.view.augment_title.text()
    assert len(samples.augmented) == 8
