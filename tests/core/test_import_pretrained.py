"""Pretrained weights: local files, torchvision's named weights (from torch hub's folder, or a
download that fails clearly offline), mismatch reports, and head replacement for fine-tuning.
No test touches the network: downloads are intercepted where torchvision makes them."""

from __future__ import annotations

import os
from urllib.error import URLError

import pytest
import torch
import torchvision

from resnet_studio.export import WeightsError, import_torchvision, load_pretrained
from resnet_studio.export.pretrained import classifier_name, hub_file

R18_FILE = "resnet18-f37072fd.pth"  # the file torchvision's ResNet18_Weights.IMAGENET1K_V1 names


@pytest.fixture(scope="module")
def resnet18_state() -> dict[str, torch.Tensor]:
    """torchvision's resnet18 with seeded random weights: a stand-in for the ImageNet ones."""
    torch.manual_seed(5)
    return torchvision.models.resnet18(weights=None).state_dict()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub folder of our own ($TORCH_HOME), and downloads that fail as they do
    offline; the URLs torchvision asked for are recorded."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    asked = []

    def offline(url, *args, **kwargs):
        asked.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    return tmp_path / "torch-home" / "hub" / "checkpoints", asked


def outputs(model, size: int = 32) -> torch.Tensor:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return model.eval()(x)


def test_a_local_pth_file_loads_into_the_imported_project(resnet18_state, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(resnet18_state, path)
    result = load_pretrained(import_torchvision("resnet18", input_size=32), path)
    assert result.head is None and result.loaded == len(resnet18_state)
    assert result.source == str(path)
    reference = torchvision.models.resnet18(weights=None)
    reference.load_state_dict(resnet18_state)
    torch.testing.assert_close(outputs(result.model), outputs(reference), atol=1e-5, rtol=1e-4)


def test_a_different_class_count_leaves_a_fresh_head(resnet18_state, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(resnet18_state, path)
    result = load_pretrained(import_torchvision("resnet18", classes=10, input_size=32), path)
    model = result.model
    assert result.head == "fc" and "fc.weight is 1000×512, this network's 10×512" in \
        result.head_reason
    assert "left freshly initialised" in result.summary()
    assert result.loaded == len(resnet18_state) - 2
    for key, value in resnet18_state.items():
        if not key.startswith("fc."):
            assert torch.equal(model.state_dict()[key], value), key
    assert tuple(model.fc.weight.shape) == (10, 512)
    assert outputs(model).shape == (2, 10)


def test_head_replacement_can_be_refused(resnet18_state, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(resnet18_state, path)
    with pytest.raises(WeightsError, match="Only the classifier ‘fc’ differs"):
        load_pretrained(import_torchvision("resnet18", classes=10), path, replace_head=False)


def test_weights_of_another_network_are_refused_with_the_keys(tmp_path):
    path = tmp_path / "r50.pth"
    torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    with pytest.raises(WeightsError) as caught:
        load_pretrained(import_torchvision("resnet18", input_size=32), path)
    text = str(caught.value)
    assert f"the weights in {path} do not fit this network" in text
    assert "not in the network: layer1.0.conv3.weight" in text
    assert "missing from the file" not in text  # every resnet18 key exists in resnet50
    assert "different shapes: layer1.0.conv1.weight (network 64×64×3×3, file 64×64×1×1)" in text
    assert "… and" in text and "belong to another network" in text


def test_a_missing_layer_is_named(resnet18_state, tmp_path):
    cut = {k: v for k, v in resnet18_state.items() if not k.startswith("layer4.1.bn2")}
    torch.save(cut, tmp_path / "cut.pth")
    with pytest.raises(WeightsError, match=r"missing from the file: layer4\.1\.bn2\.weight, "
                                           r"layer4\.1\.bn2\.bias"):
        load_pretrained(import_torchvision("resnet18"), tmp_path / "cut.pth")


def test_unsafe_or_foreign_files_are_refused(tmp_path):
    torch.save({"conv1.weight": torch.zeros(1), "hook": os.system}, tmp_path / "unsafe.pth")
    with pytest.raises(WeightsError, match="safe load refuses"):
        load_pretrained(import_torchvision("resnet18"), tmp_path / "unsafe.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="does not hold a state dict"):
        load_pretrained(import_torchvision("resnet18"), tmp_path / "list.pth")
    (tmp_path / "text.pth").write_text("weights")
    with pytest.raises(WeightsError, match="not a readable PyTorch weights file"):
        load_pretrained(import_torchvision("resnet18"), tmp_path / "text.pth")


def test_a_resnet_studio_checkpoint_or_wrapped_state_dict_is_accepted(resnet18_state,
                                                                      tmp_path):
    torch.save({"model": resnet18_state, "epoch": 3}, tmp_path / "ck.pt")
    torch.save({"state_dict": resnet18_state}, tmp_path / "wrapped.pth")
    for name in ("ck.pt", "wrapped.pth"):
        assert load_pretrained(import_torchvision("resnet18"), tmp_path / name).head is None


def test_named_weights_come_from_torch_hubs_folder(resnet18_state, hub):
    folder, asked = hub
    folder.mkdir(parents=True)
    torch.save(resnet18_state, folder / R18_FILE)
    for name in ("ResNet18_Weights.IMAGENET1K_V1", "resnet18", "torchvision:resnet18"):
        result = load_pretrained(import_torchvision("resnet18", classes=10), name)
        assert result.source == str(folder / R18_FILE) and result.head == "fc"
        assert torch.equal(result.model.conv1.weight, resnet18_state["conv1.weight"])
    assert asked == []  # nothing was downloaded


def test_offline_named_weights_say_which_file_to_put_where(hub):
    folder, asked = hub
    with pytest.raises(WeightsError) as caught:
        load_pretrained(import_torchvision("resnet18"), "ResNet18_Weights.IMAGENET1K_V1")
    text = str(caught.value)
    assert asked == [f"https://download.pytorch.org/models/{R18_FILE}"]  # the real code path
    assert f"put it at {folder / R18_FILE}" in text and "name resolution" in text
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    assert hub_file(weights) == folder / R18_FILE


def test_an_unknown_source_is_neither_file_nor_weights_name(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file, and not the name of"):
        load_pretrained(import_torchvision("resnet18"), tmp_path / "absent.pth")


def test_a_module_can_take_weights_too(resnet18_state, tmp_path):
    torch.save(resnet18_state, tmp_path / "r18.pth")
    model = torchvision.models.resnet18(num_classes=3)
    assert classifier_name(model) == "fc"
    result = load_pretrained(model, tmp_path / "r18.pth")
    assert result.model is model and result.head == "fc"
    assert torch.equal(model.layer3[0].conv1.weight, resnet18_state["layer3.0.conv1.weight"])


@pytest.mark.parametrize(("value", "words"), [(float("nan"), "holds 3 NaN and 0 infinite"),
                                               (float("-inf"), "holds 0 NaN and 3 infinite")])
def test_non_finite_weights_are_refused_naming_the_tensor(resnet18_state, tmp_path, value,
                                                         words):
    state = {k: v.clone() for k, v in resnet18_state.items()}
    state["layer2.0.conv1.weight"].view(-1)[5:8] = value
    path = tmp_path / "diverged.pth"
    torch.save(state, path)
    graph = import_torchvision("resnet18")
    with pytest.raises(WeightsError, match=f"diverged.pth is not imported: its tensor "
                                           f"‘layer2.0.conv1.weight’ {words} value"):
        load_pretrained(graph, path)
