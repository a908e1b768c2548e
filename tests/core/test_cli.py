"""The ``resnet-studio`` command, end to end in subprocesses (``python -m resnet_studio``).

The desktop-editor branch is tested in-process with a stand-in for ``resnet_studio.ui.shell.app`` so
that no window opens and no Qt is imported here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from resnet_studio import cli
from resnet_studio.api import new_project, save_project
from resnet_studio.presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("presets", "new", "validate", "summary", "source")
TINY = ("--classes", "4", "--height", "16", "--width", "16")

# Runs several command lines through cli.main in one interpreter (each start-up costs seconds)
# and reports exit codes, output and which Qt modules got loaded.
HEADLESS = """
import contextlib, io, json, sys
from resnet_studio import cli
from resnet_studio.api import new_project, save_project
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit:
            code = exit.code
    results.append({"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()})
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
print(json.dumps({"results": results, "qt": qt}))
"""


def run_cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m resnet_studio ARGS``; no output of any run may contain a traceback."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "resnet_studio", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, encoding="utf-8", timeout=300,
                            env=env)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def run_headless(*argvs: list[str], cwd: Path = ROOT) -> dict:
    result = subprocess.run([sys.executable, "-c", HEADLESS, json.dumps(argvs)], cwd=cwd,
                            capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for entry in report["results"]:
        assert "Traceback" not in entry["out"] + entry["err"], entry
    return report


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *fragments: str):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("resnet-studio: error: "), message
    for fragment in fragments:
        assert fragment in message


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small valid project, written in-process (``new`` itself is tested end to end below)."""
    path = tmp_path / "net.rstudio.json"
    save_project(new_project("resnet20", classes=4, height=16, width=16), path)
    return path


# ----- presets and new ------------------------------------------------------------------------
def test_presets_lists_every_preset_with_input_and_parameters():
    result = run_cli("presets")
    assert result.returncode == 0, result.stderr
    table, legend = result.stdout.split("\n\n", 1)
    rows = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert set(rows) == set(PRESETS)
    assert "ImageNet ResNet" in rows["resnet18"]
    assert "3×224×224 → 1000" in rows["resnet18"] and " 11.7 M " in rows["resnet18"]
    assert " 270 k " in rows["resnet20"]  # 0.27 M in He et al. 2015, table 6
    assert rows["resnet20"].split()[-1] == "he2016_cifar"
    assert rows["mnist_small_resnet"].split()[-1] == "digits_adamw"
    assert "he2016_cifar: He et al. 2016, CIFAR-10. He, Zhang, Ren & Sun" in legend


def test_new_validate_summary_source_and_run_the_model(tmp_path):
    project = tmp_path / "net.rstudio.json"
    new = run_cli("new", "resnet20", "-o", project, *TINY)
    assert new.returncode == 0 and "Wrote" in new.stdout, new.stderr
    data = json.loads(project.read_text(encoding="utf-8"))
    assert data["input"] == {"channels": 3, "height": 16, "width": 16, "classes": 4}

    validate = run_cli("validate", project)
    assert validate.returncode == 0 and "OK" in validate.stdout, validate.stdout

    summary = run_cli("summary", project, "--batch-size", "2")
    assert summary.returncode == 0, summary.stderr
    params = _total_parameters(summary.stdout)
    assert "2×4" in summary.stdout and "MACs per image" in summary.stdout
    assert "FLOPs = 2 × MACs" in summary.stdout and "MiB" in summary.stdout

    model_path = tmp_path / "model.py"
    source = run_cli("source", project, "-o", model_path)
    assert source.returncode == 0, source.stderr
    net = _import_file(model_path).Net().eval()
    assert sum(p.numel() for p in net.parameters()) == params
    with torch.no_grad():
        assert net(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    assert not list(tmp_path.glob(".model.py.*")), "temporary file left behind"


def test_new_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "mine.rstudio.json"
    path.write_text("precious", encoding="utf-8")
    refused = run_cli("new", "small_resnet", "-o", path)
    assert_one_line_error(refused, 2, "already exists", "--force")
    assert path.read_text(encoding="utf-8") == "precious"

    forced = run_cli("new", "small_resnet", "-o", path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(path.read_text(encoding="utf-8"))["name"] == "small_resnet"


def test_new_with_an_unknown_preset_names_the_known_ones(tmp_path, capsys):
    assert cli.main(["new", "resnet81", "-o", str(tmp_path / "x.rstudio.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error: There is no preset ‘resnet81’")
    assert "resnet18" in err and "Traceback" not in err
    assert not (tmp_path / "x.rstudio.json").exists()


# ----- validate, summary and source on bad files -----------------------------------------------
def test_validate_reports_each_problem_with_its_node(tmp_path, project):
    broken = _without_edges_into(project, "fc", tmp_path / "broken.rstudio.json")
    result = run_cli("validate", broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken}: error: [fc]" in result.stdout
    assert f"{broken}: warning: [flatten]" in result.stdout  # its output now goes nowhere
    assert "1 error(s), 1 warning(s)" in result.stdout


def test_validate_a_malformed_file_exits_2(tmp_path):
    malformed = tmp_path / "malformed.rstudio.json"
    malformed.write_text('{"format_version": 1, "nodes": [', encoding="utf-8")
    assert_one_line_error(run_cli("validate", malformed), 2, str(malformed), "not valid JSON")


@pytest.mark.parametrize("command", ["validate", "summary", "source"])
def test_a_missing_file_is_a_one_line_error(tmp_path, capsys, command):
    missing = tmp_path / "missing.rstudio.json"
    assert cli.main([command, str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"resnet-studio: error: {missing}: no such file.\n"


def test_summary_and_source_of_a_broken_network_exit_1(tmp_path, project, capsys):
    broken = _without_edges_into(project, "fc", tmp_path / "broken.rstudio.json")
    assert cli.main(["summary", str(broken)]) == 1
    assert "Problems:" in capsys.readouterr().out
    assert cli.main(["source", str(broken), "-o", str(tmp_path / "model.py")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error: The network cannot be built") and "‘fc’" in err
    assert not (tmp_path / "model.py").exists()


def test_bad_option_values_are_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["new", "small_resnet", "-o", str(tmp_path / "x.json"), "--height", "0"])
    assert exit.value.code == 2
    assert "--height: 0 is not a positive integer" in capsys.readouterr().err


# ----- help and headless guarantees ------------------------------------------------------------
@pytest.fixture(scope="module")
def headless(tmp_path_factory) -> dict:
    """One interpreter runs every help page and every local command, then reports the exit
    codes, the output and the Qt modules it loaded."""
    folder = tmp_path_factory.mktemp("headless")
    path, model = str(folder / "q.rstudio.json"), str(folder / "q.py")
    commands = sorted(_subcommands())
    argvs = [["--help"], *([name, "--help"] for name in commands),
             ["new", "small_resnet", "-o", path, *TINY], ["validate", path], ["summary", path],
             ["source", path, "-o", model], ["presets"]]
    report = run_headless(*argvs)
    report["help"] = dict(zip(["resnet-studio", *commands], report["results"]))
    report["runs"] = report["results"][len(commands) + 1:]
    return report


def test_every_command_has_help_with_examples(headless):
    assert set(COMMANDS) <= set(headless["help"])
    main_help = headless["help"].pop("resnet-studio")
    assert main_help["code"] == 0 and "examples:" in main_help["out"]
    for name, entry in headless["help"].items():
        assert entry["code"] == 0, entry
        assert entry["out"].startswith(f"usage: resnet-studio {name}"), entry["out"][:80]
        assert "examples:" in entry["out"] and name in main_help["out"]


def test_sub_commands_never_import_qt(headless):
    assert [entry["code"] for entry in headless["runs"]] == [0] * 5, headless["runs"]
    assert headless["qt"] == []


def _subcommands() -> set[str]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


# ----- the desktop editor (in-process, with a stand-in module) ------------------------------------
def test_without_the_editor_it_says_so_and_shows_the_default_project(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "resnet_studio.ui.shell.app", None)  # "not in this build"
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "desktop editor is not installed" in out
    assert "small_resnet" in out and "Parameters:" in out


def test_with_the_editor_it_opens_it(monkeypatch, capsys):
    calls = []
    app = types.ModuleType("resnet_studio.ui.shell.app")
    app.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "resnet_studio.ui.shell.app", app)
    assert cli.main([]) == 0
    assert calls == [[]] and capsys.readouterr().out == ""


def test_without_a_display_the_editor_is_not_started(monkeypatch, capsys):
    calls = []
    app = types.ModuleType("resnet_studio.ui.shell.app")
    app.main = calls.append
    monkeypatch.setitem(sys.modules, "resnet_studio.ui.shell.app", app)
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main([]) == 2
    assert calls == []
    assert capsys.readouterr().err.startswith("resnet-studio: error: no display")


def test_a_project_file_argument_opens_it_in_the_editor(monkeypatch, project, capsys):
    calls = []
    app = types.ModuleType("resnet_studio.ui.shell.app")
    app.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "resnet_studio.ui.shell.app", app)
    assert cli.main([str(project)]) == 0
    assert calls == [[str(project)]]
    monkeypatch.setitem(sys.modules, "resnet_studio.ui.shell.app", None)
    assert cli.main([str(project)]) == 0
    out = capsys.readouterr().out
    assert f"would open {project}" in out and "layer3" in out


def test_an_editor_missing_its_dependencies_is_a_one_line_error(monkeypatch, capsys):
    class MissingQt:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "resnet_studio.ui.shell.app":
                raise ModuleNotFoundError("No module named 'PySide6'", name="PySide6")
            return None

    monkeypatch.delitem(sys.modules, "resnet_studio.ui.shell.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [MissingQt(), *sys.meta_path])
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio: error: the desktop editor cannot start")
    assert "PySide6" in err


def test_engine_and_export_commands_are_part_of_the_command_line():
    assert {"train", "bench", "export", "import"} <= set(_subcommands())


# ----- helpers ----------------------------------------------------------------------------------
def _without_edges_into(project: Path, node_id: str, target: Path) -> Path:
    data = json.loads(project.read_text(encoding="utf-8"))
    data["edges"] = [e for e in data["edges"] if e["to"][0] != node_id]
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


def _total_parameters(summary: str) -> int:
    line = next(line for line in summary.splitlines() if line.startswith("Parameters:"))
    return int(line.split(":", 1)[1].split("(")[0].replace(",", ""))


def _import_file(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("generated_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_quick_start_is_the_two_commands_that_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [block.split("```", 1)[0].strip()
                for block in quick_start.split("```bash\n")[1:]]
    assert commands == ["bash .ci/setup && .venv/bin/resnet-studio",
                        "bash .ci/setup && .venv/bin/python -m pytest"]
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nbash .ci/setup\n" in run and "exec .venv/bin/python -m pytest" in run


@pytest.mark.parametrize(("field", "value", "words"), [
    ("lr", -1, "lr"), ("batch_size", 0, "batch_size"), ("optimizer", "lbfgs", "optimizer"),
    ("epochs", 10**12, "epochs"),
])
def test_validate_refuses_training_settings_that_train_refuses(tmp_path, capsys, field, value,
                                                               words):
    """``validate`` reads the training settings exactly as ``train`` does: what one refuses,
    the other refuses, naming the same field."""
    path = tmp_path / "p.rstudio.json"
    assert cli.main(["new", "small_resnet", "-o", str(path)]) == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    data["training"]["config"][field] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: error: [training.config.{field}]" in out and words in out
    assert "1 error(s)" in out and "OK" not in out
    assert cli.main(["train", str(path), "--out", str(tmp_path / "run"), "--epochs", "1"]
                    if field != "epochs" else
                    ["train", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"training setting ‘training.config.{field}’" in err
    assert not (tmp_path / "run" / "last.pt").exists()
