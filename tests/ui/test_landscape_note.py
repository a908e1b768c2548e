"""The landscape note speaks of BatchNorm only for the networks that have it."""

from __future__ import annotations

import torch

from resnet_studio.analysis.landscape import landscape
from resnet_studio.ui.analyze.landscape_view import landscape_text


def _tiny_batches():
    torch.manual_seed(0)
    return [(torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))]


def test_the_note_speaks_of_batchnorm_only_for_networks_that_have_it():
    plain = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    normed = torch.nn.Sequential(torch.nn.BatchNorm2d(1), torch.nn.Flatten(),
                                 torch.nn.Linear(64, 2))
    a = landscape(plain, _tiny_batches(), label="plain", steps_1d=3, steps_2d=2)
    b = landscape(normed, _tiny_batches(), label="normed", steps_1d=3, steps_2d=2)
    assert "BatchNorm" not in landscape_text([a])
    assert "BatchNorm statistics stay as trained" in landscape_text([b])
    assert "BatchNorm statistics (in normed) stay as trained" in landscape_text([a, b])
