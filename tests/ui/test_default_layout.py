"""The first start's dock layout: the summary table's columns and a PEP 8 line of model.py
show without cropping under the canvas, the inspector is a narrow column, the canvas keeps the
most room; a saved layout wins over it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from resnet_studio import presets
from resnet_studio.ui.design.actions import INSPECTOR_WIDTHS, PALETTE_WIDTH
from resnet_studio.ui.design.code_view import CODE_COLUMNS


def _filled(window, qtbot):
    qtbot.waitUntil(lambda: window.summary.table.rowCount() == len(window.document.graph))
    return window.summary.table


@pytest.mark.parametrize("preset", [presets.DEFAULT_PRESET, "resnet50"])
def test_the_summary_table_shows_every_column_at_the_default_size(make_window, qtbot, preset):
    window = make_window(presets.create(preset))
    assert window.width() == 1400 and window.settings.value("window/state") is None
    table = _filled(window, qtbot)
    header = table.horizontalHeader()
    assert table.horizontalScrollBar().maximum() == 0
    for column in range(table.columnCount()):  # no column narrower than its text
        widest = max(table.fontMetrics().horizontalAdvance(table.item(r, column).text())
                     for r in range(table.rowCount()))
        assert header.sectionSize(column) >= widest, table.horizontalHeaderItem(column).text()


def test_the_model_py_pane_shows_a_pep8_line_at_the_default_size(window, qtbot):
    window.docks["code"].raise_()
    editor = window.code_view.editor
    qtbot.waitUntil(lambda: editor.toPlainText().startswith('"""Generated'))
    assert editor.viewport().width() >= editor.fontMetrics().horizontalAdvance("x" * CODE_COLUMNS)


def test_the_canvas_keeps_the_most_room(window):
    inspector = window.docks["inspector"].width()
    assert INSPECTOR_WIDTHS[0] - 4 <= inspector <= INSPECTOR_WIDTHS[1] + 4
    canvas = window.editor
    assert canvas.width() >= window.width() - PALETTE_WIDTH - inspector - 30
    assert canvas.height() >= window.docks["summary"].height()


def test_a_saved_layout_wins_over_the_default_widths(make_window, qtbot):
    first = make_window()
    assert first.docks["inspector"].width() < 450
    first.workspace("design").resizeDocks([first.docks["inspector"]], [450],
                                          Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(first.docks["inspector"].width() - 450) <= 4)
    assert first.close()
    second = make_window()
    qtbot.wait(50)  # a late default layout would have changed it by now
    assert abs(second.docks["inspector"].width() - 450) <= 4


def test_the_table_fills_its_width_after_another_project_is_shown(make_window, qtbot):
    """Fitting the columns to a new project's rows must not leave a blank band on the right
    (the last column stretches again)."""
    window = make_window(presets.create("resnet50"))
    _filled(window, qtbot)
    window.document.load_graph(presets.create(presets.DEFAULT_PRESET))
    table = _filled(window, qtbot)
    header = table.horizontalHeader()
    last = table.columnCount() - 1
    qtbot.waitUntil(lambda: header.sectionViewportPosition(last) + header.sectionSize(last)
                    >= table.viewport().width() - 1, timeout=2_000)
