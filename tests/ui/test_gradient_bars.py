"""The latest-step gradient bars carry their layers' names, as the heatmap's rows do."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from resnet_studio.ui.train.heatmap import GradientView

NAMES = ("conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.downsample.0", "fc")


def _labels(plot) -> list[tuple[float, str]]:
    axis = plot.getAxis("left")
    assert axis.style["showValues"]
    return list(axis._tickLevels[0])


def test_each_bar_is_labelled_with_its_layer(qtbot):
    view = GradientView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    view.start(NAMES)
    view.add_step_arrays(np.array([1, 2]), np.array([[1e-3, 1e-2, 1e-2, 1e-1, 1.0]] * 2))
    labels = _labels(view.bar_plot)
    assert labels == [(i + 0.5, name) for i, name in enumerate(NAMES)]
    assert labels == _labels(view.heat_plot)
    bars = view.bars.opts
    assert list(bars["y"]) == [value for value, _ in labels]  # one bar per labelled row
    axis = view.bar_plot.getAxis("left")
    needed = QFontMetrics(axis.style["tickFont"] or QApplication.font()).horizontalAdvance(
        "layer2.0.downsample.0")
    # the axis widens to its longest label once it has been painted and laid out again
    qtbot.waitUntil(lambda: view.grab() is not None and axis.width() >= needed, timeout=10_000)
