"""A segmenter as a torch.export program (its per-pixel scores, any batch) and detectors and
segmenters as safetensors that rebuild the network; a detector's .pt2 refused in one line."""

from __future__ import annotations

import json

import pytest
import torch
from heads_graphs import SHAPE_NAMES, detector, segmenter, trained_dense

from resnet_studio.export.errors import ExportError
from resnet_studio.export.formats import (
    META_PROJECT,
    comparable_outputs,
    export_pt2,
    export_safetensors,
    load_safetensors,
)
from resnet_studio.export.trained import Trained
from resnet_studio.graph import project

NAMES = SHAPE_NAMES


def _trained(graph, tmp_path) -> Trained:
    return trained_dense(graph, tmp_path / "dense.pt")


def test_a_segmenters_pt2_gives_its_per_pixel_scores_for_another_batch(tmp_path):
    trained = _trained(segmenter(), tmp_path)
    out = tmp_path / "seg.pt2"
    result = export_pt2(trained, out)
    assert result.max_abs_diff < 1e-4
    program = torch.export.load(str(out)).module()
    x = torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        got, want = program(x), trained.model()(x)["out"]
    assert got.shape == (5, 4, 64, 64)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_a_detectors_pt2_is_refused_in_one_line_and_nothing_is_written(tmp_path):
    out = tmp_path / "det.pt2"
    with pytest.raises(ExportError) as caught:
        export_pt2(_trained(detector(), tmp_path), out)
    message = str(caught.value)
    assert message.startswith(f"{out}: a detector cannot be exported with torch.export")
    assert "data-dependent" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", [segmenter, detector], ids=["segmenter", "detector"])
def test_dense_safetensors_rebuild_the_network_with_its_weights(make, tmp_path):
    trained = _trained(make(), tmp_path)
    out = tmp_path / "net.safetensors"
    result = export_safetensors(trained, out)
    assert result.max_abs_diff == 0.0
    graph, net = load_safetensors(out)
    assert project.to_dict(graph) == project.to_dict(trained.graph)
    assert type(net) is type(trained.model())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    want = comparable_outputs(trained.model(), x)
    assert want.numel() > 0
    torch.testing.assert_close(comparable_outputs(net, x), want, atol=0, rtol=0)
    for key, value in trained.checkpoint["model"].items():
        assert torch.equal(net.state_dict()[key], value), key


def test_the_comparison_of_a_detector_covers_its_backbone_and_its_detections(tmp_path):
    """A changed backbone weight, or a changed box predictor, changes what is compared."""
    trained = _trained(detector(), tmp_path)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    net = trained.model()
    base = comparable_outputs(net, x)
    with torch.no_grad():
        next(net.backbone.parameters()).add_(0.01)
    assert not torch.equal(comparable_outputs(net, x)[: base.numel()], base)
    features = sum(f.numel() for f in net.backbone(x).values())
    assert base.numel() >= features


def test_the_safetensors_metadata_names_the_project(tmp_path):
    from safetensors import safe_open

    trained = _trained(segmenter(), tmp_path)
    export_safetensors(trained, tmp_path / "s.safetensors")
    with safe_open(str(tmp_path / "s.safetensors"), framework="pt") as handle:
        meta = handle.metadata()
    assert json.loads(meta[META_PROJECT]) == project.to_dict(trained.graph)
    assert json.loads(meta["class_names"]) == NAMES
