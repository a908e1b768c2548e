"""The training settings form: dataset, hyper-parameters and device → one ``TrainConfig``.

The dataset's rows are a form of their own, ``data_form``, which the Data workspace shows; the
recipe's form keeps a one-line summary of them. Rows that do not apply are hidden, not greyed.

The form holds values; ``config()`` turns them into a validated ``TrainConfig`` (a
``ConfigError`` names the field at fault) and ``set_config`` shows one. Folder choices go
through the window's prompts, so tests can answer them.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from ...data import DataConfig
from ...data.config import (
    COCO_PREFIX,
    FOLDER_PREFIX,
    MASKS_PREFIX,
    SHAPES_DETECTION,
    SHAPES_SEGMENTATION,
    TORCHVISION_SETS,
)
from ...graph import Graph
from ...presets.recipes import Recipe
from ...train import TrainConfig
from ...train.config import INITS, OPTIMIZERS, SCHEDULES, ConfigError
from ..widgets.spin_boxes import ComboBox, DoubleSpinBox, IntSpinBox, NumberSpinBox
from . import device_picker
from .defaults import Devices, synthetic_for

DATASET_TITLES = {"synthetic": "Built-in synthetic shapes", "mnist": "MNIST",
                  "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                  "cifar100": "CIFAR-100", "svhn": "SVHN", "folder": "Image folder…",
                  SHAPES_DETECTION: "Shapes — detection (built-in)",
                  SHAPES_SEGMENTATION: "Shapes — segmentation (built-in)",
                  "coco": "COCO detection folder…", "masks": "Image + mask folder…"}
#: The datasets named by a folder: the combo's key → the dataset's prefix.
FOLDER_SETS = {"folder": FOLDER_PREFIX, "coco": COCO_PREFIX, "masks": MASKS_PREFIX}
FOLDER_HINTS = {"folder": "folder with one sub-folder per class",
                "coco": "folder with images/ and annotations.json",
                "masks": "folder with images/ and masks/"}
SHAPES_SETS = ("synthetic", SHAPES_DETECTION, SHAPES_SEGMENTATION)
INIT_TITLES = {"he_fan_out": "He (Kaiming) fan-out", "he_fan_in": "He (Kaiming) fan-in",
               "xavier": "Xavier (Glorot)", "pytorch": "PyTorch default"}
FIT_TITLES = {"network": "Fit to the network's input", "none": "Use as they are"}
FLIP_TITLES = {"default": "The dataset's default", "on": "Random horizontal flips",
               "off": "No flips"}
FLIP_VALUES = {"default": None, "on": True, "off": False}
SYNTHETIC, TORCHVISION, FOLDER = 0, 1, 2
NO_FOLDER = "choose the image folder (Browse…): a folder with one sub-folder per class"


def _combo(parent: QWidget, items: dict[str, str]) -> QComboBox:
    box = ComboBox(parent)
    for key, title in items.items():
        box.addItem(title, key)
    return box


def _heading(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setStyleSheet("font-weight: 600; color: #1f2328; padding-top: 6px;")
    return label


def shape_text(channels: int, height: int, width: int) -> str:
    """"28×28 grey" (the words of ``data/fit.py``, which loads torch: not at start-up)."""
    colour = "grey" if channels == 1 else "RGB" if channels == 3 else f"{channels}-channel"
    return f"{height}×{width} {colour}"


def _select(box: QComboBox, key: str) -> None:
    index = box.findData(key)
    if index >= 0:
        box.setCurrentIndex(index)


class TrainingSettings(QWidget):
    """Dataset, hyper-parameters and device. ``changed()`` whenever a value changes."""

    changed = Signal()

    def __init__(self, prompts: Any, devices: Devices, parent: QWidget | None = None):
        super().__init__(parent)
        self.prompts = prompts
        self._base = TrainConfig()  # settings without a widget (amp, clipping, …) come from here
        self._data = DataConfig()
        self._make_data_widgets()
        self._make_hyper_widgets(devices)
        self.data_summary = QLabel("", self, wordWrap=True)
        self.data_summary.setStyleSheet("color: #5f6b76;")
        self._lay_out()
        self._on_dataset_changed()
        self._on_fit_changed()
        self._on_augment_changed()

    # ----- widgets ----------------------------------------------------------------------------
    def _make_data_widgets(self) -> None:
        self.dataset = _combo(self, DATASET_TITLES)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.train_size = IntSpinBox(self, minimum=16, maximum=1_000_000, value=2000,
                                   singleStep=500)
        self.val_size = IntSpinBox(self, minimum=8, maximum=1_000_000, value=500, singleStep=100)
        self.data_root = QLineEdit("data", self)
        self.download = QCheckBox("Download if missing", self)
        self.folder = QLineEdit(self, placeholderText="folder with one sub-folder per class")
        self.val_fraction = DoubleSpinBox(self, minimum=0.01, maximum=0.9, singleStep=0.05,
                                           value=0.1, decimals=2)
        self.fit = _combo(self, FIT_TITLES)
        self.fit.setToolTip("Convert every image to the network's input size and channels "
                            "(resized, grey↔RGB), or serve the dataset's own images.")
        self.image_size = IntSpinBox(self, minimum=4, maximum=4096, value=32, suffix=" px")
        self.channels = _combo(self, {1: "1 (grey)", 3: "3 (RGB)"})
        self.fit_note = QLabel("", self, wordWrap=True)
        self.fit_note.setStyleSheet("color: #5f6b76; font-size: 8pt;")
        self.augment = QCheckBox("Augment: random crops (and flips where the data allows)", self)
        self.flip = _combo(self, FLIP_TITLES)
        self.flip.setToolTip("While augmenting: the dataset's default flips the synthetic set "
                             "and photographs, not digits or image folders (digits and text "
                             "read wrong mirrored).")
        self.adapt = QCheckBox("Fit the network's input to the dataset", self, checked=True)
        self.adapt.setToolTip("With images used as they are: train a copy whose input size, "
                              "channels and classes match the dataset (the project is not "
                              "changed).")
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._form_page((("Training images", self.train_size),
                                              ("Validation images", self.val_size))))
        root_row = self._browse_row(self.data_root, "Choose the dataset folder")
        self.pages.addWidget(self._form_page((("Data folder", root_row), ("", self.download))))
        folder_row = self._browse_row(self.folder, "Choose the image folder")
        self.pages.addWidget(self._form_page((("Folder", folder_row),
                                              ("Validation share", self.val_fraction))))

    def _form_page(self, rows: tuple) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        for label, widget in rows:
            form.addRow(label, widget)
        return page

    def _browse_row(self, edit: QLineEdit, title: str) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        button = QPushButton("Browse…", row)
        button.clicked.connect(lambda: self._browse(edit, title))
        layout.addWidget(button)
        return row

    def _make_hyper_widgets(self, devices: Devices) -> None:
        self.optimizer = _combo(self, {k: {"sgd": "SGD", "adamw": "AdamW"}[k] for k in OPTIMIZERS})
        self.lr = NumberSpinBox(self, 1e-8, 100.0, 0.1, log_steps=True)
        self.momentum = DoubleSpinBox(self, minimum=0.0, maximum=0.999, singleStep=0.01,
                                       decimals=3, value=0.9)
        self.weight_decay = NumberSpinBox(self, 0.0, 10.0, 5e-4, log_steps=True)
        self.schedule = _combo(self, {k: k for k in SCHEDULES})
        self.warmup = DoubleSpinBox(self, minimum=0.0, maximum=1000.0, singleStep=0.5,
                                     decimals=2, suffix=" epochs")
        self.epochs = IntSpinBox(self, minimum=1, maximum=100_000, value=10)
        self.batch_size = IntSpinBox(self, minimum=1, maximum=65_536, value=128)
        self.find_batch = QPushButton("Find Largest…", self)  # connected by the controller
        self.find_batch.setToolTip("Try training steps at growing batch sizes on the chosen "
                                   "device and set the largest that fits")
        self.label_smoothing = DoubleSpinBox(self, minimum=0.0, maximum=0.99, singleStep=0.05,
                                              decimals=2)
        self.seed = IntSpinBox(self, minimum=0, maximum=2**31 - 1)
        self.init = _combo(self, {k: INIT_TITLES.get(k, k) for k in INITS})
        self.zero_init_residual = QCheckBox("Zero-init residual (each block starts as identity)",
                                            self)
        self.recipe = QLabel("", self, wordWrap=True)
        self.recipe.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reset_recipe = QPushButton("Reset to Recipe", self)
        self.reset_recipe.setToolTip("Give every setting the value of the project's recipe")
        self.task_recipe = QPushButton("", self)  # offered when the heads ask for another
        self.task_recipe.hide()
        self.device = ComboBox(self)  # filled by set_devices (device_picker)
        self.device_info = QLabel("", self, wordWrap=True)
        self.device_info.setStyleSheet("color: #5f6b76; font-size: 8pt;")
        self.set_devices(devices)
        for widget in (self.optimizer, self.schedule, self.device, self.dataset, self.init,
                       self.fit, self.channels, self.flip):
            widget.currentIndexChanged.connect(self.changed)
        for widget in (self.lr, self.momentum, self.weight_decay, self.warmup, self.epochs,
                       self.batch_size, self.label_smoothing, self.seed, self.train_size,
                       self.val_size, self.val_fraction, self.image_size):
            widget.valueChanged.connect(self.changed)
        for edit in (self.data_root, self.folder):
            edit.editingFinished.connect(self.changed)
        for box in (self.download, self.zero_init_residual, self.adapt, self.augment):
            box.toggled.connect(self.changed)
        self.fit.currentIndexChanged.connect(self._on_fit_changed)
        self.device.currentIndexChanged.connect(lambda: device_picker.show_tooltip(self.device))
        self.augment.toggled.connect(self._on_augment_changed)
        self.dataset.activated.connect(self._on_dataset_picked)
        self.folder.editingFinished.connect(self._update_data_summary)
        self.optimizer.currentIndexChanged.connect(self._on_optimizer_changed)

    def set_devices(self, devices: Devices) -> None:
        """Offer the devices this machine has, one entry per GPU (CUDA and MPS greyed out
        where absent), keeping the choice shown."""
        device_picker.fill(self.device, devices)
        self.device_info.setText(devices.description)

    def _lay_out(self) -> None:
        form = QFormLayout(self)
        form.setContentsMargins(2, 0, 2, 0)
        form.setVerticalSpacing(4)
        form.addRow(_heading("Recipe", self))
        form.addRow(self.recipe)
        form.addRow(self.reset_recipe)
        form.addRow(self.task_recipe)
        form.addRow(_heading("Data", self))
        form.addRow(self.data_summary)
        self._lay_out_data()
        form.addRow(_heading("Optimisation", self))
        for label, widget in (("Optimizer", self.optimizer), ("Learning rate", self.lr),
                              ("Momentum", self.momentum), ("Weight decay", self.weight_decay),
                              ("Schedule", self.schedule), ("Warm-up", self.warmup),
                              ("Epochs", self.epochs), ("Batch size", self._batch_row()),
                              ("Label smoothing", self.label_smoothing), ("Seed", self.seed),
                              ("Weight init", self.init)):
            form.addRow(label, widget)
        form.addRow(self.zero_init_residual)
        form.addRow(_heading("Device", self))
        form.addRow("Train on", self.device)
        form.addRow(self.device_info)

    def _batch_row(self) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.batch_size, 1)
        layout.addWidget(self.find_batch)
        return row

    def _lay_out_data(self) -> None:
        """The dataset's rows, in ``data_form`` (the Data workspace shows it)."""
        self.data_form = QWidget(self)
        form = self.data_rows = QFormLayout(self.data_form)
        form.setContentsMargins(2, 0, 2, 0)
        form.setVerticalSpacing(6)
        form.addRow("Dataset", self.dataset)
        form.addRow(self.pages)
        form.addRow("Images", self.fit)
        form.addRow("Image size", self.image_size)
        form.addRow("Channels", self.channels)
        form.addRow(self.fit_note)
        form.addRow(self.adapt)
        form.addRow(self.augment)
        form.addRow("Flips", self.flip)

    def _update_data_summary(self) -> None:
        key = self.dataset.currentData()
        folder = self.folder.text().strip()
        title = self.dataset.currentText().rstrip("…")
        name = (f"{title} {folder}" if key in FOLDER_SETS and folder
                else f"{title} (none chosen)" if key in FOLDER_SETS else title)
        self.data_summary.setText(f"{name} · {self.fit_note.text()} "
                                  "Change it in the Data workspace (Ctrl+2).")

    def summary(self) -> str:
        """One line describing the settings (shown while they are locked by a run)."""
        data = self.dataset.currentText()
        return (f"{data} · {self.optimizer.currentText()} lr {self.lr.value():g} · "
                f"{self.schedule.currentData()} · {self.epochs.value()} epochs · batch "
                f"{self.batch_size.value()} · {self.device.currentText()}")

    # ----- behaviour --------------------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        key = self.dataset.currentData()
        self.pages.setCurrentIndex(SYNTHETIC if key in SHAPES_SETS else
                                   FOLDER if key in FOLDER_SETS else TORCHVISION)
        if key in FOLDER_SETS:
            self.folder.setPlaceholderText(FOLDER_HINTS[key])
        self._update_data_summary()

    def _on_dataset_picked(self) -> None:
        """Picking "Image folder…" with no folder yet asks for one at once."""
        key = self.dataset.currentData()
        if key in FOLDER_SETS and not self.folder.text().strip():
            self._browse(self.folder, "Choose the image folder" if key == "folder" else
                         "Choose the dataset folder")

    def _on_fit_changed(self) -> None:
        """Image size and channels (and adapting the network) apply only to images used as
        they are: fitted images take the network's input, so those rows are hidden."""
        as_they_are = self.fit.currentData() == "none"
        for widget in (self.image_size, self.channels, self.adapt):
            widget.setEnabled(as_they_are)
            self.data_rows.setRowVisible(widget, as_they_are)

    def _on_augment_changed(self) -> None:
        self.data_rows.setRowVisible(self.flip, self.augment.isChecked())

    def show_fit(self, graph: Graph) -> None:
        """Say at what size the images will be served (``data/fit.py``'s rule)."""
        spec = graph.input_spec
        if self.fit.currentData() == "network":
            text = (f"Images are converted to the network's input, "
                    f"{shape_text(spec.channels, spec.height, spec.width)}.")
        elif self.adapt.isChecked():
            text = "Images keep their size; a copy of the network takes their shape."
        else:
            text = (f"Images are used as they are; image folders and the synthetic set at "
                    f"{self.image_size.value()}×{self.image_size.value()}.")
        self.fit_note.setText(text)
        self._update_data_summary()

    def set_recipe(self, recipe: Recipe | None, changed: bool = False) -> None:
        """Name the recipe the settings come from, with its citation (``changed``: the
        settings differ from it now)."""
        if recipe is None:
            self.recipe.setText("Settings of this project (no named recipe).")
            self.recipe.setToolTip("")
            return
        note = " <i>(settings changed)</i>" if changed else ""
        self.recipe.setText(f"<b>{escape(recipe.title)}</b>{note}<br><span style='color:#5f6b76; "
                            f"font-size:8pt'>{escape(recipe.citation)}</span>")
        self.recipe.setToolTip(recipe.citation)

    def offer_recipe(self, recipe: Recipe | None) -> None:
        """Offer ``recipe`` (the heads' task's, when the settings follow another), or hide."""
        self.task_recipe.setVisible(recipe is not None)
        if recipe is not None:
            self.task_recipe.setText(f"Use {recipe.title}")
            self.task_recipe.setToolTip(recipe.citation)

    def _on_optimizer_changed(self) -> None:
        self.momentum.setEnabled(self.optimizer.currentData() == "sgd")

    def _browse(self, edit: QLineEdit, title: str) -> None:
        ask = getattr(self.prompts, "ask_directory", None)
        start = edit.text() or str(Path.home())  # not the folder the app was started in
        chosen = ask(title, start) if ask is not None else None
        if chosen:
            edit.setText(chosen)
            self._update_data_summary()
            self.changed.emit()  # setText is no edit: editingFinished does not come

    # ----- values -----------------------------------------------------------------------------
    def data_config(self, graph: Graph) -> DataConfig:
        key = self.dataset.currentData()
        base = self._data.replace(fit=self.fit.currentData(), image_size=self.image_size.value(),
                                  channels=self.channels.currentData(),
                                  augment=self.augment.isChecked(),
                                  flip=FLIP_VALUES[self.flip.currentData()])
        if key == "synthetic":
            drawn = synthetic_for(graph, base).replace(train_size=self.train_size.value(),
                                                       val_size=self.val_size.value())
            # images used as they are: drawn at the size the panel asks for
            return drawn if base.fit == "network" else drawn.replace(
                image_size=base.image_size, channels=base.channels)
        if key in (SHAPES_DETECTION, SHAPES_SEGMENTATION):
            return base.replace(dataset=key, train_size=self.train_size.value(),
                                val_size=self.val_size.value())
        if key in FOLDER_SETS:
            if not self.folder.text().strip():
                raise ConfigError("data.dataset", NO_FOLDER if key == "folder" else
                                  f"choose the dataset folder (Browse…): a {FOLDER_HINTS[key]}")
            return base.replace(dataset=FOLDER_SETS[key] + self.folder.text().strip(),
                                val_fraction=self.val_fraction.value())
        return base.replace(dataset=key, root=self.data_root.text().strip() or "data",
                            download=self.download.isChecked())

    def config(self, graph: Graph) -> TrainConfig:
        """The settings as a validated TrainConfig for ``graph`` (raises ConfigError)."""
        return self._base.replace(
            optimizer=self.optimizer.currentData(), lr=self.lr.value(),
            momentum=self.momentum.value(), weight_decay=self.weight_decay.value(),
            schedule=self.schedule.currentData(), warmup_epochs=self.warmup.value(),
            epochs=self.epochs.value(), batch_size=self.batch_size.value(),
            label_smoothing=self.label_smoothing.value(), seed=self.seed.value(),
            init=self.init.currentData(), zero_init_residual=self.zero_init_residual.isChecked(),
            device=self.device.currentData(), data=self._checked_data(graph)).validate()

    def _checked_data(self, graph: Graph) -> DataConfig:
        """The data settings, refused (with the engine's words) when the dataset does not
        serve the network's task: a detector needs boxes, a segmenter masks."""
        from ...compiler.task import TaskError, task_mismatch, task_of

        data = self.data_config(graph)
        try:
            problem = task_mismatch(task_of(graph), data.task, data.dataset)
        except TaskError as exc:
            problem = str(exc)
        if problem:
            raise ConfigError("data.dataset", problem)
        return data

    def set_config(self, config: TrainConfig) -> None:
        """Show ``config``; settings the form has no widget for are kept and given back."""
        self._base = config
        _select(self.optimizer, config.optimizer)
        self.lr.setValue(config.lr)
        self.momentum.setValue(config.momentum)
        self.weight_decay.setValue(config.weight_decay)
        _select(self.schedule, config.schedule)
        self.warmup.setValue(config.warmup_epochs)
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.label_smoothing.setValue(config.label_smoothing)
        self.seed.setValue(min(config.seed, self.seed.maximum()))
        device_picker.select(self.device, config.device)
        _select(self.init, config.init)
        self.zero_init_residual.setChecked(config.zero_init_residual)
        self._set_data(config.data)

    def _set_data(self, data: DataConfig) -> None:
        self._data = data
        key = next((k for k, prefix in FOLDER_SETS.items()
                    if data.dataset.startswith(prefix)), data.dataset)
        _select(self.dataset, key)
        _select(self.fit, data.fit)
        self.augment.setChecked(data.augment)
        _select(self.flip, next(k for k, v in FLIP_VALUES.items() if v is data.flip))
        self.image_size.setValue(data.image_size)
        _select(self.channels, data.channels)
        if key in SHAPES_SETS:
            self.train_size.setValue(data.train_size)
            self.val_size.setValue(data.val_size)
        elif key in FOLDER_SETS:
            self.folder.setText(data.dataset[len(FOLDER_SETS[key]):])
            self.val_fraction.setValue(data.val_fraction)
        elif key in TORCHVISION_SETS:
            self.data_root.setText(data.root)
            self.download.setChecked(data.download)
