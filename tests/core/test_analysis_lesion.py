"""Lesion study: a zero branch changes nothing, a real one does, plain blocks, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_analysis_support import (
    batch,
    png_size,
    tiny_resnet,
    tiny_run,
)

from resnet_studio.analysis.common import AnalysisError, evaluate
from resnet_studio.analysis.lesion import lesion_model
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
    assert data[1]["lesions"][2]["skipped"].startswith("cannot be removed")
    assert len((out / "lesion.csv").read_text().splitlines()) == 1 + 8 + 2
    assert png_size(out / "lesion.png")[0] > 600


def test_command_names_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["lesion", str(tmp_path / "empty"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error:") and "not a run directory" in err
