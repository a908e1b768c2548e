"""The GPUs of a machine (faked): listing, sampling their memory, choosing one by number."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gpu_fakes import GIB, fake_gpus

from resnet_studio.argtypes import device_name
from resnet_studio.train import TrainConfig, devices
from resnet_studio.train.config import ConfigError
from resnet_studio.train.distributed import DistEnv
from resnet_studio.train.setup import EngineError, resolve_device

TWO = [("NVIDIA H100 80GB HBM3", 79.2), ("NVIDIA A100-SXM4-40GB", 39.4)]


def test_gpus_are_listed_with_their_number_name_and_memory():
    with fake_gpus(TWO):
        gpus = devices.list_gpus()
    assert [(g.index, g.name, g.total_bytes) for g in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", int(79.2 * GIB)),
        (1, "NVIDIA A100-SXM4-40GB", int(39.4 * GIB))]
    assert [g.key for g in gpus] == ["cuda:0", "cuda:1"]
    assert gpus[1].title() == "GPU 1 · NVIDIA A100-SXM4-40GB · 39 GiB"


def test_a_sample_reads_the_named_gpu_and_nothing_for_other_devices():
    with fake_gpus(TWO) as fake:
        fake.memory_of[1] = (int(3.14 * GIB), 4 * GIB, int(5.2 * GIB))
        fake.utilisation_of[1] = 97
        one = devices.sample("cuda:1")
        zero = devices.sample("cuda:0")
        assert devices.sample("cuda:2") is None  # not there
        assert devices.sample("cpu") is None and devices.sample("mps") is None
    assert one == devices.DeviceSample(int(3.14 * GIB), 4 * GIB, int(5.2 * GIB),
                                       int(39.4 * GIB), 97)
    assert one.text(1) == "GPU 1: 3.1 / 39 GiB (peak 5.2) · 97 %"
    assert zero.allocated == 0 and zero.total == int(79.2 * GIB)
    assert zero.text(0) == "GPU 0: 0.0 / 79 GiB (peak 0.0)"  # no utilisation known: not shown


def test_a_peak_is_reset_only_for_a_gpu_that_is_there():
    with fake_gpus(TWO) as fake:
        fake.memory_of[0] = (GIB, 2 * GIB, 5 * GIB)
        devices.reset_peak("cuda:0")
        devices.reset_peak("cuda:5")
        devices.reset_peak("cpu")
        assert fake.resets == [0] and devices.sample("cuda:0").peak == GIB


def test_the_module_loads_without_torch():
    code = ("import sys; import resnet_studio.train.devices as d; "
            "print('torch' in sys.modules, d.cuda_index('cuda:3'), d.cuda_index('cpu'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "3", "None"]


def test_the_real_provider_lists_what_torch_sees():
    import torch

    gpus = devices.list_gpus()
    assert len(gpus) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    if not gpus:
        assert devices.sample("cuda:0") is None


def test_utilisation_without_nvml_is_unknown(monkeypatch):
    provider = devices.TorchProvider()
    monkeypatch.setattr(devices.importlib.util, "find_spec", lambda name: None)
    assert provider.utilisation(0) is None


# ----- the device setting ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["auto", "cuda", "cuda:0", "cuda:1", "cuda:12", "mps", "cpu"])
def test_device_settings_that_are_accepted(name):
    assert TrainConfig(device=name).validate().device == name
    assert device_name(name) == name


@pytest.mark.parametrize("name", ["tpu", "cuda:", "cuda:-1", "cuda:01", "cuda:x", "gpu:1",
                                  "cuda:１", 1, "CUDA:1"])
def test_device_settings_that_are_refused_list_the_forms(name):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(device=name).validate()
    assert caught.value.field == "device"
    assert "auto, cuda, cuda:N" in str(caught.value) and "cuda:1" in str(caught.value)


def test_a_gpu_number_the_machine_lacks_is_refused_naming_those_it_has():
    with fake_gpus(TWO), pytest.raises(EngineError) as caught:
        resolve_device("cuda:2", DistEnv())
    text = str(caught.value)
    assert "‘cuda:2’" in text and "has 2 CUDA GPUs" in text and "\n" not in text
    assert "cuda:0 (GPU 0 · NVIDIA H100 80GB HBM3 · 79 GiB)" in text
    assert "cuda:1 (GPU 1 · NVIDIA A100-SXM4-40GB · 39 GiB)" in text


def test_a_gpu_number_on_a_machine_without_gpus_says_there_is_none():
    with fake_gpus([]), pytest.raises(EngineError, match="sees no CUDA GPU"):
        resolve_device("cuda:1", DistEnv())
    with fake_gpus([]):
        assert str(resolve_device("auto", DistEnv())) in ("cpu", "mps")


def test_under_torchrun_the_local_rank_wins_over_the_number(monkeypatch):
    chosen = []
    monkeypatch.setattr("torch.cuda.set_device", chosen.append)
    env = DistEnv(rank=3, world_size=4, local_rank=1)
    with fake_gpus(TWO):
        device = resolve_device("cuda:0", env)
        assert resolve_device("cuda:7", env).index == 1  # never refused: the launcher decides
    assert (device.type, device.index, chosen) == ("cuda", 1, [1, 1])


def test_a_chosen_gpu_becomes_the_current_device(monkeypatch):
    chosen = []
    monkeypatch.setattr("torch.cuda.set_device", chosen.append)
    with fake_gpus(TWO):
        device = resolve_device("cuda:1", DistEnv())
    assert (device.type, device.index, chosen) == ("cuda", 1, [1])


def test_the_cli_takes_a_gpu_number_and_refuses_a_malformed_one(tmp_path):
    from resnet_studio.cli import build_parser

    args = build_parser(engine=True).parse_args(["train", "preset:small_resnet", "--out",
                                                 str(tmp_path), "--device", "cuda:1"])
    assert args.device == "cuda:1"
    run = subprocess.run([sys.executable, "-m", "resnet_studio", "train", "preset:small_resnet",
                          "--out", str(tmp_path), "--device", "gpu1"], capture_output=True,
                         text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "‘gpu1’ is not a device" in run.stderr and "cuda:N" in run.stderr
