"""The Data workspace's samples fit the width they are given: narrowing the samples column
(widening the dataset's settings beside it) wraps the sample grid and the augmented batch
to more rows and stacks the class counts over the input picture, instead of cutting the
pictures at the right edge or scrolling sideways."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from training_helpers import tiny_net

from resnet_studio.ui.data.samples import Samples
from resnet_studio.ui.data.view import DataView


def _samples(shown: int = 40, augmented: int = 8, label: str = "square") -> Samples:
    rng = np.random.default_rng(0)
    images = [rng.random((32, 32, 3)) for _ in range(shown)]
    return Samples("synthetic", (3, 32, 32), ["disk", "square"], [200, 200], [50, 50],
                   "fitted", [(image, label) for image in images],
                   [rng.random((32, 32, 3)) for _ in range(augmented)])


def _settle() -> None:
    """Let a resize's layout requests run their course (a nested layout posts its parent's)."""
    for _ in range(4):
        QApplication.processEvents()


def _view(qtbot, width: int, samples: Samples, height: int = 700) -> DataView:
    view = DataView()
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    view.show_samples(samples)
    _settle()
    return view


def _inside_viewport(view: DataView, widget: QWidget) -> bool:
    """``widget`` lies whole across the view's visible width (the view scrolls up and
    down, so only its left and right edges are checked)."""
    left = widget.mapTo(view.viewport(), widget.rect().topLeft()).x()
    return left >= 0 and left + widget.width() <= view.viewport().width()


@pytest.mark.parametrize("width", [370, 560, 760])
def test_every_picture_lies_whole_in_the_view_without_a_sideways_scroll(qtbot, width):
    view = _view(qtbot, width, _samples())
    assert view.horizontalScrollBar().maximum() == 0
    for tile in view.grid.tiles + view.augmented.tiles:
        assert _inside_viewport(view, tile), (width, tile.geometry())
    for widget in (view.counts, view.input_picture):
        assert _inside_viewport(view, widget)


def test_a_wider_view_shows_more_pictures_a_row_and_a_narrower_one_fewer(qtbot):
    view = _view(qtbot, 900, _samples())
    wide = view.grid.columns
    rows = {tile.y() for tile in view.grid.tiles}
    assert len(rows) * wide >= 40 and len(rows) == -(-40 // wide)
    view.resize(450, 700)
    _settle()
    assert 1 < view.grid.columns < wide
    assert len({tile.y() for tile in view.grid.tiles}) == -(-40 // view.grid.columns)
    reading = sorted(view.grid.tiles, key=lambda t: (t.y(), t.x()))
    assert reading == view.grid.tiles  # still in class order, row by row


def test_the_counts_and_the_input_stand_side_by_side_when_there_is_room(qtbot):
    view = _view(qtbot, 900, _samples())
    assert view.counts.geometry().right() < view.input_picture.x()
    assert view.input_picture.y() < view.counts.geometry().bottom()  # beside it
    view.resize(420, 700)
    _settle()
    assert view.input_picture.y() > view.counts.geometry().bottom()  # stacked under it


def test_a_long_caption_is_cut_with_an_ellipsis_and_kept_in_its_tooltip(qtbot):
    label = "disk, square, triangle, ring, plus, x-cross"
    view = _view(qtbot, 700, _samples(shown=3, label=label))
    caption = view.grid.tiles[0].findChildren(type(view.title))[-1]
    assert caption.text().endswith("…") and caption.text() != label
    assert caption.toolTip() == label
    assert caption.fontMetrics().horizontalAdvance(caption.text()) <= caption.width()


def test_the_samples_column_of_a_wide_dataset_dock_needs_no_sideways_scroll(make_window,
                                                                            qtbot):
    window = make_window(tiny_net())
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280)
    settings = window.training.panel.settings
    settings.train_size.setValue(80)
    settings.val_size.setValue(60)
    window.show_workspace("data")
    qtbot.waitUntil(lambda: not window.data.busy() and window.data.view.samples is not None,
                    timeout=30_000)
    page, docks = window.workspace("data"), window.docks
    page.resizeDocks([docks["dataset"], docks["samples"]], [640, 640],
                     Qt.Orientation.Horizontal)
    _settle()
    view = window.data.view
    assert view.width() < 700  # the dock really was narrowed
    assert view.horizontalScrollBar().maximum() == 0
    assert all(_inside_viewport(view, tile) for tile in view.grid.tiles)


def test_each_heading_sits_just_above_what_it_names(qtbot):
    """A table shorter than the picture beside it (few classes) stays under its heading,
    level with the picture, rather than the heading growing to centre itself in the gap."""
    view = _view(qtbot, 900, _samples(shown=4), height=1000)  # room to spare below
    left, right = view.middle_columns
    headings = [column.itemAt(0).widget() for column in (left, right)]
    assert view.counts.height() < view.input_picture.height()
    assert [h.height() for h in headings] == [h.heightForWidth(h.width()) for h in headings]
    assert view.counts.y() == view.input_picture.y()
