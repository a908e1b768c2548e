"""The study's figures, read back from the matplotlib objects: the plotted points, error bars,
bar heights and text are compared with numbers worked out by hand from the run files."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from scipy import stats as sp
from study_runs import EFFECTIVE, final, mean_and_half, seeded, write_run
from test_study_support import budget, staged_graph

from resnet_studio.study.figures import (
    REPEAT_ALPHA,
    draw_bars,
    draw_curves,
    draw_degradation,
    draw_pareto,
    draw_sweep,
    smooth,
    write_report,
)
from resnet_studio.study.kinds import plan_degradation, plan_sweep, plan_variants
from resnet_studio.study.results import collect

SEEDS = [1, 2, 3]


def _errorbars(ax) -> dict[str, tuple[list, list, list]]:
    """label → (x, y, half-length of each error bar), read from the axes' containers."""
    out = {}
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            line, _caps, (bars,) = container.lines
            halves = [abs(seg[1][1] - seg[0][1]) / 2 for seg in bars.get_segments()]
            out[container.get_label()] = (list(line.get_xdata()), list(line.get_ydata()), halves)
    return out


def _hand(tmp_path, label, column, seeds=SEEDS):
    folders = [tmp_path / "runs" / f"{label}-seed{s}" for s in seeds]
    return mean_and_half([1 - final(f, column) for f in folders])


@pytest.fixture
def degradation(tmp_path):
    study = seeded(plan_degradation(staged_graph(), budget(), depths=(6, 10)), SEEDS)
    rng = np.random.default_rng(0)
    for spec in study.runs:
        train = list(np.round(rng.uniform(0.5, 0.95, 2), 3))
        val = list(np.round(rng.uniform(0.4, 0.9, 2), 3))
        write_run(tmp_path / "runs" / spec.name, train, val)
    return collect(study, tmp_path)


def test_the_degradation_figure_plots_means_and_intervals_over_seeds(tmp_path, degradation):
    figure = draw_degradation(degradation)
    for ax, column in zip(figure.axes, ("train_acc", "val_acc")):
        plotted = _errorbars(ax)
        assert set(plotted) == {"residual", "plain"}
        for label, side in (("residual", "residual"), ("plain", "plain")):
            x, y, halves = plotted[label]
            assert x == [6, 10]
            expected = [_hand(tmp_path, f"{side}-{d}", column) for d in (6, 10)]
            assert y == pytest.approx([100 * m for m, _ in expected])
            assert halves == pytest.approx([100 * h for _, h in expected])
    assert EFFECTIVE in figure.get_suptitle()


def test_the_curves_draw_each_seed_faintly_and_their_mean(tmp_path, degradation):
    figure = draw_curves(degradation)
    train_ax, val_ax = figure.axes
    faint = [line for line in val_ax.get_lines() if line.get_alpha() == REPEAT_ALPHA]
    means = {line.get_label(): line for line in val_ax.get_lines()
             if not line.get_label().startswith("_")}
    assert len(faint) == 12 and set(means) == {"residual-6", "plain-6", "residual-10",
                                               "plain-10"}
    for label, line in means.items():
        per_seed = []
        for s in SEEDS:
            text = (tmp_path / "runs" / f"{label}-seed{s}" / "metrics.csv").read_text()
            per_seed.append([100 * (1 - float(r.split(",")[5])) for r in text.splitlines()[1:]])
        assert list(line.get_xdata()) == [4, 8]
        assert list(line.get_ydata()) == pytest.approx(np.mean(per_seed, axis=0))
    label = "plain-10"
    steps = []
    for s in SEEDS:
        rows = (tmp_path / "runs" / f"{label}-seed{s}" / "steps.jsonl").read_text().splitlines()
        steps.append(100 * smooth(1 - np.array([json.loads(r)["accuracy"] for r in rows])))
    train_mean = next(li for li in train_ax.get_lines() if li.get_label() == label)
    assert list(train_mean.get_ydata()) == pytest.approx(np.mean(steps, axis=0))
    assert [t.get_text() for t in figure.legends[0].get_texts()] == list(means)


def _variants(tmp_path):
    study = seeded(plan_variants(staged_graph(), budget(), ("basicblock", "fusionblock")), SEEDS)
    accs = {"basicblock": ([0.9, 0.93, 0.95], [0.80, 0.84, 0.81]),
            "fusionblock": ([0.7, 0.72, 0.75], [0.60, 0.66, 0.61])}
    for block, (train, val) in accs.items():
        for s, t, v in zip(SEEDS, train, val):
            write_run(tmp_path / "runs" / f"{block}-seed{s}", [0.5, t], [0.4, v])
    return collect(study, tmp_path)


def test_the_variants_bars_are_the_means_with_their_intervals(tmp_path):
    results = _variants(tmp_path)
    ax = draw_bars(results).axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["training error", "validation error"]
    for container, column in zip(bars, ("train_acc", "val_acc")):
        expected = [_hand(tmp_path, block, column) for block in ("basicblock", "fusionblock")]
        assert [p.get_height() for p in container.patches] == pytest.approx(
            [100 * m for m, _ in expected])
        (segments,) = container.errorbar.lines[2]
        halves = [abs(s[1][1] - s[0][1]) / 2 for s in segments.get_segments()]
        assert halves == pytest.approx([100 * h for _, h in expected])
    assert [t.get_text() for t in ax.get_xticklabels()] == [s.label for s in results.summary]


def test_the_pareto_points_are_configurations(tmp_path):
    results = _variants(tmp_path)
    ax = draw_pareto(results).axes[0]
    ((x, y, halves),) = _errorbars(ax).values()
    assert x == [float(s.params) for s in results.summary]
    expected = [_hand(tmp_path, block, "val_acc") for block in ("basicblock", "fusionblock")]
    assert y == pytest.approx([100 * (1 - m) for m, _ in expected])
    assert halves == pytest.approx([100 * h for _, h in expected])


def test_the_sweep_plots_mean_accuracy_with_intervals(tmp_path):
    study = seeded(plan_sweep(staged_graph(), budget(), {"lr": [0.1, 0.01]}), [1, 2])
    for spec, acc in zip(study.runs, (0.7, 0.74, 0.5, 0.56)):
        write_run(tmp_path / "runs" / spec.name, [0.5, 0.8], [0.4, acc])
    ax = draw_sweep(collect(study, tmp_path)).axes[0]
    ((x, y, halves),) = _errorbars(ax).values()
    assert x == [0.01, 0.1]  # sorted by the swept value
    assert y == pytest.approx([53.0, 72.0])
    t = sp.t.ppf(0.975, 1)
    assert halves == pytest.approx([100 * t * statistics.stdev(v) / 2 ** 0.5
                                    for v in ((0.5, 0.56), (0.7, 0.74))])


def test_a_study_without_finished_runs_draws_without_a_warning(tmp_path):
    """Empty legends once warned ("No artists with labels found"); warnings are errors here."""
    study = plan_degradation(staged_graph(), budget(), depths=(6, 10))
    written = write_report(collect(study, tmp_path), tmp_path / "out")
    assert (tmp_path / "out" / "degradation.png") in written
    assert "Fewer than two depths" in (tmp_path / "out" / "report.md").read_text()


def test_the_seeds_of_a_configuration_share_its_colour(tmp_path):
    results = _variants(tmp_path)
    ax = draw_curves(results).axes[1]
    lines = ax.get_lines()
    assert len(lines) == 8  # per configuration: three faint seeds, then the mean
    for group in (lines[:4], lines[4:]):
        assert len({line.get_color() for line in group}) == 1
        assert [line.get_alpha() for line in group] == [REPEAT_ALPHA] * 3 + [None]
    assert lines[0].get_color() != lines[4].get_color()


def test_the_mean_curve_runs_to_the_longest_seed_and_skips_missing_values():
    from resnet_studio.study.figures import mean_curve

    x, y = mean_curve([np.array([1, 2, 3]), np.array([1, 2])],
                      [np.array([10.0, np.nan, 30.0]), np.array([20.0, np.nan])])
    assert list(x) == [1, 2, 3]
    assert y[0] == 15.0 and np.isnan(y[1]) and y[2] == 30.0


@pytest.mark.parametrize("draw", [draw_bars, draw_curves, draw_pareto])
def test_the_settings_line_fits_inside_every_figure(tmp_path, draw):
    """A real settings line is long (optimiser, schedule, data path …): it wraps to the
    figure's width instead of running off both edges."""
    results = _variants(tmp_path)
    results.study.settings["effective"] = (
        "AdamW, lr 0.002, weight decay 0.01, 0.5 warm-up epochs, cosine schedule, init "
        "pytorch, augmentation none, 3 epochs of batch 64; data folder:/home/someone/data/"
        "digits-from-the-scanner at 1×28×28 (fitted to the network), 9,000 train / 1,000 val")
    figure = draw(results)
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    box, title = figure.bbox, figure._suptitle.get_window_extent(renderer)
    assert box.x0 <= title.x0 and title.x1 <= box.x1
    assert "digits-from-the-scanner" in figure._suptitle.get_text().replace("\n", " ")


def test_the_depths_are_told_apart_by_colour_and_skips_by_line_style(tmp_path, degradation):
    from matplotlib.colors import to_rgb

    lines = {line.get_label(): line for line in draw_curves(degradation).axes[1].get_lines()}
    shallow, deep = (np.array(to_rgb(lines[f"residual-{d}"].get_color())) for d in (6, 10))
    assert np.linalg.norm(shallow - deep) > 0.5  # the ends of the colour map, not neighbours
    assert to_rgb(lines["plain-6"].get_color()) == tuple(shallow)
    assert (lines["residual-6"].get_linestyle(), lines["plain-6"].get_linestyle()) == ("-", "--")


def test_the_curves_panels_say_what_they_show(degradation):
    train_ax, val_ax = draw_curves(degradation).axes
    assert train_ax.get_title() == "Training error (moving average)"
    assert val_ax.get_title().startswith("Validation error")


@pytest.mark.parametrize(("kind", "figures"), [
    ("degradation", {"curves", "degradation"}),
    ("variants", {"curves", "errors", "pareto", "pareto_macs"}),
    ("twin", {"curves", "errors"}),
    ("sweep", {"curves", "pareto", "pareto_macs", "sweep"})])
def test_each_kind_of_study_draws_its_figures(tmp_path, kind, figures):
    from resnet_studio.study import kinds

    graph, config = staged_graph(), budget()
    study = {"degradation": lambda: kinds.plan_degradation(graph, config, depths=(6, 10)),
             "variants": lambda: kinds.plan_variants(graph, config, ("basicblock",)),
             "twin": lambda: kinds.plan_twin(graph, config),
             "sweep": lambda: kinds.plan_sweep(graph, config, {"lr": [0.1, 0.01]})}[kind]()
    for spec in study.runs:
        write_run(tmp_path / "runs" / spec.name, [0.5, 0.8], [0.4, 0.7])
    written = write_report(collect(study, tmp_path), tmp_path / "out")
    drawn = {p.stem for p in written if p.suffix == ".png"}
    assert drawn == figures and {p.stem for p in written if p.suffix == ".svg"} == figures
