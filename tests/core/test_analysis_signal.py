"""Signal propagation at init: per-layer numbers, zero-init, the plain twin, the command."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from test_analysis_support import (
    batch,
    png_size,
    tiny_resnet,
)

from resnet_studio.analysis.common import AnalysisError, Cancelled
from resnet_studio.analysis.signal import signal_propagation
from resnet_studio.cli import main
from resnet_studio.compiler import build
from resnet_studio.graph import project


def test_layers_in_forward_order_for_network_and_twin():
    result = signal_propagation(tiny_resnet(), batch=batch())
    network, twin = result.curves
    assert network.label == "tiny" and twin.label == "tiny_plain"
    assert network.names[0] == "conv1" and network.names[-1] == "fc"
    assert network.names[1:3] == ["layer1.0.conv1", "layer1.0.conv2"]
    assert network.names == twin.names  # option A: the twin has the same layers
    for curve in result.curves:
        assert np.all(curve.activation_rms > 0) and np.all(curve.weight_grad_norm > 0)


def test_numbers_match_a_direct_computation():
    x, y = batch()
    result = signal_propagation(tiny_resnet(), batch=(x, y), seed=3, twin=False)
    torch.manual_seed(3)
    model = build(tiny_resnet()).train()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    curve = result.curves[0]
    stem = model.conv1(x).detach()
    assert curve.activation_rms[0] == pytest.approx(float(stem.pow(2).mean().sqrt()), rel=1e-5)
    assert curve.weight_grad_norm[0] == pytest.approx(float(model.conv1.weight.grad.norm()),
                                                      rel=1e-5)
    assert curve.weight_grad_norm[-1] == pytest.approx(float(model.fc.weight.grad.norm()),
                                                       rel=1e-5)
    assert curve.loss == pytest.approx(loss.item(), rel=1e-6)


def test_zero_init_residual_silences_every_branch_but_not_the_twin():
    result = signal_propagation(tiny_resnet(), batch=batch(),
                                build_options={"zero_init_residual": True})
    network, twin = result.curves
    inside = [i for i, n in enumerate(network.names) if n.startswith("layer")]
    assert inside and all(network.weight_grad_norm[i] == 0.0 for i in inside)
    assert network.weight_grad_norm[0] > 0 and network.weight_grad_norm[-1] > 0
    assert all(twin.weight_grad_norm[i] > 0 for i in inside)


def test_a_network_without_skips_has_no_twin():
    twin_graph = tiny_resnet(shortcut="none")
    result = signal_propagation(twin_graph, batch=batch())
    assert [c.label for c in result.curves] == ["tiny"]


def test_unknown_builder_option_is_named():
    with pytest.raises(AnalysisError, match="no option warp_speed"):
        signal_propagation(tiny_resnet(), batch=batch(), build_options={"warp_speed": 9})


def test_cancel_stops_before_the_work():
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        signal_propagation(tiny_resnet(), batch=batch(), cancel=flag)


def test_command_writes_figure_and_numbers(tmp_path, capsys):
    path = tmp_path / "tiny.rstudio.json"
    project.save(tiny_resnet(), path)
    out = tmp_path / "out"
    assert main(["signal", str(path), "-o", str(out), "--batch-size", "8"]) == 0
    captured = capsys.readouterr()
    assert "tiny: first-layer weight gradient norm" in captured.out
    assert "signal [2/2] done" in captured.err
    data = json.loads((out / "signal.json").read_text())
    assert [c["label"] for c in data["curves"]] == ["tiny", "tiny_plain"]
    assert data["settings"]["batch_size"] == 8
    rows = (out / "signal.csv").read_text().splitlines()
    assert rows[0].startswith("network,depth,layer") and len(rows) == 1 + 2 * 10
    assert png_size(out / "signal.png")[0] > 800


def test_command_reports_a_missing_project_in_one_line(tmp_path, capsys):
    code = main(["signal", str(tmp_path / "nope.rstudio.json"), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("resnet-studio: error:") and "nope.rstudio.json" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["signal", "lesion", "landscape", "explain"])
def test_an_analysis_help_keeps_one_example_a_line(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    examples = capsys.readouterr().out.split("\nexamples:\n")[1].splitlines()
    assert len(examples) >= 2  # not run together into one wrapped paragraph
    assert all(line.startswith(f"  resnet-studio {name} ") for line in examples), examples


@pytest.mark.parametrize("name", ["signal", "lesion", "landscape", "explain"])
def test_every_analysis_option_is_explained_with_its_default(name):
    import argparse

    from resnet_studio.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in commands.choices[name]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.dest} has no help"
        if action.default in (None, False) or not action.option_strings:
            continue
        assert "default" in action.help, (name, action.dest, action.help)
        if isinstance(action.default, (int, float)):  # the number the option really takes
            assert f"default {action.default:g}" in action.help, (name, action.dest, action.help)
    # without --samples, lesion uses every validation image and landscape 256 of them
    assert parser.parse_args(["lesion", "r", "-o", "o"]).samples is None
    assert parser.parse_args(["landscape", "r", "-o", "o"]).samples == 256


@pytest.mark.parametrize("name", ["lesion", "landscape"])
def test_an_evaluation_batch_size_is_a_positive_count(name, capsys):
    from resnet_studio.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([name, "r", "-o", "o", "--batch-size", "16"]).batch_size == 16
    assert parser.parse_args([name, "r", "-o", "o"]).batch_size == 256
    with pytest.raises(SystemExit):
        parser.parse_args([name, "r", "-o", "o", "--batch-size", "0"])
    assert "--batch-size" in capsys.readouterr().err
