"""The results view: sorting the table by any column (missing values last both ways), the
shared legend beside the curves, and the exports (the CLI's figures, CSV)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from study_helpers import StudyPrompts, budget, staged_net

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.results import RunCurves, StudyResults, table_row
from resnet_studio.ui.study.view import StudyView


def _results(accuracies=(0.6, math.nan, 0.9)) -> StudyResults:
    """A three-run sweep with chosen final accuracies (NaN: a run not trained yet)."""
    study = plan_sweep(staged_net(), budget(), {"seed": [1, 2, 3]})
    curves, rows = {}, []
    for spec, acc, cost in zip(study.runs, accuracies, (300, 100, 200)):
        run = RunCurves(status="pending" if math.isnan(acc) else "finished")
        if not math.isnan(acc):
            run.step = np.arange(1.0, 7.0)
            run.accuracy = np.linspace(0.2, acc, 6)
            run.epoch_step, run.val_acc = np.array([3.0, 6.0]), np.array([acc - 0.1, acc])
            run.train_acc = run.val_acc.copy()
        curves[spec.name] = run
        rows.append(table_row(spec, run, (cost, cost * 10), 0.8))
    return StudyResults(study, curves, rows)


@pytest.fixture
def view(qtbot) -> StudyView:
    view = StudyView()
    qtbot.addWidget(view)
    view.resize(1100, 520)
    view.show()
    qtbot.waitExposed(view)
    view.show_results(_results())
    return view


def _column(view: StudyView, name: str) -> list[str]:
    column = view.model.columns.index(name)
    return [view.proxy.index(r, column).data() for r in range(view.proxy.rowCount())]


def _sort(view: StudyView, name: str, order: Qt.SortOrder) -> None:
    view.table.sortByColumn(view.model.columns.index(name), order)


def test_the_table_sorts_by_any_column_with_missing_values_last(view):
    assert _column(view, "label") == ["seed=1", "seed=2", "seed=3"]  # plan order at first
    _sort(view, "final_val_acc", Qt.SortOrder.DescendingOrder)
    assert _column(view, "label") == ["seed=3", "seed=1", "seed=2"]
    assert _column(view, "final_val_acc") == ["90.0 %", "60.0 %", "—"]
    _sort(view, "final_val_acc", Qt.SortOrder.AscendingOrder)
    assert _column(view, "label") == ["seed=1", "seed=3", "seed=2"]  # still last
    _sort(view, "params", Qt.SortOrder.AscendingOrder)  # numbers as numbers, not text
    assert _column(view, "label") == ["seed=2", "seed=3", "seed=1"]
    _sort(view, "status", Qt.SortOrder.DescendingOrder)
    assert _column(view, "status") == ["pending", "finished", "finished"]


def test_the_curves_share_one_legend_beside_the_plots(view):
    curves = view.curves
    assert curves.labels == ["seed=1", "seed=3"]  # the run not trained yet has no curve
    assert len(curves.train_plot.listDataItems()) == 2
    assert len(curves.val_plot.listDataItems()) == 2
    legend = curves.legend.sceneBoundingRect()
    assert [item.text for _, item in curves.legend.items] == ["seed=1", "seed=3"]
    for plot in (curves.train_plot, curves.val_plot):
        assert not legend.intersects(plot.vb.sceneBoundingRect())


def test_the_charts_are_the_figures_the_cli_draws(view):
    charts = view.charts
    titles = [charts.choice.itemText(i) for i in range(charts.choice.count())]
    assert titles == ["Sweep", "Accuracy against parameters"]
    assert charts.figure.axes[0].get_title() == "Sweep of seed"
    charts.choice.setCurrentIndex(1)
    assert charts.figure.axes[0].get_title() == "Accuracy against cost (parameters)"


def test_exports_write_the_cli_files_and_the_table(make_window, qtbot, tmp_path):
    prompts = StudyPrompts()
    window = make_window(staged_net(), prompts)
    feature = window.studies
    assert feature.export_figures(tmp_path / "none") == []  # nothing shown yet
    results = _results()
    feature.view.show_results(results)
    prompts.directory = str(tmp_path / "figures")
    files = feature.export_figures()
    names = sorted(p.name for p in files)
    assert names == ["curves.png", "curves.svg", "pareto.png", "pareto.svg", "pareto_macs.png",
                     "pareto_macs.svg", "report.md", "results.csv", "results.json",
                     "summary.csv", "sweep.png", "sweep.svg"]
    assert all(p.stat().st_size > 0 for p in files)
    prompts.save_path = str(tmp_path / "table.csv")
    target = feature.export_csv()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["label"] for r in rows] == ["seed=1", "seed=2", "seed=3"]
    assert rows[2]["final_val_acc"] == "0.9" and rows[1]["final_val_acc"] == ""
    prompts.save_path = str(tmp_path / "missing" / "dir" / "table.csv")
    assert feature.export_csv() is None
    assert prompts.errors and prompts.errors[-1][0] == "Cannot export the table"
