"""The analysis dialogs refuse, before Start, what the analysis itself would refuse: a
signal batch that cannot fit in memory, a landscape with too many points."""

from __future__ import annotations

import pytest
from training_helpers import TrainingPrompts, tiny_net

from resnet_studio.graph import InputSpec


@pytest.fixture
def studio(make_window):
    graph = tiny_net()
    graph.input_spec = InputSpec(3, 100_000, 100_000, graph.input_spec.classes)
    window = make_window(graph, TrainingPrompts())
    return window, window.analyses


def pressing_run(seen: dict):
    """An ``ask`` that presses Run once and notes what the dialog then says."""
    def ask(dialog) -> bool:
        dialog.accept()
        seen["problem"] = dialog.problem.text()
        return dialog.result() == dialog.DialogCode.Accepted
    return ask


def test_a_signal_batch_that_cannot_fit_is_refused_in_the_dialog(qtbot, studio):
    window, feature = studio
    seen: dict = {}
    feature.ask = pressing_run(seen)
    window.actions["analyze_signal"].trigger()
    assert not feature.busy()
    assert "images at 3×100000×100000 needs about" in seen["problem"]
    assert "GiB of memory, more than the" in seen["problem"]


def test_the_landscape_dialog_carries_the_landscape_s_bounds(qtbot, studio):
    window, feature = studio
    dialogs = []
    feature.ask = lambda dialog: dialogs.append(dialog) or False
    window.actions["analyze_landscape"].trigger()
    limit = dialogs[0].limit
    assert limit({"steps_1d": 21, "steps_2d": 11}) == ""
    assert "at most 201 points per side" in limit({"steps_1d": 21, "steps_2d": 202})
