"""A segmenter's explanation in the Analyze workspace: classes ranked by their share of the
pixels, and Grad-CAM described for the pixels of the explained class."""

from __future__ import annotations

import numpy as np

from resnet_studio.analysis.explain import Explanation
from resnet_studio.ui.analyze.explain_view import ExplainView


def _explanation(scores: str) -> Explanation:
    maps = np.zeros((2, 4, 4), np.float32)
    return Explanation(np.zeros((8, 8, 3), np.float32), ["square", "background"], [0.7, 0.3],
                       "square", "layer3", np.zeros((8, 8)), "saliency", np.zeros((8, 8)),
                       {"layer3": maps}, scores=scores)


def test_a_segmenters_ranking_is_by_pixel_share(qtbot):
    view = ExplainView()
    qtbot.addWidget(view)
    view.show_result(_explanation("pixel share"), {"source": "shapes.png"})
    assert "Top 2 by pixel share" in view.top_k.text() and "70.0%" in view.top_k.text()
    assert "the 2 classes covering most pixels" in view.note.text()
    assert "Grad-CAM on layer3 and saliency for the pixels predicted as ‘square’" in \
        view.note.text()


def test_a_classifiers_ranking_stays_by_probability(qtbot):
    view = ExplainView()
    qtbot.addWidget(view)
    view.show_result(_explanation("probability"), {"source": "cat.png"})
    assert "Top 2</b>" in view.top_k.text() and "pixel" not in view.note.text()
    assert "the network's top 2 predictions" in view.note.text()
