"""Legends of the training plots stand outside the plots' data areas: they never cover a
curve, whatever the curves do."""

from __future__ import annotations

from training_helpers import configure, wait_finished


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
        c.views.tabs.setCurrentWidget(view if view is plots else c.views.tabs.widget(3))
        qtbot.waitUntil(lambda v=view: v.view.isVisible())
        qtbot.wait(50)  # laid out
        legend, data = legend_and_data_areas(plot)
        names = [label.text for _, label in plot.legend.items]
        assert len(names) >= 2, names  # the curves are listed in it
        assert legend.height() > 0 and not legend.intersects(data), (names, legend, data)
