"""Analyses of trained runs evaluate on exactly the validation batches training used.

Three runs: a grey image folder fitted to a 1×28×28 network (the data config's own channels
and size, 3×32×32, are NOT what training served: a consumer that rebuilds the data without
the recorded target gets other images), a colour 3×32×32 folder, and the synthetic set.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from test_analysis_support import image_folder, tiny_net, tiny_resnet, train_once

from resnet_studio.analysis import landscape as landscape_module
from resnet_studio.analysis import lesion as lesion_module
from resnet_studio.analysis.common import AnalysisError, load_run, validation_batches
from resnet_studio.analysis.explain import explain_sample, validation_image
from resnet_studio.analysis.signal import run_batch, signal_propagation
from resnet_studio.cli import main
from resnet_studio.data import DataConfig, balanced_indices

CASES = ("grey_folder", "colour_folder", "synthetic")


def _case(name: str, root):
    if name == "grey_folder":
        folder = image_folder(root / "images", channels=1, size=28)
        return tiny_net(1, 28), DataConfig(dataset=f"folder:{folder}", val_fraction=0.25, seed=5)
    if name == "colour_folder":
        folder = image_folder(root / "images", channels=3, size=32)
        return tiny_net(3, 32), DataConfig(dataset=f"folder:{folder}", val_fraction=0.25, seed=5)
    data = DataConfig(dataset="synthetic", train_size=40, val_size=20, image_size=8, channels=3,
                      classes=3, seed=3)
    return tiny_resnet(), data


@pytest.fixture(scope="module", params=CASES)
def trained(request, tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp(request.param)
    graph, data = _case(request.param, root)
    engine = train_once(root / "run", graph, data)
    val = engine.session.data.val
    x, y = (torch.cat(parts) for parts in zip(*val.epoch(0)))
    yield SimpleNamespace(name=request.param, path=root / "run", graph=graph, x=x, y=y,
                          info=engine.session.data.info)
    torch.set_num_threads(before)


def _spy(module, monkeypatch) -> list:
    """Record the batches each call of ``module.evaluate`` gets."""
    seen, real = [], module.evaluate

    def record(model, batches):
        seen.append(batches)
        return real(model, batches)

    monkeypatch.setattr(module, "evaluate", record)
    return seen


def _images(batches) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def test_the_run_records_its_data_spec(trained):
    spec = json.loads((trained.path / "config.json").read_text())["data_spec"]
    spec_input = trained.graph.input_spec
    shape = [spec_input.channels, spec_input.height, spec_input.width]
    assert spec["version"] == 2 and spec["task"] == "classification"
    assert spec["target"] == shape and spec["shape"] == shape
    assert spec["normalisation"] == {"mean": list(trained.info.mean),
                                     "std": list(trained.info.std)}
    assert spec["class_counts"]["val"] == torch.bincount(trained.y, minlength=3).tolist()
    assert sum(spec["class_counts"]["train"]) == trained.info.train_size
    assert spec["augmentation"]["flip"] is (trained.name == "synthetic")
    assert spec["data"]["seed"] == (3 if trained.name == "synthetic" else 5)


def test_lesion_evaluates_on_the_training_validation_batches(trained, monkeypatch):
    seen = _spy(lesion_module, monkeypatch)
    result = lesion_module.lesion_run(load_run(trained.path), batch_size=5)
    x, y = _images(seen[0])
    assert torch.equal(x, trained.x) and torch.equal(y, trained.y)
    assert all(torch.equal(_images(b)[0], trained.x) for b in seen)  # every lesion, same data
    assert result.samples == len(trained.y)


def test_landscape_evaluates_on_a_balanced_subset_of_the_training_batches(trained,
                                                                          monkeypatch):
    seen = _spy(landscape_module, monkeypatch)
    run = load_run(trained.path)
    result = landscape_module.landscape_run(run, samples=6, batch_size=4, steps_1d=2,
                                            steps_2d=2)
    keep = balanced_indices(trained.y.tolist(), 6, run.spec.config.seed)
    x, y = _images(seen[0])
    assert torch.equal(x, trained.x[keep]) and torch.equal(y, trained.y[keep])
    assert result.class_counts == dict(zip(run.class_names, [2, 2, 2]))
    assert result.to_json()["class_counts"] == result.class_counts


def test_explain_sees_the_validation_image_as_training_served_it(trained):
    run = load_run(trained.path)
    image, label = validation_image(run, 3)
    mean = torch.tensor(trained.info.mean).view(-1, 1, 1)
    std = torch.tensor(trained.info.std).view(-1, 1, 1)
    torch.testing.assert_close((image - mean) / std, trained.x[3], rtol=0, atol=1e-5)
    assert label == int(trained.y[3])
    first, first_label = validation_image(run, 0)  # the first and last exist, one past does not
    torch.testing.assert_close((first - mean) / std, trained.x[0], rtol=0, atol=1e-5)
    assert first_label == int(trained.y[0])
    last = len(trained.y) - 1
    assert validation_image(run, last)[1] == int(trained.y[last])
    with pytest.raises(AnalysisError, match=f"validation image {last + 1} does not exist"):
        validation_image(run, last + 1)
    result = explain_sample(run, 3, top_k=2, method="saliency")
    assert result.image.shape == (image.shape[1], image.shape[2], image.shape[0])
    assert len(result.probabilities) == 2


def test_signal_on_a_run_measures_on_its_own_data(trained):
    run = load_run(trained.path)
    x, y = run_batch(run, 6, seed=11)
    keep = balanced_indices(trained.y.tolist(), 6, 11)
    assert torch.equal(x, trained.x[keep]) and torch.equal(y, trained.y[keep])
    result = signal_propagation(run.graph, batch=(x, y), twin=False)
    assert result.settings["input"] == list(trained.x.shape[1:])


def test_signal_command_on_a_run_records_its_data_and_classes(trained, tmp_path, capsys):
    if trained.name != "synthetic":
        pytest.skip("one command run is enough")
    assert main(["signal", str(trained.path), "--batch-size", "6", "--no-twin",
                 "-o", str(tmp_path)]) == 0, capsys.readouterr().err
    settings = json.loads((tmp_path / "signal.json").read_text())["settings"]
    keep = balanced_indices(trained.y.tolist(), 6, 0)
    expected = torch.bincount(trained.y[keep], minlength=3).tolist()
    assert settings["data"] == "synthetic" and expected == [2, 2, 2]
    assert list(settings["class_counts"].values()) == expected


def test_all_validation_batches_match_when_no_subset_is_asked_for(trained):
    x, y = _images(validation_batches(load_run(trained.path), None, 7))
    assert torch.equal(x, trained.x) and torch.equal(y, trained.y)


def test_lesion_command_records_the_subsets_classes(trained, tmp_path, capsys):
    if trained.name != "grey_folder":
        pytest.skip("one command run is enough")
    assert main(["lesion", str(trained.path), "--samples", "7", "-o", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "lesion.json").read_text())[0]
    assert data["samples"] == 7
    assert data["class_counts"] == {"class_a": 3, "class_b": 2, "class_c": 2}
    assert "on 7 images" in capsys.readouterr().out
    assert main(["lesion", str(trained.path), "--samples", "1", "-o", str(tmp_path)]) == 0
    assert "on 1 image;" in capsys.readouterr().out
