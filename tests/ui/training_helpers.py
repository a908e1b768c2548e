"""Helpers for the training tests: answers to the training questions, a tiny network that
trains in a fraction of a second on 8×8 images, and settings for it."""

from __future__ import annotations

from typing import Any

from ui_helpers import ScriptedPrompts

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import Graph, InputSpec

SIZE, CLASSES = 8, 4


class TrainingPrompts(ScriptedPrompts):
    """ScriptedPrompts plus the questions training asks."""

    def __init__(self) -> None:
        super().__init__()
        self.stop_training_answer = True
        self.directory: str | None = None
        self.open_file: str | None = None
        self.item_answer: str | None = ""  # ask_item's answer: the first item it begins
        self.delete_run_answer = False

    def ask_item(self, title: str, label: str, items: list[str]) -> str | None:
        """The first item that starts with ``item_answer`` (None: cancelled)."""
        self.asked.append(("item", (title, list(items))))
        if self.item_answer is None:
            return None
        return next((i for i in items if i.startswith(self.item_answer)), None)

    def ask_delete_run(self, name: str) -> bool:
        self.asked.append(("delete_run", name))
        return self.delete_run_answer

    def ask_stop_training(self) -> bool:
        self.asked.append(("stop_training", None))
        return self.stop_training_answer

    def ask_directory(self, title: str, directory: str) -> str | None:
        self.asked.append(("directory", title))
        return self.directory

    def ask_open_file(self, title: str, directory: str, file_filter: str) -> str | None:
        self.asked.append(("open_file", title))
        return self.open_file


def tiny_net(batchnorm: bool = True, name: str = "tiny") -> Graph:
    """input → conv → (bn) → relu → conv → (bn) → add(skip) → relu → pool → flatten → fc."""
    g = Graph(CATALOGUE, InputSpec(channels=3, height=SIZE, width=SIZE, classes=CLASSES),
              name=name)
    rows = [("input", "input", {}), ("conv1", "conv2d", {"out_channels": 4, "bias": False})]
    rows += [("bn1", "batchnorm2d", {})] if batchnorm else []
    rows += [("relu1", "relu", {}), ("conv2", "conv2d", {"out_channels": 4, "bias": False})]
    rows += [("bn2", "batchnorm2d", {})] if batchnorm else []
    rows += [("add", "add", {}), ("relu2", "relu", {}), ("pool", "adaptiveavgpool2d", {}),
             ("flatten", "flatten", {}), ("fc", "linear", {"out_features": "$classes"}),
             ("output", "output", {})]
    previous = None
    for row, (node_id, type_id, params) in enumerate(rows):
        g.add_node(type_id, params, (0.0, 90.0 * row), node_id)
        if previous is not None:
            g.connect(previous, "out", node_id, "in")
        previous = node_id
    g.connect("relu1", "out", "add", "in")  # the skip connection
    return g


def configure(window: Any, epochs: int = 2, train_size: int = 64, val_size: int = 16,
              batch_size: int = 8, lr: float = 0.05, **extra: Any) -> None:
    """Fill the training panel for a fast CPU run on the tiny synthetic set."""
    s = window.training.panel.settings
    s.dataset.setCurrentIndex(s.dataset.findData("synthetic"))
    s.train_size.setValue(train_size)
    s.val_size.setValue(val_size)
    s.epochs.setValue(epochs)
    s.batch_size.setValue(batch_size)
    s.lr.setValue(lr)
    s.schedule.setCurrentIndex(s.schedule.findData("constant"))
    s.warmup.setValue(0.0)
    s.device.setCurrentIndex(s.device.findData("cpu"))
    s._base = s._base.replace(telemetry_every=2, **extra)
    s.changed.emit()  # settings without a widget reach the project's settings too


def wait_finished(qtbot: Any, controller: Any, timeout: int = 60_000) -> Any:
    """Wait until the controller's run has ended; return its RunEndRecord."""
    qtbot.waitUntil(lambda: not controller.bridge.is_active(), timeout=timeout)
    return controller.bridge.last_end
