"""Transfer learning settings: frozen stages, frozen batch norms, per-stage learning rates."""

from __future__ import annotations

import pytest
import torch
from dense_models import detector
from torchvision.models import resnet18
from torchvision.ops import FrozenBatchNorm2d

from resnet_studio.data import DataConfig
from resnet_studio.train import Engine, TrainConfig
from resnet_studio.train.config import ConfigError
from resnet_studio.train.optim import build_optimizer
from resnet_studio.train.records import RunEndRecord, RunStartRecord
from resnet_studio.train.setup import apply_settings
from resnet_studio.train.transfer import apply_transfer, stage_count, stage_map


def test_stages_follow_torchvision_names_and_the_head_is_the_rest():
    model = resnet18()
    stage = stage_map(model)
    assert stage["conv1.weight"] == stage["bn1.bias"] == 0
    assert stage["layer1.0.conv1.weight"] == 1 and stage["layer4.1.bn2.weight"] == 4
    assert stage["fc.weight"] is None
    assert stage_count(model) == 5
    det = stage_map(detector(32))
    assert det["backbone.body.conv1.weight"] == 0 and det["backbone.body.layer2.0.weight"] == 2
    assert det["backbone.fpn.inner_blocks.0.0.weight"] is None
    assert det["roi_heads.box_predictor.cls_score.weight"] is None


def test_freezing_two_stages_freezes_the_stem_and_layer1_only():
    model = resnet18()
    apply_transfer(model, TrainConfig(freeze_stages=2))
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert "conv1.weight" in frozen and "layer1.1.bn2.bias" in frozen
    assert all(n.startswith(("conv1", "bn1", "layer1.")) for n in frozen)
    assert model.layer2[0].conv1.weight.requires_grad and model.fc.weight.requires_grad


def test_frozen_batch_norm_keeps_the_statistics_and_leaves_the_head_alone():
    model = resnet18()
    with torch.no_grad():
        model.layer3[1].bn1.running_mean.fill_(0.25)
        model.layer3[1].bn1.weight.fill_(2.0)
    x = torch.randn(2, 3, 64, 64)
    model.eval()
    before = model(x)
    apply_transfer(model, TrainConfig(frozen_bn=True))
    bn = model.layer3[1].bn1
    assert isinstance(bn, FrozenBatchNorm2d) and float(bn.running_mean[0]) == 0.25
    assert float(bn.weight[0]) == 2.0
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    model.train()  # frozen: train mode computes exactly what eval mode did
    assert torch.allclose(model(x), before, atol=1e-5)


def test_stage_multipliers_give_each_stage_its_rate_and_resume_keeps_them():
    model = resnet18()
    config = TrainConfig(lr=0.1, stage_lr_mult=(0.01, 0.1))
    optimizer = build_optimizer(model, config)
    rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert rate[id(model.conv1.weight)] == pytest.approx(0.001)
    assert rate[id(model.layer1[0].conv1.weight)] == pytest.approx(0.01)
    assert rate[id(model.layer2[0].conv1.weight)] == pytest.approx(0.1)
    assert rate[id(model.fc.weight)] == pytest.approx(0.1)
    assert optimizer.param_groups[0]["lr_mult"] == 1.0
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5)
    from resnet_studio.train.optim import SchedulePlan

    apply_settings(optimizer, scheduler, SchedulePlan(config.replace(lr=0.2,
                                                                     schedule="constant"),
                                                      10, 100), config.replace(lr=0.2))
    rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert rate[id(model.conv1.weight)] == pytest.approx(0.002)
    assert rate[id(model.fc.weight)] == pytest.approx(0.2)


@pytest.mark.parametrize("changes, named", [
    ({"freeze_stages": -1}, "freeze_stages"), ({"freeze_stages": 1.5}, "freeze_stages"),
    ({"frozen_bn": "yes"}, "frozen_bn"), ({"stage_lr_mult": [0.1, 0]}, r"stage_lr_mult\[1\]"),
    ({"stage_lr_mult": 0.1}, "stage_lr_mult")])
def test_bad_transfer_settings_name_the_field(changes, named):
    with pytest.raises(ConfigError, match=named):
        TrainConfig.from_dict({**TrainConfig().to_dict(), **changes})


def test_transfer_settings_round_trip():
    config = TrainConfig(freeze_stages=2, frozen_bn=True, stage_lr_mult=(0.1, 0.5))
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["stage_lr_mult"] == [0.1, 0.5]


def test_the_engine_trains_a_detector_with_frozen_stages_and_names_a_stage_too_many():
    data = DataConfig(dataset="shapes-detection", train_size=4, val_size=2, image_size=32,
                      fit="none")
    model = detector(32)
    frozen_before = model.backbone.body.conv1.weight.detach().clone()
    records = []

    class Sink:
        def on_record(self, r):
            records.append(r)

        def close(self):
            pass

    config = TrainConfig(epochs=1, batch_size=2, device="cpu", freeze_stages=2, frozen_bn=True,
                         data=data)
    end = Engine(model, config, sinks=[Sink()]).run()
    assert end.status == "finished", end.message
    assert torch.equal(model.backbone.body.conv1.weight, frozen_before)
    start = next(r for r in records if isinstance(r, RunStartRecord))
    assert "backbone.body.conv1" not in start.layer_names
    assert "backbone.body.layer2" in start.layer_names
    end = Engine(detector(32), config.replace(freeze_stages=4), sinks=[Sink()]).run()
    assert end.status == "failed"
    assert "freeze_stages" in end.message and "has 3" in end.message
    assert isinstance(records[-1], RunEndRecord)
