"""The option dialogs of the analyses: each gathers its settings and hands them back as the
keyword arguments of the analysis function (``options()``); nothing runs here.

Run directories and image files are chosen through the window's prompts (tests answer them);
a dialog refuses OK, with a one-line reason under the form, while a path is not usable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...train import rundir
from ..shell import theme
from ..shell.window_titles import fit_title
from .gradcam_choice import GradcamLayerBox, run_gradcam_layers

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
BATCH_STATS, RUNNING_STATS = "batch", "running"
SIGNAL_DEFAULTS = {"batch_size": 32, "seed": 0, "twin": True, "batch_stats": True,
                   "build_options": {"zero_init_residual": False}}


def spin(low: int, high: int, value: int, suffix: str = "", special: str = "",
         singular: str = "") -> QSpinBox:
    """A spin box; ``singular`` is the suffix at 1 (" image" where ``suffix`` is " images")."""
    box = QSpinBox(minimum=low, maximum=high, value=value, suffix=suffix)
    if special:
        box.setSpecialValueText(special)  # shown at the minimum ("all", "predicted")
    if singular:
        def follow(count: int) -> None:
            box.setSuffix(singular if count == 1 else suffix)
        box.valueChanged.connect(follow)
        follow(value)
    return box


class PathPicker(QWidget):
    """A path field with a Browse… button that asks the window's prompts."""

    def __init__(self, prompts: Any, title: str, file_filter: str | None = None,
                 placeholder: str = ""):
        super().__init__()
        self.prompts, self.title, self.file_filter = prompts, title, file_filter
        self.edit = QLineEdit(placeholderText=placeholder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def browse(self) -> None:
        start = str(Path(self.edit.text()).parent) if self.edit.text() else ""
        if self.file_filter is None:
            chosen = self.prompts.ask_directory(self.title, start)
        else:
            chosen = self.prompts.ask_open_file(self.title, start, self.file_filter)
        if chosen:
            self.edit.setText(chosen)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None


def run_problem(path: Path | None, what: str, required: bool = True) -> str:
    """Why ``path`` cannot be analysed as a trained run ("" when it can)."""
    if path is None:
        return f"Choose the {what}." if required else ""
    if not rundir.is_run_dir(path):
        return f"{path} is not a run directory."
    if rundir.find_checkpoint(path) is None:
        return f"{path} holds no checkpoint ({rundir.BEST} or {rundir.LAST}) yet."
    return ""


class OptionsDialog(QDialog):
    """A form, a line for what is wrong, and OK / Cancel; subclasses fill the form."""

    def __init__(self, title: str, intro: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(480)
        fit_title(self)
        self.form = QFormLayout()
        self.problem = QLabel(wordWrap=True)
        self.problem.setStyleSheet(f"color: {theme.ERROR.name()};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = QLabel(intro, wordWrap=True)
        layout.addWidget(note)
        layout.addLayout(self.form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        # The analysis's own resource check (``analysis.limits``) on the chosen options.
        self.limit: Callable[[dict[str, Any]], str] | None = None

    def check(self) -> str:
        """What keeps the analysis from running ("" when nothing)."""
        return ""

    def accept(self) -> None:
        problem = self.check() or (self.limit(self.options()) if self.limit else "")
        self.problem.setText(problem)
        if not problem:
            super().accept()


class SignalDialog(OptionsDialog):
    """Signal propagation at init of the project (and its plain twin)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(
            "Signal Propagation at Init",
            "One forward and one backward pass of the project, freshly initialised, on one "
            "batch of the built-in synthetic set; every convolution and linear layer's "
            "activation RMS and gradient norms, beside the plain twin (skips removed).", parent)
        self.batch = spin(2, 1024, SIGNAL_DEFAULTS["batch_size"], " images", singular=" image")
        self.seed = spin(0, 2**31 - 1, SIGNAL_DEFAULTS["seed"])
        self.mode = QComboBox()
        self.mode.addItem("Batch statistics (training mode, as on the first step)", BATCH_STATS)
        self.mode.addItem("Running statistics (mean 0, variance 1: no normalisation)",
                          RUNNING_STATS)
        self.zero_init = QCheckBox("Start every residual branch at zero (zero-init residual)")
        self.twin = QCheckBox("Compare with the plain twin", checked=True)
        self.form.addRow("Batch:", self.batch)
        self.form.addRow("Init seed:", self.seed)
        self.form.addRow("BatchNorm:", self.mode)
        self.form.addRow("", self.zero_init)
        self.form.addRow("", self.twin)

    def options(self) -> dict[str, Any]:
        return {"batch_size": self.batch.value(), "seed": self.seed.value(),
                "twin": self.twin.isChecked(),
                "batch_stats": self.mode.currentData() == BATCH_STATS,
                "build_options": {"zero_init_residual": self.zero_init.isChecked()}}


class RunDialog(OptionsDialog):
    """An analysis of a trained run (the one in focus by default) and, optionally, its twin."""

    def __init__(self, title: str, intro: str, prompts: Any, run: Path | None,
                 parent: QWidget | None = None, twin: bool = True):
        super().__init__(title, intro, parent)
        self.run = PathPicker(prompts, "Choose a run directory", placeholder="run directory")
        self.run.edit.setText(str(run) if run is not None else "")
        self.form.addRow("Run:", self.run)
        self.twin: PathPicker | None = None
        if twin:
            self.twin = PathPicker(prompts, "Choose the twin's run directory",
                                   placeholder="optional: e.g. the plain twin's run")
            self.form.addRow("Twin run:", self.twin)
        self.samples = spin(0, 1_000_000, 0, " images", "all validation images",
                            singular=" image")
        self.form.addRow("Samples:", self.samples)

    def runs(self) -> list[Path]:
        twin = self.twin.path() if self.twin is not None else None
        return [p for p in (self.run.path(), twin) if p is not None]

    def check(self) -> str:
        twin = self.twin.path() if self.twin is not None else None
        return run_problem(self.run.path(), "run directory") or run_problem(
            twin, "twin run", required=False)

    def common(self) -> dict[str, Any]:
        return {"samples": self.samples.value() or None}


class LesionDialog(RunDialog):
    def __init__(self, prompts: Any, run: Path | None, parent: QWidget | None = None):
        super().__init__(
            "Lesion Study", "Removes one block at a time (a residual block keeps its shortcut) "
            "and measures the validation accuracy without it.", prompts, run, parent)
        self.samples.setValue(1000)

    def options(self) -> dict[str, Any]:
        return self.common()


class LandscapeDialog(RunDialog):
    def __init__(self, prompts: Any, run: Path | None, parent: QWidget | None = None):
        super().__init__(
            "Loss Landscape", "The loss at w + α·d₁ + β·d₂ for two random filter-normalised "
            "directions (Li et al. 2018): a line of points along d₁ and a grid over both. "
            "Cost: steps + grid² evaluations.", prompts, run, parent)
        self.samples.setValue(256)
        self.steps = spin(3, 201, 21, " points")
        self.grid = spin(3, 61, 11, " × same")
        self.span = QDoubleSpinBox(minimum=0.05, maximum=10.0, value=1.0, singleStep=0.25)
        self.seed = spin(0, 2**31 - 1, 0)
        self.form.addRow("1-D steps:", self.steps)
        self.form.addRow("2-D grid:", self.grid)
        self.form.addRow("Span (±):", self.span)
        self.form.addRow("Direction seed:", self.seed)

    def options(self) -> dict[str, Any]:
        return {**self.common(), "steps_1d": self.steps.value(), "steps_2d": self.grid.value(),
                "span": self.span.value(), "seed": self.seed.value()}


class ExplainDialog(RunDialog):
    """``layer``: the Grad-CAM layer chosen before for this project (None: Automatic)."""

    def __init__(self, prompts: Any, run: Path | None, parent: QWidget | None = None,
                 layer: str | None = None):
        super().__init__(
            "Explain an Image", "The run's top predictions for one image, Grad-CAM on a "
            "stage (the last by default), a pixel attribution and the stages' feature maps.",
            prompts, run, parent, twin=False)
        self.form.removeRow(self.samples)
        self.image = PathPicker(prompts, "Choose an image", IMAGE_FILTER, "image file")
        self.top_k = spin(1, 20, 5)
        self.method = QComboBox()
        self.method.addItem("Integrated Gradients", "integrated_gradients")
        self.method.addItem("Saliency (plain gradient)", "saliency")
        self.target = spin(-1, 100_000, -1, "", "the predicted class")
        self.layer = GradcamLayerBox()
        self.layer.setToolTip("The stage whose feature maps Grad-CAM weighs, with its output "
                              "(channels × height × width); Automatic: the last stage, or the "
                              "one feeding a segmenter's head")
        self.layer_note = QLabel(wordWrap=True)
        self.layer_note.setStyleSheet(f"color: {theme.MUTED.name()};")
        self.layer_note.hide()
        self.form.addRow("Image:", self.image)
        self.form.addRow("Top-k:", self.top_k)
        self.form.addRow("Attribution:", self.method)
        self.form.addRow("Explain class:", self.target)
        self.form.addRow("Grad-CAM layer:", self.layer)
        self.form.addRow("", self.layer_note)
        self.wanted, self.listed_for = layer, None
        self.layer.activated.connect(lambda: setattr(self, "wanted", self.layer.layer()))
        self.run.edit.textChanged.connect(self.relist_layers)
        self.relist_layers()

    def relist_layers(self) -> None:
        """List the Grad-CAM stages of the chosen run's network (Automatic alone while no
        usable run is chosen) with the layer wanted (remembered, or picked since) chosen
        where the run's network has it."""
        path = self.run.path()
        usable = path if path is not None and not run_problem(path, "run") else None
        if usable == self.listed_for:
            return
        self.listed_for = usable
        layers = run_gradcam_layers(usable) if usable is not None else None
        note = self.layer.set_layers(layers, self.wanted if layers is not None else None)
        self.layer_note.setText(note)
        self.layer_note.setVisible(bool(note))
        self.grow_to_fit()

    def grow_to_fit(self) -> None:
        """Grow (never shrink) to show a note that appeared while the dialog is open."""
        layout = self.layout()
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed < 0:
            needed = layout.totalSizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def check(self) -> str:
        image = self.image.path()
        if not (problem := super().check()) and (image is None or not image.is_file()):
            problem = "Choose an image file." if image is None else f"{image}: no such file."
        return problem

    def options(self) -> dict[str, Any]:
        target = self.target.value()
        return {"top_k": self.top_k.value(), "method": self.method.currentData(),
                "target": None if target < 0 else target, "layer": self.layer.layer()}
