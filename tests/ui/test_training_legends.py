"""Legends of the training plots stand outside the plots' data areas: they never cover a
curve, whatever the curves do."""

from __future__ import annotations

from training_helpers import configure, wait_finished

from resnet_studio.ui.train.views import TAB_RUNS


def legend_and_data_areas(plot):
    return plot.legend.sceneBoundingRect(), plot.vb.sceneBoundingRect()


def test_no_legend_covers_a_plot_s_data_area(trainer, qtbot):
    window, c, _ = trainer
    configure(window, epochs=1)
    assert c.start_with_twin()
    qtbot.waitUntil(lambda: len(c.views.compare.shown) == 2, timeout=60_000)
    wait_finished(qtbot, c)
    plots = c.views.plots
    for view, plot in ((plots, plots.loss_plot), (plots, plots.acc_plot),
                       (c.views.compare, c.views.compare.loss_plot),
                       (c.views.compare, c.views.compare.acc_plot)):
        c.views.tabs.setCurrentWidget(view if view is plots else c.views.tabs.widget(TAB_RUNS))
        qtbot.waitUntil(lambda v=view: v.view.isVisible())
        qtbot.wait(50)  # laid out
        legend, data = legend_and_data_areas(plot)
        names = [label.text for _, label in plot.legend.items]
        assert len(names) >= 2, names  # the curves are listed in it
        assert legend.height() > 0 and not legend.intersects(data), (names, legend, data)


def test_the_plots_fit_their_width_by_stacking_legend_entries(qtbot):
    """A narrow curves dock (the right-hand column takes room) stacks each legend's entries
    instead of cutting the learning-rate plot off at its edge."""
    from PySide6.QtCore import Qt

    from resnet_studio.ui.train.plots import MetricPlots

    plots = MetricPlots()
    qtbot.addWidget(plots)
    plots.show()
    columns = {}
    for width in (1400, 720, 520):
        plots.resize(width, 420)
        qtbot.waitUntil(lambda w=width: plots.width() == w)
        columns[width] = plots.legends[0].columnCount
        needed = plots.view.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        assert needed <= width, (width, needed, columns[width])
    assert columns[1400] >= 3 > columns[720] >= columns[520]  # one line where there is room
