"""``train --cluster``'s command line, without a cluster: --help loads nothing of Ray, and an
address that is malformed or silent, a missing Ray, or a cluster option without --cluster is
one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cluster_support import free_port
from test_train_support import CLI_DATA, child_env, tiny_graph, tiny_project

from resnet_studio.cli import main

HELP = """
import sys
from resnet_studio.cli import main
try:
    main(["train", "--help"])
except SystemExit:
    pass
print("ray loaded" if "ray" in sys.modules else "no ray")
"""


def test_help_names_the_cluster_options_and_loads_no_ray():
    result = subprocess.run([sys.executable, "-c", HELP], env=child_env(), capture_output=True,
                            text=True, timeout=120, check=True)
    assert "--cluster ADDR" in result.stdout and "--workers N" in result.stdout
    assert result.stdout.strip().endswith("no ray")


def train(tmp_path, *extra: str) -> list[str]:
    project = tiny_project(tmp_path)
    return ["train", str(project), *CLI_DATA, "--out", str(tmp_path / "run"), *extra]


@pytest.mark.parametrize(("address", "expected"), [
    ("nowhere", "--cluster nowhere: write auto, HOST:PORT or ray://HOST:PORT."),
    ("127.0.0.1:{port}", "--cluster 127.0.0.1:{port}: no Ray head answers there"),
])
def test_a_bad_or_silent_address_is_one_line(tmp_path, capsys, address, expected):
    pytest.importorskip("ray.train.torch")
    port = str(free_port())  # nothing listens on it
    address, expected = address.format(port=port), expected.format(port=port)
    assert main(train(tmp_path, "--cluster", address)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"resnet-studio: error: {expected}") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_without_ray_one_line_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as where it is missing
    monkeypatch.delitem(sys.modules, "resnet_studio.train.raytrain", raising=False)
    assert main(train(tmp_path, "--cluster", "auto")) == 2
    assert capsys.readouterr().err == ("resnet-studio: error: --cluster needs Ray: pip install "
                                       "'resnet-studio[cluster]'\n")


@pytest.mark.parametrize("option", [("--workers", "2"), ("--cpus-per-worker", "1"),
                                    ("--gpus-per-worker", "1")])
def test_a_cluster_option_without_cluster_is_refused(tmp_path, capsys, option):
    assert main(train(tmp_path, *option)) == 2
    assert capsys.readouterr().err == f"resnet-studio: error: {option[0]} needs --cluster ADDR.\n"


@pytest.mark.parametrize(("option", "expected"), [
    (("--workers", "0"), "--workers must be 1 or more"),
    (("--cpus-per-worker", "0"), "--cpus-per-worker above 0"),
    (("--gpus-per-worker", "0.5"), "--gpus-per-worker 0.5: give whole GPUs"),
])
def test_a_worker_shape_that_cannot_be_is_one_line(tmp_path, capsys, option, expected):
    assert main(train(tmp_path, "--cluster", "auto", *option)) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_a_launch_travels_with_absolute_paths_and_its_project(tmp_path, monkeypatch):
    pytest.importorskip("ray.train.torch")
    from resnet_studio.graph import project
    from resnet_studio.train import TrainConfig
    from resnet_studio.train.raytrain import Launch

    monkeypatch.chdir(tmp_path)
    data = TrainConfig().data.replace(dataset="folder:images", val_folder="held", root="d")
    launch = Launch(tiny_graph(), TrainConfig(data=data), "runs/a", resume="old/last.pt")
    sent = launch.portable()
    assert (sent.run_dir, sent.resume) == (str(tmp_path / "runs/a"), str(tmp_path / "old/last.pt"))
    assert sent.config.data.dataset == f"folder:{tmp_path / 'images'}"
    assert (sent.config.data.val_folder, sent.config.data.root) == (str(tmp_path / "held"),
                                                                    str(tmp_path / "d"))
    assert project.to_dict(sent.network_of()) == project.to_dict(tiny_graph())
    assert Launch("preset:resnet20", TrainConfig(), "r").portable().network == "preset:resnet20"
