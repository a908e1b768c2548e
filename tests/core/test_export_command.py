"""The ``export`` and ``import`` sub-commands: results, one-line errors, exit statuses."""

from __future__ import annotations

import subprocess
from urllib.error import URLError

import pytest
import torch
import torchvision
from test_export_support import (
    PYTHON,
    ROOT,
    child_env,
    trained_run,
)

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import build
from resnet_studio.export import command, model_source_with_project, staging
from resnet_studio.graph import project
from resnet_studio.presets import create


@pytest.fixture
def run_dir(tmp_path_factory: pytest.TempPathFactory):
    """A copy of the shared training run's directory."""
    return trained_run(tmp_path_factory.getbasetemp())


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = command.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("resnet-studio: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ----- export ---------------------------------------------------------------------------------
def test_export_writes_and_reports_the_check(capsys, run_dir, tmp_path):
    out = tmp_path / "net.onnx"
    code, text, err = cli(capsys, "export", run_dir, "--format", "onnx", "-o", out)
    assert code == 0 and err == "" and out.is_file()
    assert f"Wrote {out} (onnx) from {run_dir / 'best.pt'}" in text
    assert "outputs agree (max difference " in text


def test_export_refuses_to_replace_without_force(capsys, run_dir, tmp_path):
    out = tmp_path / "net.safetensors"
    out.write_text("old")
    code, _, err = cli(capsys, "export", run_dir, "-f", "safetensors", "-o", out)
    assert code == 2 and "already exists" in one_line_error(err) and out.read_text() == "old"
    code, _, _ = cli(capsys, "export", run_dir, "-f", "safetensors", "-o", out, "--force")
    assert code == 0 and out.read_bytes() != b"old"


def test_export_of_a_missing_or_foreign_checkpoint_fails_in_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "export", tmp_path / "nope.pt", "-f", "pt2", "-o",
                       tmp_path / "x.pt2")
    assert code == 2 and "no such checkpoint" in one_line_error(err)
    (tmp_path / "notes.pt").write_text("hello")
    code, _, err = cli(capsys, "export", tmp_path / "notes.pt", "-f", "pt2", "-o",
                       tmp_path / "x.pt2")
    assert code == 2 and "not a ResNet Studio checkpoint" in one_line_error(err)


def test_a_failed_check_exits_1_and_writes_nothing(capsys, run_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "ATOL", -1.0)
    out = tmp_path / "net.pt2"
    code, _, err = cli(capsys, "export", run_dir, "-f", "pt2", "-o", out)
    assert code == 1 and "nothing was written" in one_line_error(err) and not out.exists()


def test_an_unknown_format_is_an_argument_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as caught:
        command.main(["export", str(tmp_path), "-f", "tflite", "-o", str(tmp_path / "x")])
    assert caught.value.code == 2 and "invalid choice: 'tflite'" in capsys.readouterr().err


# ----- import ---------------------------------------------------------------------------------
def test_import_torchvision_writes_a_project(capsys, tmp_path):
    out = tmp_path / "r18.rstudio.json"
    code, text, err = cli(capsys, "import", "torchvision:resnet18", "-o", out, "--classes", "10",
                          "--input-size", "64")
    assert code == 0 and err == ""
    graph = project.load(out, CATALOGUE)
    assert (graph.input_spec.classes, graph.input_spec.height, graph.name) == (10, 64, "resnet18")
    assert f"Wrote {out}: resnet18" in text and "11,181,642 parameters" in text


def test_import_with_weights_writes_them_beside_the_project(capsys, tmp_path):
    torch.manual_seed(2)
    weights = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(weights, tmp_path / "r18.pth")
    out = tmp_path / "ft.rstudio.json"
    code, text, _ = cli(capsys, "import", "torchvision:resnet18", "-o", out, "--classes", "5",
                        "--weights", tmp_path / "r18.pth")
    assert code == 0 and "classifier ‘fc’ was left freshly initialised" in text
    saved = torch.load(tmp_path / "ft.weights.pt", weights_only=True)
    model = build(project.load(out, CATALOGUE))
    model.load_state_dict(saved)  # strict: the weights file fits the project
    assert torch.equal(saved["layer2.0.conv1.weight"], weights["layer2.0.conv1.weight"])
    assert tuple(saved["fc.weight"].shape) == (5, 512)


class Payload:
    """Unpickling it would create a file: a weights file someone else made."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return open, (self.target, "w")


def test_refused_weights_leave_no_project_behind(capsys, tmp_path):
    ran = tmp_path / "payload-ran"
    torch.save({"conv1.weight": Payload(ran)}, tmp_path / "hostile.pth")
    out = tmp_path / "r18.rstudio.json"
    code, _, err = cli(capsys, "import", "torchvision:resnet18", "-o", out, "--weights",
                       tmp_path / "hostile.pth")
    assert code == 2 and "hostile.pth holds Python objects that a safe load refuses" in \
        one_line_error(err)
    assert not ran.exists() and not out.exists() and not (tmp_path / "r18.weights.pt").exists()


def test_import_offline_weights_name_the_file_to_fetch(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))

    def offline(url, *args, **kwargs):
        raise URLError("network is unreachable")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    code, _, err = cli(capsys, "import", "torchvision:resnet18", "-o", tmp_path / "a.rstudio.json",
                       "--weights", "resnet18")
    line = one_line_error(err)
    assert code == 2 and "resnet18-f37072fd.pth" in line and str(tmp_path / "home") in line


def test_import_of_a_generated_model_py_with_a_new_class_count(capsys, tmp_path):
    model_py = tmp_path / "model.py"
    model_py.write_text(model_source_with_project(create("small_resnet")))
    out = tmp_path / "again.rstudio.json"
    code, _, _ = cli(capsys, "import", model_py, "-o", out, "--classes", "3")
    graph = project.load(out, CATALOGUE)
    assert code == 0 and graph.input_spec.classes == 3 and graph.name == "small_resnet"


def test_import_refusals_are_one_line(capsys, tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("print('hi')\n")
    code, _, err = cli(capsys, "import", plain, "-o", tmp_path / "p.rstudio.json")
    assert code == 2 and "not generated by ResNet Studio" in one_line_error(err)
    code, _, err = cli(capsys, "import", "torchvision:vgg11", "-o", tmp_path / "v.rstudio.json")
    assert code == 2 and "not a ResNet-family model" in one_line_error(err)
    (tmp_path / "taken.rstudio.json").write_text("{}")
    code, _, err = cli(capsys, "import", "torchvision:resnet18", "-o",
                       tmp_path / "taken.rstudio.json")
    assert code == 2 and "already exists; pass --force" in one_line_error(err)
    digits = tmp_path / "digits.py"  # two unpadded 5×5 convolutions and two poolings
    digits.write_text(model_source_with_project(create("mnist_small_resnet")))
    code, _, err = cli(capsys, "import", digits, "-o", tmp_path / "s.rstudio.json",
                       "--input-size", "8")
    assert code == 2 and "does not work at this input size" in one_line_error(err)
    assert not (tmp_path / "s.rstudio.json").exists()


def test_building_the_parser_loads_no_torch():
    script = ("import sys; from resnet_studio.export import command; "
              "command.build_parser().format_help(); print('torch' in sys.modules)")
    result = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=child_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
