"""What is written for classifiers refuses a detector or a segmenter in one line: the
analyses (they measure class scores)."""

from __future__ import annotations

import pytest
from heads_graphs import detector, segmenter

from resnet_studio.analysis.common import AnalysisError, classifier_only
from resnet_studio.analysis.signal import signal_propagation
from resnet_studio.presets import create

GRAPHS = {"detection": detector, "segmentation": segmenter}


@pytest.mark.parametrize("task", sorted(GRAPHS))
def test_the_analyses_refuse_a_dense_network_naming_its_task(task):
    graph = GRAPHS[task]()
    with pytest.raises(AnalysisError, match=f"^here: a {task} network; the analyses") as info:
        classifier_only(graph, "here")
    assert "\n" not in str(info.value) and "Gradients tab" in str(info.value)
    with pytest.raises(AnalysisError, match=f"a {task} network"):
        signal_propagation(graph, batch_size=2, twin=False)


def test_a_classifier_passes():
    classifier_only(create("resnet20"), "here")  # nothing raised
