"""ONNX of a segmenter, checked against PyTorch; a detector refused in one line."""

from __future__ import annotations

import pytest
import torch
from heads_graphs import SHAPE_NAMES, detector, segmenter, trained_dense

from resnet_studio.export.errors import ExportError
from resnet_studio.export.formats import export_onnx
from resnet_studio.export.trained import Trained

NAMES = SHAPE_NAMES


def _trained(graph, tmp_path) -> Trained:
    return trained_dense(graph, tmp_path / "seg.pt")


def test_a_segmenters_onnx_gives_pytorchs_scores_for_any_batch(tmp_path):
    import onnxruntime as ort

    trained = _trained(segmenter(), tmp_path)
    out = tmp_path / "seg.onnx"
    result = export_onnx(trained, out)
    assert out.is_file() and result.max_abs_diff < 1e-4
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    (got,) = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        want = trained.model()(x)["out"]
    assert got.shape == (3, 4, 64, 64)
    assert torch.allclose(torch.from_numpy(got), want, atol=1e-4)
    assert [o.name for o in session.get_outputs()] == ["logits"]


def test_a_detector_is_refused_in_one_line_and_nothing_is_written(tmp_path):
    trained = _trained(detector(), tmp_path)
    out = tmp_path / "det.onnx"
    with pytest.raises(ExportError) as caught:
        export_onnx(trained, out)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{out}: a detector cannot be exported")
    assert not out.exists() and list(tmp_path.iterdir()) == []
