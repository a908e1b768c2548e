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
from resnet_studio.ui.experiments.view import StudyView


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


# ----- repeated seeds -------------------------------------------------------------------------
def _seeded(final_vals: dict[str, list[float]]) -> StudyResults:
    """A sweep of lr over seeds 1..3 as the planner writes it (same label, seed in values);
    each run's training accuracy is 0.1 above its validation accuracy."""
    from dataclasses import replace

    from resnet_studio.study.plan import Study

    base = plan_sweep(staged_net(), budget(), {"lr": [0.01, 0.1]})
    runs = [replace(spec, name=f"{spec.name}-seed{s}", values={**spec.values, "seed": s})
            for spec in base.runs for s in (1, 2, 3)]
    study = Study("sweep", base.title, "", runs, {**base.settings, "seeds": [1, 2, 3]})
    curves, rows = {}, []
    for spec in runs:
        acc = final_vals[spec.label][spec.values["seed"] - 1]
        run = RunCurves(status="finished", step=np.arange(1.0, 7.0),
                        accuracy=np.linspace(0.2, acc, 6), epoch_step=np.array([3.0, 6.0]),
                        val_acc=np.array([acc - 0.1, acc]),
                        train_acc=np.array([acc, min(acc + 0.1, 1.0)]))
        curves[spec.name] = run
        rows.append(table_row(spec, run, (100, 1000), 0.8))
    return StudyResults(study, curves, rows)


def test_the_summary_tab_shows_mean_and_interval_of_training_and_validation_error(view):
    from scipy import stats as sp

    vals = {"lr=0.01": [0.6, 0.7, 0.65], "lr=0.1": [0.8, 0.85, 0.9]}
    view.show_results(_seeded(vals))
    model = view.summary_model
    assert [view.tabs.tabText(i) for i in range(view.tabs.count())] == [
        "Curves", "Summary", "Runs", "Charts"]
    t = sp.t.ppf(0.975, 2)
    for row, (label, accs) in enumerate(vals.items()):
        assert model.index(row, model.columns.index("label")).data() == label
        for column, errors in (("val_error", [1 - a for a in accs]),
                               ("train_error", [1 - (a + 0.1) for a in accs])):
            mean = float(np.mean(errors))
            half = t * float(np.std(errors, ddof=1)) / np.sqrt(3)
            text = model.index(row, model.columns.index(column)).data()
            assert text == f"{100 * mean:.1f} ± {100 * half:.1f} %", (label, column)
        assert model.index(row, model.columns.index("seeds")).data() == "3/3"
    view.summary.sortByColumn(model.columns.index("val_error"), Qt.SortOrder.AscendingOrder)
    first = view.summary_proxy.index(0, model.columns.index("label")).data()
    assert first == "lr=0.1"  # sorted by the mean error, not the text
    assert view.model.rowCount() == 6  # the runs tab keeps every seed
    assert view.curves.labels == ["lr=0.01", "lr=0.1"]  # one legend entry per configuration
    assert len(view.curves.val_plot.listDataItems()) == 8  # 3 faint + 1 mean each


def test_the_view_says_when_nothing_was_learned(view):
    from resnet_studio.study.aggregate import NOTHING_LEARNED

    chance = 1 - 1 / 4  # the tiny network has 4 classes
    at_chance = {"lr=0.01": [1 - chance + 0.02] * 3, "lr=0.1": [1 - chance + 0.04] * 3}
    view.show_results(_seeded(at_chance))
    assert NOTHING_LEARNED in view.findings.text()
    learned = {"lr=0.01": [1 - chance + 0.02] * 3, "lr=0.1": [1 - chance + 0.06] * 3}
    view.show_results(_seeded(learned))
    assert NOTHING_LEARNED not in view.findings.text()
    assert "Lowest validation error: lr=0.1" in view.findings.text()
