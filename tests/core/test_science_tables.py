"""The CSV tables and JSON files carry the results' numbers, each in its own column or key:
read back and compared with the result objects, cell by cell."""

from __future__ import annotations

import json
import math

import numpy as np
from test_science_figures import curve, explanation, landscape_result, lesion

from resnet_studio.analysis import tables
from resnet_studio.analysis.signal import SignalResult


def test_signal_table_and_json_hold_every_layer_of_every_network():
    result = SignalResult([curve("res", 1.0), curve("plain", 7.0)], {"batch_size": 4})
    header, rows = tables.signal_table(result)
    assert header == ["network", "depth", "layer", "activation_rms", "output_grad_norm",
                      "weight_grad_norm"]
    assert len(rows) == 10
    for row in rows:
        c = result.curves[0 if row[0] == "res" else 1]
        i = row[1] - 1
        assert row[2] == c.names[i]
        assert row[3:] == [c.activation_rms[i], c.output_grad_norm[i], c.weight_grad_norm[i]]
    data = json.loads(json.dumps(result.to_json()))
    assert data["settings"] == {"batch_size": 4}
    assert data["first_layer_weight_grad_norm"] == {"res": 1.0, "plain": 7.0}
    layer = data["curves"][1]["layers"][2]
    assert layer == {"name": "l2", "activation_rms": 21.0, "output_grad_norm": 7 / 3,
                     "weight_grad_norm": 63.0}
    assert data["curves"][0]["label"] == "res" and data["curves"][0]["loss"] == 2.3


def test_lesion_table_and_json_name_each_removed_block_and_the_intact_network():
    result = lesion()
    header, rows = tables.lesion_table([result])
    assert header == ["network", "block", "removed", "loss", "accuracy", "note"]
    assert rows[0] == ["tiny", "a", "branch", 1.0, 0.8, ""]
    assert rows[1][:3] == ["tiny", "b", "branch"] and math.isnan(rows[1][3])
    assert rows[1][5] == "shape"
    assert rows[2] == ["tiny", "c", "branch", 2.0, 0.25, ""]
    assert rows[3] == ["tiny", "(none)", "intact", 2.0, 0.85, ""]
    data = json.loads(json.dumps(result.to_json()))
    assert data["label"] == "tiny" and data["samples"] == 40
    assert data["baseline"] == {"loss": 2.0, "accuracy": 0.85}
    assert data["lesions"] == [
        {"block": "a", "removed": "branch", "loss": 1.0, "accuracy": 0.8, "skipped": None},
        {"block": "b", "removed": "branch", "loss": None, "accuracy": None, "skipped": "shape"},
        {"block": "c", "removed": "branch", "loss": 2.0, "accuracy": 0.25, "skipped": None}]


def test_landscape_tables_pair_each_loss_with_its_own_alpha_and_beta():
    r = landscape_result()
    r.loss_2d = np.arange(12.0).reshape(3, 4) + 1
    r.accuracy_2d = r.loss_2d / 100
    header, rows = tables.landscape_2d_table([r])
    assert header == ["network", "alpha", "beta", "loss", "accuracy"]
    assert len(rows) == 12
    for label, a, b, loss, acc in rows:
        i, j = list(r.alphas_2d).index(a), list(r.betas_2d).index(b)
        assert (label, loss, acc) == ("res", r.loss_2d[i, j], r.accuracy_2d[i, j])
    assert rows[1][1:4] == [-1.0, -1.0, 2.0]  # β runs fastest, as loss_2d[i, j] is read
    header, rows = tables.landscape_1d_table([r])
    assert header == ["network", "alpha", "loss", "accuracy"]
    assert rows == [["res", a, loss, acc] for a, loss, acc in
                    zip(r.alphas, r.loss_1d, r.accuracy_1d)]


def test_landscape_json_keeps_every_grid():
    r = landscape_result()
    data = json.loads(json.dumps(r.to_json()))
    assert data["label"] == "res" and data["samples"] == 24 and data["seed"] == 0
    assert data["origin_loss"] == 0.5
    for key in ("alphas", "loss_1d", "accuracy_1d", "alphas_2d", "betas_2d", "loss_2d",
                "accuracy_2d"):
        np.testing.assert_array_equal(data[key], getattr(r, key), err_msg=key)


def test_explanation_json_names_the_classes_the_layer_and_the_method():
    result = explanation()
    data = json.loads(json.dumps(result.to_json()))
    assert data["top"] == [{"class": "cat", "probability": 0.7},
                           {"class": "dog", "probability": 0.2}]
    assert data["target"] == "cat" and data["gradcam_layer"] == "layer4"
    assert data["attribution_method"] == "integrated_gradients"
    np.testing.assert_allclose(data["gradcam"], result.gradcam, atol=5e-5)
    assert data["feature_map_shapes"] == {"layer1": [2, 4, 4]}


def test_a_result_without_blocks_still_has_its_intact_row():
    r = lesion()
    r.blocks, r.kinds = [], []
    header, rows = tables.lesion_table([r])
    assert len(header) == 6 and rows == [["tiny", "(none)", "intact", 2.0, 0.85, ""]]
