"""The explain tab colour-maps its pictures once per result: a resize scales what was rendered,
and shows the same pixels a fresh render at the new size would."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_studio.analysis.explain import Explanation
from resnet_studio.analysis.figures import mosaic
from resnet_studio.ui.analyze import explain_view
from resnet_studio.ui.analyze.base import rgb_pixmap, rgba_pixmap, scalar_pixmap
from resnet_studio.ui.analyze.explain_view import ExplainView, gradcam_overlay


def explanation(seed: int = 0) -> Explanation:
    rng = np.random.default_rng(seed)
    return Explanation(
        image=rng.random((12, 12, 3)), classes=["a", "b"], probabilities=[0.7, 0.2],
        target="a", gradcam_layer="layer2", gradcam=rng.random((12, 12)), method="saliency",
        attribution=rng.random((12, 12)),
        feature_maps={"layer1": rng.random((8, 6, 6)), "layer2": rng.random((4, 3, 3))})


@pytest.fixture
def counted(monkeypatch):
    """How many times each colour mapping ran."""
    calls = {"rgb": 0, "overlay": 0, "scalar": 0}

    def counting(name, function):
        def call(*args):
            calls[name] += 1
            return function(*args)
        return call

    monkeypatch.setattr(explain_view, "rgb_pixmap", counting("rgb", rgb_pixmap))
    monkeypatch.setattr(explain_view, "gradcam_overlay", counting("overlay", gradcam_overlay))
    monkeypatch.setattr(explain_view, "scalar_pixmap", counting("scalar", scalar_pixmap))
    return calls


def shown(qtbot, view: ExplainView, width: int) -> None:
    view.resize(width, 900)
    view.show()
    qtbot.waitUntil(lambda: width - 100 < view.body.width() <= width)


def fresh(result: Explanation, key: str, height: int):
    """What the tab showed before it kept its renders: each picture drawn at ``height``."""
    if key == "image":
        return rgb_pixmap(result.image, height)
    if key == "gradcam":
        return rgba_pixmap(gradcam_overlay(result.image, result.gradcam), height)
    if key == "attribution":
        return scalar_pixmap(result.attribution, "inferno", height)
    return scalar_pixmap(mosaic(result.feature_maps[key.split(":")[1]]), "viridis", height)


def test_a_resize_scales_the_rendered_pictures_without_colour_mapping_again(qtbot, counted):
    view = ExplainView()
    qtbot.addWidget(view)
    result = explanation()
    view.show_result(result, {"source": "x.png", "title": "x"})
    assert counted == {"rgb": 1, "overlay": 1, "scalar": 3}  # attribution and 2 stages
    shown(qtbot, view, 900)
    small = view.pictures["image"].pixmap().height()
    shown(qtbot, view, 1900)
    qtbot.wait(20)
    assert view.pictures["image"].pixmap().height() > small  # it did rescale
    assert counted == {"rgb": 1, "overlay": 1, "scalar": 3}
    for key, label in view.pictures.items():
        height = label.pixmap().height()
        assert label.pixmap().toImage() == fresh(result, key, height).toImage(), key


def test_a_new_result_is_rendered_again(qtbot, counted):
    view = ExplainView()
    qtbot.addWidget(view)
    view.show_result(explanation(0), {"source": "x.png", "title": "x"})
    shown(qtbot, view, 900)
    second = explanation(1)
    view.show_result(second, {"source": "y.png", "title": "y"})
    assert counted == {"rgb": 2, "overlay": 2, "scalar": 6}
    label = view.pictures["attribution"]
    expected = fresh(second, "attribution", label.pixmap().height())
    assert label.pixmap().toImage() == expected.toImage()
