"""Explain an image: fitting the file, the result's parts, a missing Captum, the command."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_analysis_support import (
    png_size,
    tiny_resnet,
    tiny_run,
)

from resnet_studio.analysis.common import AnalysisError
from resnet_studio.analysis.explain import explain, load_image
from resnet_studio.cli import main
from resnet_studio.compiler import build
from resnet_studio.graph import InputSpec

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def picture(path, size=(20, 10), mode="RGB"):
    """A wide image: left half black, right half white."""
    pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    pixels[:, size[0] // 2:] = 255
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def test_an_image_is_fitted_to_the_input_size_and_channels(tmp_path):
    path = picture(tmp_path / "wide.png")
    colour = load_image(path, InputSpec(3, 8, 8, 3))
    assert colour.shape == (3, 8, 8) and colour.dtype == torch.float32
    assert colour[:, :, 0].max() < 0.1 and colour[:, :, -1].min() > 0.9  # centre crop
    grey = load_image(picture(tmp_path / "g.png", mode="L"), InputSpec(1, 6, 12, 3))
    assert grey.shape == (1, 6, 12)


def test_a_file_that_is_no_image_is_named(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(AnalysisError, match=r"notes\.png: cannot be read as an image"):
        load_image(bad, InputSpec(3, 8, 8, 3))


def test_explanation_parts(tmp_path):
    torch.manual_seed(0)
    model = build(tiny_resnet()).eval()
    image = torch.rand(3, 8, 8)
    result = explain(model, image, MEAN, STD, ["a", "b", "c"], top_k=2, channels=3)
    with torch.no_grad():
        probs = torch.softmax(model(((image - 0.5) / 0.25).unsqueeze(0)), 1)[0]
    best = probs.argsort(descending=True)[:2]
    assert result.classes == [["a", "b", "c"][i] for i in best]
    assert result.probabilities == pytest.approx(probs[best].tolist(), rel=1e-5)
    assert result.target == result.classes[0] and result.gradcam_layer == "layer2"
    assert result.gradcam.shape == (8, 8) and result.attribution.shape == (8, 8)
    assert result.gradcam.min() >= 0 and result.attribution.max() == pytest.approx(1.0)
    assert {k: v.shape for k, v in result.feature_maps.items()} == {"layer1": (3, 8, 8),
                                                                   "layer2": (3, 4, 4)}


def test_saliency_is_the_input_gradient():
    torch.manual_seed(0)
    model = build(tiny_resnet()).eval()
    image = torch.rand(3, 8, 8)
    result = explain(model, image, MEAN, STD, method="saliency", target=1)
    x = ((image - 0.5) / 0.25).unsqueeze(0).requires_grad_()
    model(x)[0, 1].backward()
    expected = x.grad[0].abs().sum(0)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(result.attribution, expected.numpy(), rtol=1e-4, atol=1e-6)
    assert result.target == "1"


def test_missing_captum_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_captum(name, *args, **kwargs):
        if name.startswith("captum"):
            raise ImportError("No module named 'captum'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_captum)
    with pytest.raises(AnalysisError, match=r"pip install 'resnet-studio\[explain\]'"):
        explain(build(tiny_resnet()), torch.rand(3, 8, 8), MEAN, STD)


def test_command_writes_figure_and_numbers(tmp_path, capsys, monkeypatch):
    from resnet_studio.analysis import figures

    titles, real = [], figures.explain_figure

    def spy(result, path, title):
        titles.append(title)
        return real(result, path, title)

    monkeypatch.setattr(figures, "explain_figure", spy)
    run = tiny_run(tmp_path / "run", epochs=1)
    out = tmp_path / "out"
    code = main(["explain", str(run), str(picture(tmp_path / "p.png")), "--top-k", "3",
                 "--channels", "2", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith("top 3:") and "explain [3/3] done" in captured.err
    data = json.loads((out / "explain.json").read_text())
    assert len(data["top"]) == 3 and data["gradcam_layer"] == "layer2"
    # --channels 2 keeps two of each stage's 4 and 8 maps (the default would keep up to 8)
    assert {shape[0] for shape in data["feature_map_shapes"].values()} == {2}
    assert sum(d["probability"] for d in data["top"]) <= 1.0
    assert png_size(out / "explain.png")[0] > 800
    assert titles == ["tiny on p.png"]  # the network and the image explained
    assert main(["explain", str(run), str(tmp_path / "none.png"), "-o", str(out)]) == 2
    assert "none.png" in capsys.readouterr().err


class _Steps:
    """Records the progress calls; sets ``cancel`` when the step ``stop_at`` is announced."""

    def __init__(self, cancel=None, stop_at: int | None = None):
        self.calls, self.cancel, self.stop_at = [], cancel, stop_at

    def __call__(self, done: int, total: int, text: str) -> None:
        self.calls.append((done, total, text))
        if done == self.stop_at:
            self.cancel.set()


def test_progress_names_each_step_and_a_cancel_stops_before_the_next():
    import threading

    from resnet_studio.analysis.common import Cancelled

    torch.manual_seed(0)
    model = build(tiny_resnet()).eval()
    steps = _Steps()
    explain(model, torch.rand(3, 8, 8), MEAN, STD, method="integrated_gradients",
            progress=steps)
    assert steps.calls == [(0, 3, "prediction and feature maps"), (1, 3, "Grad-CAM on layer2"),
                           (2, 3, "integrated gradients"), (3, 3, "done")]
    cancel = threading.Event()
    stopping = _Steps(cancel, stop_at=1)  # asked while Grad-CAM runs: no attribution after it
    with pytest.raises(Cancelled):
        explain(model, torch.rand(3, 8, 8), MEAN, STD, progress=stopping, cancel=cancel)
    assert [c[0] for c in stopping.calls] == [0, 1]
