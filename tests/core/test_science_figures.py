"""The figures show the results' numbers: the plotted data is read back from the matplotlib
objects (lines, bars, images, contours, axis labels) and compared with the result."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_studio.analysis import figures
from resnet_studio.analysis.explain import Explanation
from resnet_studio.analysis.landscape import LandscapeResult
from resnet_studio.analysis.lesion import LesionResult
from resnet_studio.analysis.signal import SignalCurve, SignalResult


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """The figures drawn, kept open instead of saved: figure name → matplotlib figure."""
    kept = {}

    def keep(fig, path):
        kept[path.name] = fig
        return path

    monkeypatch.setattr(figures, "save", keep)
    yield kept, tmp_path
    for fig in kept.values():
        figures.pyplot().close(fig)


def curve(label, scale):
    n = np.arange(1, 6, dtype=float)
    return SignalCurve(label, [f"l{i}" for i in range(5)], scale * n, scale / n,
                       scale * n ** 2, 2.3)


def test_signal_panels_plot_each_curve_over_depth(drawn):
    kept, folder = drawn
    result = SignalResult([curve("res", 1.0), curve("plain", 7.0)])
    figures.signal_figure(result, folder / "s.png", "t")
    axes = kept["s.png"].axes
    for ax, attr in zip(axes, ("activation_rms", "output_grad_norm", "weight_grad_norm")):
        lines = ax.get_lines()
        assert [ln.get_label().split(" (")[0] for ln in lines] == ["res", "plain"]
        for line, c in zip(lines, result.curves):
            np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4, 5])
            np.testing.assert_array_equal(line.get_ydata(), getattr(c, attr))
            assert f"first layer {getattr(c, attr)[0]:.3g}" in line.get_label()
        assert ax.get_yscale() == "log"
    assert axes[1].get_ylabel() == "‖∂loss/∂output‖ of each layer"
    assert axes[2].get_ylabel() == "‖∂loss/∂weight‖ of each layer"


def lesion(samples=40):
    return LesionResult("tiny", 2.0, 0.85, ["a", "b", "c"], ["branch"] * 3,
                        np.array([1.0, np.nan, 2.0]), np.array([0.8, np.nan, 0.25]),
                        {"b": "shape"}, samples)


def test_lesion_bars_are_percent_as_the_axis_says(drawn):
    kept, folder = drawn
    figures.lesion_figure([lesion()], folder / "l.png", chance=1 / 3)
    ax = kept["l.png"].axes[0]
    assert ax.get_ylabel() == "validation accuracy (%)"
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, [80.0, 0.0, 25.0])
    intact, chance = ax.get_lines()
    np.testing.assert_allclose(intact.get_ydata(), [85.0, 85.0])
    np.testing.assert_allclose(chance.get_ydata(), [100 / 3, 100 / 3])
    assert ax.get_ylim()[1] > 100  # the whole percent range fits
    assert [t.get_text() for t in ax.texts] == ["n/a"] and ax.texts[0].get_position()[0] == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert "intact network (85.0%)" in intact.get_label()
    assert ax.get_title() == "tiny: lesion study on 40 images"


def test_one_image_is_counted_in_the_singular(drawn):
    kept, folder = drawn
    figures.lesion_figure([lesion(samples=1)], folder / "l.png")
    assert kept["l.png"].axes[0].get_title() == "tiny: lesion study on 1 image"
    assert figures.images(1) == "1 image" and figures.images(0) == "0 images"


def landscape_result(label="res", shift=0.0):
    alphas = np.linspace(-1, 1, 5)
    a2, b2 = np.linspace(-1, 1, 3), np.linspace(-3, 3, 4)
    # the loss depends on α only, so its contours are vertical lines if α is on the x axis
    loss_2d = np.repeat((1.5 + a2 + shift)[:, None], 4, axis=1) ** 2 + 0.1
    return LandscapeResult(label, alphas, alphas ** 2 + 0.5 + shift, 1 - alphas ** 2 / 2, a2, b2,
                           loss_2d, np.full((3, 4), 0.5), 0.5, 24, 0)


def test_landscape_curves_plot_loss_and_accuracy_percent_over_alpha(drawn):
    kept, folder = drawn
    results = [landscape_result(), landscape_result("plain", 1.0)]
    figures.landscape_figures(results, folder)
    fig = kept["landscape_1d.png"]
    ax_loss, ax_acc = fig.axes
    for r, loss_line, acc_line in zip(results, ax_loss.get_lines(), ax_acc.get_lines()):
        np.testing.assert_array_equal(loss_line.get_xdata(), r.alphas)
        np.testing.assert_array_equal(loss_line.get_ydata(), r.loss_1d)
        np.testing.assert_allclose(acc_line.get_ydata(), r.accuracy_1d * 100)
        assert loss_line.get_label() == r.label
    assert ax_acc.get_ylabel() == "accuracy (%)" and ax_loss.get_xlabel().startswith("α")
    assert fig.get_suptitle().endswith("(24 validation images)")


def test_landscape_contours_put_alpha_on_x_and_beta_on_y(drawn):
    kept, folder = drawn
    r = landscape_result()
    figures.landscape_figures([r], folder)
    ax = kept["landscape_contour.png"].axes[0]
    assert ax.get_xlabel().startswith("α") and ax.get_ylabel().startswith("β")
    assert ax.get_xlim() == pytest.approx((-1, 1)) and ax.get_ylim() == pytest.approx((-3, 3))
    lines = ax.collections[-1]  # the white contour lines, drawn after the filled ones
    segments = [p.vertices for p in lines.get_paths() if len(p.vertices)]
    assert segments
    for vertices in segments:  # constant α along each contour: the loss varies with α only
        assert np.ptp(vertices[:, 0]) < 1e-9 and np.ptp(vertices[:, 1]) > 1
    surface_ax = kept["landscape_surface.png"].axes[0]
    assert surface_ax.get_xlabel() == "α (d₁)" and surface_ax.get_ylabel() == "β (d₂)"


def explanation():
    rng = np.random.default_rng(0)
    return Explanation(rng.random((8, 8, 3)), ["cat", "dog"], [0.7, 0.2], "cat", "layer4",
                       rng.random((8, 8)), "integrated_gradients", rng.random((8, 8)),
                       {"layer1": rng.random((2, 4, 4))})


def test_explain_figure_shows_the_results_maps_and_probabilities(drawn):
    kept, folder = drawn
    result = explanation()
    figures.explain_figure(result, folder / "e.png", "t")
    axes = kept["e.png"].axes
    image, cam = axes[1].get_images()
    np.testing.assert_array_equal(cam.get_array(), result.gradcam)
    np.testing.assert_array_equal(image.get_array(), result.image)
    assert axes[1].get_title() == "Grad-CAM on layer4 for ‘cat’"
    np.testing.assert_array_equal(axes[2].get_images()[0].get_array(), result.attribution)
    bars = axes[3]
    np.testing.assert_allclose(sorted(b.get_width() for b in bars.patches), [20.0, 70.0])
    assert bars.get_xlabel() == "probability (%)"
    mosaic = next(ax for ax in axes if ax.get_title().startswith("layer1"))
    np.testing.assert_array_equal(mosaic.get_images()[0].get_array().filled(np.nan),
                                  figures.mosaic(result.feature_maps["layer1"]))


def test_relevance_colours_mean_the_same_whatever_a_maps_range(drawn):
    # the colour bar reads "scaled to 0-1": a map spanning 0.3-0.6 must not be stretched to it
    kept, folder = drawn
    result = explanation()
    result.gradcam[:] = np.linspace(0.3, 0.6, 64).reshape(8, 8)
    result.attribution[:] = np.linspace(0.1, 0.4, 64).reshape(8, 8)
    figures.explain_figure(result, folder / "e.png", "t")
    axes = kept["e.png"].axes
    assert axes[1].get_images()[1].get_clim() == (0, 1)
    assert axes[2].get_images()[0].get_clim() == (0, 1)


def test_the_input_and_its_two_maps_are_drawn_at_one_size(drawn):
    kept, folder = drawn
    figures.explain_figure(explanation(), folder / "e.png", "t")
    fig = kept["e.png"]
    fig.canvas.draw()
    sizes = [ax.get_window_extent().size for ax in fig.axes[:3]]
    np.testing.assert_allclose(sizes, [sizes[0]] * 3, rtol=1e-6)


def test_the_intact_networks_line_stands_out_from_the_bars(drawn):
    from matplotlib.colors import to_rgba

    kept, folder = drawn
    figures.lesion_figure([lesion(), lesion()], folder / "l.png")
    for ax in kept["l.png"].axes:
        intact = ax.get_lines()[0]
        assert to_rgba(intact.get_color()) not in {b.get_facecolor()[:3] + (1.0,)
                                                   for b in ax.patches}


def test_a_lesion_chart_grows_with_its_blocks_but_a_resnet110_fits_a_page(drawn):
    kept, folder = drawn

    def width(blocks):
        names = [f"b{i}" for i in range(blocks)]
        result = LesionResult("deep", 2.0, 0.9, names, ["branch"] * blocks, np.ones(blocks),
                              np.full(blocks, 0.5), {}, 10)
        figures.lesion_figure([result], folder / f"l{blocks}.png")
        return kept[f"l{blocks}.png"].get_size_inches()[0]

    # a few blocks keep a readable minimum; ResNet-110's 54 blocks get >= 0.25 in a bar
    # and still fit 20 inches
    assert width(3) == width(9) >= 6
    assert 54 * 0.25 <= width(54) <= 20


def test_side_by_side_contours_share_their_log_levels_and_star_the_trained_weights(drawn):
    kept, folder = drawn
    results = [landscape_result(), landscape_result("plain", 3.0)]
    figures.landscape_figures(results, folder)
    logs = np.log10(np.concatenate([r.loss_2d.ravel() for r in results]))
    for ax in kept["landscape_contour.png"].axes[:2]:
        filled, lines = ax.collections[:2]
        # one scale for both networks: 25 levels from the lowest loss of either to the highest
        np.testing.assert_allclose(filled.levels, lines.levels)
        assert len(filled.levels) == 25
        assert filled.levels[0] == pytest.approx(logs.min())
        assert filled.levels[-1] == pytest.approx(logs.max())
        star = ax.get_lines()[0]
        assert (list(star.get_xdata()), list(star.get_ydata())) == ([0], [0])
        assert star.get_label() == "trained weights"


def test_probability_bars_start_at_zero_and_leave_room_for_their_labels(drawn):
    kept, folder = drawn
    figures.explain_figure(explanation(), folder / "e.png", "t")
    bars = kept["e.png"].axes[3]
    low, high = bars.get_xlim()
    assert low == 0 and high > 100  # 100 % fits, with its label beside the bar


def test_explain_and_lesion_axes_say_what_they_show(drawn):
    kept, folder = drawn
    figures.explain_figure(explanation(), folder / "e.png", "the title")
    fig = kept["e.png"]
    assert fig.get_suptitle() == "the title"
    suptitles = [sub.get_suptitle() for sub in fig.subfigs]
    assert "feature maps of each stage (each channel scaled to its own range)" in suptitles
    figures.lesion_figure([lesion()], folder / "l.png")
    assert kept["l.png"].axes[0].get_xlabel() == "removed block"
