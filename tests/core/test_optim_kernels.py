"""The optimiser's kernels: fused on a CUDA device, the default elsewhere, and set again for the
device a run resumes on (``load_state_dict`` brings back the saved groups' choice)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_studio.train.config import TrainConfig
from resnet_studio.train.optim import build_optimizer, use_kernels

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(16, 2))


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_fused_kernels_on_a_cuda_device_only(name):
    config = TrainConfig(optimizer=name)
    # torch builds fused SGD/AdamW over CPU tensors too, so the choice is visible here
    on_gpu = build_optimizer(_model(), config, CUDA)
    on_cpu = build_optimizer(_model(), config, CPU)
    default = build_optimizer(_model(), config)
    assert [g["fused"] for g in on_gpu.param_groups] == [True] * len(on_gpu.param_groups)
    assert {g["fused"] for g in on_cpu.param_groups} == {None}
    assert {g["fused"] for g in default.param_groups} == {None}


def test_fused_and_plain_updates_agree():
    """The fused kernel is the same update: one step of each from equal weights."""
    config = TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-3)
    x = torch.randn(5, 1, 4, 4)
    weights = []
    for device in (CUDA, CPU):
        model = _model()
        optimizer = build_optimizer(model, config, device)
        for _ in range(2):
            optimizer.zero_grad()
            model(x).square().sum().backward()
            optimizer.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("saved_on", "resumed_on", "expected"),
                         [(CUDA, CPU, None), (CPU, CUDA, True)])
def test_resuming_sets_the_kernels_of_the_new_device(saved_on, resumed_on, expected):
    config = TrainConfig(optimizer="adamw")
    state = build_optimizer(_model(), config, saved_on).state_dict()
    optimizer = build_optimizer(_model(), config, resumed_on)
    optimizer.load_state_dict(state)
    assert {g["fused"] for g in optimizer.param_groups} == {None if saved_on == CPU else True}
    use_kernels(optimizer, resumed_on)
    assert {g["fused"] for g in optimizer.param_groups} == {expected}
    assert {g["foreach"] for g in optimizer.param_groups} == {None}


def test_a_run_saved_with_fused_kernels_resumes_on_the_cpu_without_them(tmp_path):
    """The engine sets the kernels after loading the optimiser state (a GPU run's checkpoint
    carries ``fused=True`` in its groups)."""
    from test_train_support import run_engine, tiny_config, tiny_graph

    from resnet_studio.train import Engine
    from resnet_studio.train.checkpoint import load_checkpoint

    config = tiny_config(epochs=1)
    run_engine(config, tmp_path / "a", graph=tiny_graph())
    saved = load_checkpoint(tmp_path / "a" / "last.pt")
    for group in saved["optimizer"]["param_groups"]:
        group["fused"] = True
    resumed = Engine(tiny_graph(), config.replace(epochs=2), [], tmp_path / "b",
                     resume_from=saved)
    assert resumed.run().status == "finished"
    assert {g["fused"] for g in resumed.session.optimizer.param_groups} == {None}
