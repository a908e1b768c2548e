"""The analyses that measure a classifier's class scores refuse a detector or a segmenter in
one line that says why and what works for it instead; explain refuses only a detector."""

from __future__ import annotations

from pathlib import Path

import pytest
from heads_graphs import detector, segmenter

from resnet_studio.analysis.common import AnalysisError, Run, classifier_only
from resnet_studio.analysis.explain import explain_run
from resnet_studio.analysis.landscape import landscape_run
from resnet_studio.analysis.lesion import lesion_run
from resnet_studio.presets import create

GRAPHS = {"detection": detector, "segmentation": segmenter}


def _run(graph) -> Run:
    """A run of ``graph`` as the analyses receive it; the refusal comes before any of its
    files, weights or data are read."""
    return Run(Path("runs/dense"), graph, None, None, Path("runs/dense/best.pt"), {})


@pytest.mark.parametrize("task", sorted(GRAPHS))
@pytest.mark.parametrize("analysis, why", [
    (lesion_run, "the lesion study measures how far a classifier's validation accuracy falls"),
    (landscape_run, "the loss landscape is the cross-entropy of a classifier's class scores")])
def test_lesion_and_landscape_refuse_a_dense_run_saying_why_and_what_works(task, analysis,
                                                                            why):
    with pytest.raises(AnalysisError) as caught:
        analysis(_run(GRAPHS[task]()))
    message = str(caught.value)
    assert message.startswith(f"runs/dense: a {task} network; {why}") and "\n" not in message
    assert "What works for it: signal at init" in message and "Gradients tab" in message
    assert ("Grad-CAM on the backbone" in message) == (task == "segmentation")


def test_explain_refuses_a_detector_saying_why(tmp_path):
    image = tmp_path / "x.png"
    with pytest.raises(AnalysisError) as caught:
        explain_run(_run(detector()), image)
    message = str(caught.value)
    assert message.startswith("runs/dense: a detection network; Grad-CAM and the pixel "
                              "attributions explain one class score")
    assert "boxes whose number and order change with the image" in message
    assert "\n" not in message and not image.exists()


def test_a_classifier_passes():
    for analysis in ("lesion", "landscape", "explain"):
        classifier_only(create("resnet20"), "here", analysis)  # nothing raised
