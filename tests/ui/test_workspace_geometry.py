"""Every workspace is legible at 1280×800 and at 1920×1080 on the first start: no visible panel
overlaps another or leaves the window, every chart's title, axis labels and legend lie whole
inside the chart, the Experiments set-up column shows every field and label whole, and node
text is at least 9 px on screen after Fit for every preset and example (grabbed offscreen;
the geometry is what is checked)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRect, QRectF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QScrollArea,
    QWidget,
)
from study_helpers import finished_sweep_results, staged_net

from resnet_studio import presets
from resnet_studio.examples import EXAMPLES
from resnet_studio.study.plan import KINDS
from resnet_studio.train.history import RunHistory
from resnet_studio.ui.design.view import MIN_TEXT_PX
from resnet_studio.ui.shell.workspaces import KEYS

SIZES = ((1280, 800), (1920, 1080))


def _open(make_window, qtbot, size, graph=None):
    window = make_window(graph)
    window.resize(*size)
    qtbot.waitExposed(window)
    QApplication.processEvents()
    return window


def _show(window, key):
    window.show_workspace(key)
    for _ in range(3):
        QApplication.processEvents()
    QTest.qWait(30)  # painted, so that what is on screen has a visible region
    return window.workspace(key)


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size())


def _visible_docks(window, page) -> list[QDockWidget]:
    """The docks on screen: a dock tabbed behind another is not."""
    return [d for d in page.findChildren(QDockWidget)
            if d.isVisible() and not d.isFloating() and not d.visibleRegion().isEmpty()]


def _scrolled(widget: QWidget, stop: QWidget) -> bool:
    """Inside a scroll area (below ``stop``): it may lie partly outside and be scrolled to."""
    parent = widget.parentWidget()
    while parent is not None and parent is not stop:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _text_rect(text) -> QRectF:
    """A text item's scene rectangle less its document's blank margin (the glyphs' box)."""
    margin = text.document().documentMargin()
    return text.mapRectToScene(text.boundingRect().adjusted(margin, margin, -margin, -margin))


def _label_rects(view: pg.GraphicsView) -> dict[str, QRectF]:
    """Scene rectangles of every chart title, axis label and legend drawn in ``view``."""
    rects: dict[str, QRectF] = {}
    for item in view.scene().items():
        if not item.isVisible():
            continue
        if isinstance(item, pg.PlotItem):
            title = item.titleLabel.text or "untitled"
            if item.titleLabel.text:
                rects[f"the title of ‘{title}’"] = _text_rect(item.titleLabel.item)
            for side in ("left", "bottom", "right"):
                axis = item.getAxis(side)
                if axis.isVisible() and axis.label.isVisible() and axis.labelText:
                    rects[f"‘{title}’ {side} label ‘{axis.labelText}’"] = _text_rect(axis.label)
        elif isinstance(item, pg.LegendItem) and item.items:
            names = ", ".join(label.text for _, label in item.items)
            rects[f"the legend ({names})"] = item.sceneBoundingRect()
    return rects


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_visible_panel_overlaps_another_or_leaves_the_window(make_window, qtbot, size):
    window = _open(make_window, qtbot, size)
    for key in KEYS:
        page = _show(window, key)
        docks = _visible_docks(window, page)
        assert docks, f"{key}: no panel shows"
        bounds = page.rect()
        rects = {d.objectName(): _rect_in(d, page) for d in docks}
        if page.centralWidget() is not None:
            rects["centre"] = _rect_in(page.centralWidget(), page)
        for name, rect in rects.items():
            assert bounds.contains(rect), f"{key}: {name} {rect} leaves {bounds}"
            assert rect.width() >= 120 and rect.height() >= 120, f"{key}: {name} is {rect}"
        names = sorted(rects)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not rects[a].intersects(rects[b]), f"{key}: {a} overlaps {b}"


def _show_a_run(window) -> None:
    """The Train workspace's curves with a few steps and an epoch of a run, as after Train."""
    history = RunHistory()
    steps = np.arange(1.0, 41.0)
    history.extend_steps(steps, 2.3 / np.sqrt(steps), 1 - 0.9 / np.sqrt(steps),
                         np.full(40, 0.1))
    history.extend_epochs(np.array([20.0, 40.0]), np.array([0.8, 0.5]), np.array([0.7, 0.8]))
    window.training.views.show_history(history)


def test_an_empty_view_says_what_will_show_there_instead_of_empty_axes(make_window, qtbot):
    window = _open(make_window, qtbot, SIZES[0])
    _show(window, "train")
    views = window.training.views
    views.ensure()
    assert views.plots.stack.empty and not views.plots.view.isVisible()
    assert "Press Train" in views.plots.stack.hint.text()
    assert views.compare.stack.empty
    _show_a_run(window)
    assert not views.plots.stack.empty and views.plots.view.isVisible()
    assert views.gradients.stack.empty  # a run without per-layer norms: still the hint
    history = RunHistory(layer_names=("conv1", "fc"))
    history.extend_steps(np.arange(1.0, 4.0), np.ones(3), np.ones(3), np.ones(3),
                         grad_norms=np.full((3, 2), 0.5))
    views.show_history(history)
    views.gradients.redraw()
    assert not views.gradients.stack.empty
    views.clear()  # another project: nothing trained
    assert views.plots.stack.empty and views.gradients.stack.empty


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_chart_shows_its_title_axis_labels_and_legend_whole(make_window, qtbot, size):
    window = _open(make_window, qtbot, size)
    window.training.views.ensure()
    _show_a_run(window)  # nothing trained or studied: no charts, a hint in their place
    window.studies.view.show_results(finished_sweep_results())
    checked = 0
    for key in KEYS:
        page = _show(window, key)
        checked += _check_charts(key, page)
    assert checked >= 12  # the curves (Train) and the study charts (Experiments) at least


def _check_charts(key: str, page: QWidget) -> int:
    """Assert every visible chart of ``page`` shows its labels whole; how many were seen."""
    checked = 0
    for view in page.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        if not _scrolled(view, page):
            assert page.rect().contains(_rect_in(view, page)), f"{key}: a chart is cut"
        shown_area = QRectF(view.viewport().rect()).adjusted(-1, -1, 1, 1)
        for what, rect in _label_rects(view).items():
            shown = QRectF(view.mapFromScene(rect).boundingRect())
            assert shown_area.contains(shown), f"{key}: {what} is clipped: {shown}"
            checked += 1
    return checked


CONTROLS = (QLabel, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractButton, QAbstractItemView)


def _controls(root: QWidget) -> list[QWidget]:
    """The visible labels, fields, buttons and lists under ``root`` (not their own parts)."""
    out = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        parent = widget.parentWidget()
        while parent is not None and parent is not root and not isinstance(parent, CONTROLS):
            parent = parent.parentWidget()
        if parent is root or parent is None:
            out.append(widget)
    return out


def _check_whole(what: str, widget: QWidget) -> None:
    """A label shows all its text, a field at least its smallest size."""
    if isinstance(widget, QLabel) and widget.text():
        if widget.wordWrap():
            assert widget.heightForWidth(widget.width()) <= widget.height(), \
                f"{what}: ‘{widget.text()[:40]}’ is cut at the bottom"
        else:
            assert widget.sizeHint().width() <= widget.width(), \
                f"{what}: ‘{widget.text()}’ is cut ({widget.width()} px of " \
                f"{widget.sizeHint().width()})"
    elif not isinstance(widget, QLabel):
        hint = widget.minimumSizeHint()
        assert widget.width() >= hint.width() and widget.height() >= hint.height(), \
            f"{what}: a {type(widget).__name__} is squeezed to {widget.size()}"


def _check_setup(key: str, setup: QWidget) -> int:
    """No two controls of the set-up column overlap (those in its scrolled form among
    themselves, the others and the scroll area among themselves), each shows whole, and the
    form needs no sideways scroll; how many controls were checked."""
    scroll = setup.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible(), f"{key}: the form scrolls sideways"
    inner = _controls(scroll.widget())
    outer = [w for w in _controls(setup) if not scroll.isAncestorOf(w)]
    _no_overlaps(key, inner, scroll.widget())
    _no_overlaps(key, [*outer, scroll], setup)
    for widget in inner + outer:
        _check_whole(key, widget)
    return len(inner) + len(outer)


def _no_overlaps(key: str, widgets: list[QWidget], root: QWidget) -> None:
    rects = [_rect_in(w, root) for w in widgets]
    for i, (widget, rect) in enumerate(zip(widgets, rects)):
        for other, other_rect in zip(widgets[i + 1:], rects[i + 1:]):
            assert not rect.intersects(other_rect), \
                f"{key}: {type(widget).__name__} {rect} overlaps {type(other).__name__} " \
                f"{other_rect}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_experiments_set_up_column_and_empty_state_are_legible(make_window, qtbot, size):
    window = _open(make_window, qtbot, size, staged_net())
    page = _show(window, "experiments")
    view, setup = window.studies.view, window.studies.setup
    assert not [v for v in page.findChildren(pg.GraphicsView) if v.isVisible()], \
        "no study is open, yet a chart frame shows"
    _check_whole("the empty state", view.empty)
    assert setup.width() >= 320, f"the set-up column is {setup.width()} px wide"
    for kind in KINDS:
        setup.choose(kind)
        _show(window, "experiments")  # laid out and painted, as after a click
        assert setup.form.kind == kind
        assert _check_setup(kind, setup) >= 12, kind  # kind, about, budget, plan, Start…
    view.show_results(finished_sweep_results())
    _show(window, "experiments")
    assert _check_charts("experiments", page) >= 7  # 2 titles, 4 axis labels, the legend


def _openers(window):
    """Open each preset (as File → New does) and each example (File → Open Example)."""
    for name in presets.PRESETS:
        yield name, lambda name=name: window.document.load_graph(presets.create(name))
    for entry in EXAMPLES:
        yield entry.name, lambda name=entry.name: window.examples.open_example(name)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_node_text_is_legible_after_fit_for_every_preset_and_example(make_window, qtbot, size):
    window = _open(make_window, qtbot, size)
    _show(window, "design")
    view = window.editor.view
    for name, open_it in _openers(window):
        open_it()
        assert window.document.graph.name and "input" in window.editor.scene.node_items, name
        window.actions["zoom_fit"].trigger()
        assert view.text_px() >= MIN_TEXT_PX - 0.01, name
        first = window.editor.scene.node_items["input"].sceneBoundingRect()
        assert view.visible_rect().intersects(first), f"{name}: the Input is off screen"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_analyze_run_picker_and_each_page_s_run_button_show_whole(make_window, qtbot,
                                                                      size):
    """The Run: row lies above the pages, whole and unsqueezed, its note wrapped in full; each
    run page's Run… button and the line naming its run lie whole inside the page."""
    window = _open(make_window, qtbot, size)
    page = _show(window, "analyze")
    panel = window.analyses.panel
    picker = panel.picker
    tabs = _rect_in(panel.tabs, page)
    for name, widget in (("combo", picker.combo), ("Browse…", picker.browse_button),
                         ("note", picker.note)):
        rect = _rect_in(widget, page)
        assert widget.isVisible() and page.rect().contains(rect), f"the picker's {name}: {rect}"
        assert rect.bottom() < tabs.top(), f"the picker's {name} is not above the pages"
    assert picker.combo.width() >= picker.combo.sizeHint().width()
    assert picker.note.height() >= picker.note.heightForWidth(picker.note.width())
    for key in ("lesion", "landscape", "explain"):
        panel.show_view(key)
        QApplication.processEvents()
        view = panel.views[key]
        button, source = _rect_in(view.run_button, page), _rect_in(view.source, page)
        assert view.run_button.isVisible() and page.rect().contains(button), f"{key}: Run…"
        assert view.run_button.width() >= view.run_button.sizeHint().width(), key
        assert view.source.isVisible() and page.rect().contains(source), f"{key}: its run"
        assert not button.intersects(_rect_in(view.heading, page)), f"{key}: Run… on the title"
        assert view.source.height() >= view.source.heightForWidth(view.source.width()), key
