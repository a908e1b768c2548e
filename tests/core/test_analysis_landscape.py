"""Loss landscape: the origin is the trained network, filter normalisation, the command."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_analysis_support import (
    png_size,
    tiny_resnet,
    tiny_run,
)

from resnet_studio.analysis.common import Cancelled, load_run, validation_batches
from resnet_studio.analysis.landscape import filter_normalised_direction, landscape
from resnet_studio.cli import main
from resnet_studio.compiler import build


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_run(tmp_path_factory.mktemp("landscape") / "run")
    torch.set_num_threads(before)


def test_the_origin_is_the_runs_loss_on_the_same_data(run_dir):
    run = load_run(run_dir)
    batches = validation_batches(run, 20, 8)
    result = landscape(run.model(), batches, steps_1d=3, steps_2d=3, span=0.5)
    # Computed independently: the checkpoint's weights in a fresh module, summed by hand.
    model = build(run.graph, initialise=False)
    model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True)["model"])
    model.eval()
    with torch.no_grad():
        x = torch.cat([b[0] for b in batches])
        expected = F.cross_entropy(model(x), torch.cat([b[1] for b in batches])).item()
    assert result.samples == 20
    assert result.origin_loss == pytest.approx(expected, rel=1e-5)
    assert result.loss_1d[1] == pytest.approx(expected, rel=1e-5)
    assert result.loss_2d[1, 1] == pytest.approx(expected, rel=1e-5)
    assert result.loss_2d.shape == (3, 3) and np.all(result.loss_1d[[0, 2]] != expected)


def test_each_direction_filter_has_the_norm_of_the_weight_filter():
    model = build(tiny_resnet())
    direction = filter_normalised_direction(model, torch.Generator().manual_seed(0))
    checked = 0
    for (name, w), d in zip(model.named_parameters(), direction):
        if w.dim() <= 1:  # BatchNorm weights and biases, the linear bias: left as trained
            assert torch.all(d == 0), name
            continue
        w_norms = w.detach().reshape(len(w), -1).norm(dim=1)
        d_norms = d.reshape(len(d), -1).norm(dim=1)
        torch.testing.assert_close(d_norms, w_norms, rtol=1e-5, atol=1e-7)
        assert not torch.allclose(d, w)  # same norms, not the same tensor
        checked += 1
    assert checked == 10  # 9 convolutions and the linear layer


def test_weights_are_restored_even_when_cancelled():
    model = build(tiny_resnet())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flag = threading.Event()
    calls = []

    def progress(done, total, message):
        calls.append((done, total))
        if done == 4:
            flag.set()

    x = torch.randn(6, 3, 8, 8)
    with pytest.raises(Cancelled):
        landscape(model, [(x, torch.zeros(6, dtype=torch.long))], steps_1d=5, steps_2d=3,
                  progress=progress, cancel=flag)
    assert calls[0] == (0, 14) and calls[-1] == (4, 14)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_command_writes_figures_and_grids(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["landscape", str(run_dir), "--twin", str(run_dir), "--steps", "3", "--grid",
                 "3", "--samples", "8", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "landscape [12/12] tiny: done" in captured.err and "s left" in captured.err
    assert len((out / "landscape_2d.csv").read_text().splitlines()) == 1 + 2 * 9
    data = json.loads((out / "landscape.json").read_text())
    assert data[0]["samples"] == 8 and len(data[0]["loss_2d"]) == 3
    for name in ("landscape_1d.png", "landscape_contour.png", "landscape_surface.png"):
        assert png_size(out / name)[0] > 500


def _tiny_batches():
    torch.manual_seed(0)
    return [(torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))]


@pytest.mark.parametrize("norms", [0, 1, 3])
def test_the_result_counts_the_batchnorm_layers_it_keeps_as_trained(norms):
    layers = [torch.nn.Conv2d(1, 2, 3, padding=1)]
    layers += [torch.nn.BatchNorm2d(2) for _ in range(norms)]
    model = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(128, 2))
    result = landscape(model, _tiny_batches(), steps_1d=3, steps_2d=2)
    assert result.batchnorm_layers == norms
    assert result.to_json()["batchnorm_layers"] == norms

