"""Lesion study: a zero branch changes nothing, a real one does, plain blocks, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_analysis_support import (
    batch,
    png_size,
    tiny_resnet,
    tiny_run,
)
from torch import nn

from resnet_studio.analysis.common import AnalysisError, evaluate
from resnet_studio.analysis.lesion import _lesioned, blocks_of, has_skip, lesion_model
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.compiler import build

BLOCKS = ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]


def test_lesioning_a_branch_that_is_already_zero_changes_nothing():
    # zero-init-residual, untrained: every branch ends in a BatchNorm with gamma 0 and beta 0.
    model = build(tiny_resnet(), zero_init_residual=True)
    result = lesion_model(model, [batch(24)])
    assert result.blocks == BLOCKS and result.kinds == ["branch"] * 4
    assert np.all(result.loss == result.baseline_loss)
    assert np.all(result.accuracy == result.baseline_accuracy)


def test_lesioning_a_working_branch_changes_the_loss_and_is_undone():
    model = build(tiny_resnet())
    batches = [batch(24)]
    result = lesion_model(model, batches)
    assert np.all(np.abs(result.loss - result.baseline_loss) > 1e-4)
    assert evaluate(model, batches) == (result.baseline_loss, result.baseline_accuracy)


def test_plain_blocks_are_removed_where_the_shape_allows():
    result = lesion_model(build(tiny_resnet(shortcut="none")), [batch(24)], "plain")
    assert result.kinds == ["block"] * 4
    assert list(result.skipped) == ["layer2.0"]  # 4×8×8 → 8×4×4 cannot become the identity
    assert "maps 4×8×8 to 8×4×4" in result.skipped["layer2.0"]
    assert np.isnan(result.loss[2]) and not np.isnan(result.loss[[0, 1, 3]]).any()


def test_a_network_without_blocks_is_refused(tmp_path):
    from torch import nn

    with pytest.raises(AnalysisError, match="no residual blocks"):
        lesion_model(nn.Sequential(nn.Flatten(), nn.Linear(192, 3)), [batch(4)])


def test_command_on_a_run_and_its_twin(tmp_path, capsys):
    run = tiny_run(tmp_path / "res")
    twin = tiny_run(tmp_path / "plain", shortcut="none")
    out = tmp_path / "out"
    assert main(["lesion", str(run), "--twin", str(twin), "--samples", "20", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "tiny: intact" in captured.out and "1 block(s) could not be removed" in captured.out
    data = json.loads((out / "lesion.json").read_text())
    assert [d["samples"] for d in data] == [20, 20]
    assert [row["block"] for row in data[0]["lesions"]] == BLOCKS
    # the plain twin's first stride-2 block halves the map and doubles the channels
    assert data[1]["lesions"][2]["skipped"] == ("cannot be removed: it maps 4×8×8 to 8×4×4 and "
                                                "has no shortcut to stand in for it")
    assert len((out / "lesion.csv").read_text().splitlines()) == 1 + 8 + 2
    assert png_size(out / "lesion.png")[0] > 600


def test_command_names_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["lesion", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error:") and "not a run directory" in err


RESIDUAL_TYPES = [b.type_id for b in CATALOGUE.categories()["Residual blocks"]]
# These add the shortcut through learned layers that also see the branch (a normalised
# difference, a 1×1 fusion), so without F they are not the shortcut alone.
MIXING = {"resnormblock", "fusionblock"}


@pytest.mark.parametrize("type_id", RESIDUAL_TYPES)
def test_every_residual_block_type_can_be_lesioned_to_its_shortcut(type_id):
    """Every residual block is found and lesioned; with its branch lesioned, a block that keeps
    the shape computes its shortcut alone: the input itself, or its ReLU for the blocks that
    activate after the sum (SE-Bottleneck, Res2Net and torchvision's CNBlock were missed)."""
    block_type = CATALOGUE.get(type_id)
    params = block_type.spec.validate_params({}, type_id)
    if "planes" in params:  # keep 64 channels: the shortcut is the identity
        params["planes"] = 64 // params.get("expansion", 1)
    shapes = ((64, 8, 8),)
    module = block_type.make(params, shapes).build().eval()
    assert blocks_of(nn.Sequential(module)) == [("0", module)] and has_skip(module)
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad(), _lesioned(module):
        out = module(x)
    if type_id in MIXING:
        with torch.no_grad():
            assert not torch.allclose(out, module(x))
    else:
        assert torch.allclose(out, x) or torch.allclose(out, torch.relu(x))
