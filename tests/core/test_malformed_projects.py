"""The adversarial suite: every kind of malformed project file (``malformed_kinds.KINDS``, plus
pipes, devices, directories and oversized files) gives one ``ProjectFileError`` naming the
problem, through ``load_project`` + ``analyze`` and through each command of the CLI (exit
status 2, one line on stderr, no traceback). Most are run in-process, where they are cheap;
a few run through a real ``python -m resnet_studio`` process.

A hang fails through pytest's faulthandler timeout (pyproject), which prints the stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from malformed_kinds import BASE, KINDS, text

from resnet_studio.api import analyze, load_project
from resnet_studio.cli import main
from resnet_studio.graph import ProjectFileError
from resnet_studio.graph.project_guards import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = (["validate"], ["summary"], ["source"], ["train", "--epochs", "1"])
# Files of several MB: read through every command above by ``validate`` only, to keep the
# suite quick (the commands share the reading code).
HEAVY = {"two million nodes that are numbers", "a position of a million numbers",
         "a file over the size limit"}


def write(directory: Path, name: str, content: bytes) -> Path:
    path = directory / (name.replace(" ", "_").replace(",", "") + ".rstudio.json")
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def malformed(tmp_path_factory) -> list[tuple[str, Path, str]]:
    """Every kind written to disk, plus the kinds that only a file system can make."""
    directory = tmp_path_factory.mktemp("malformed")
    files = [(name, write(directory, name, make()), fragment) for name, make, fragment in KINDS]
    fifo = directory / "pipe.rstudio.json"
    os.mkfifo(fifo)
    zero = directory / "zero.rstudio.json"
    zero.symlink_to("/dev/zero")
    big = directory / "big.rstudio.json"
    with big.open("wb") as stream:  # sparse: reads as zeros without using the disk
        stream.truncate(MAX_FILE_BYTES + 1)
    folder = directory / "folder.rstudio.json"
    folder.mkdir()
    files += [("a FIFO", fifo, "not a regular file"), ("a link to /dev/zero", zero,
              "not a regular file"), ("a file over the size limit", big, "larger than"),
              ("a directory", folder, "is a directory"),
              ("a missing file", directory / "missing.rstudio.json", "no such file")]
    return files


def test_the_base_project_is_valid(tmp_path):
    """The kinds are each one change away from a project that loads and analyses cleanly."""
    graph = load_project(write(tmp_path, "base", text(BASE)))
    assert analyze(graph).ok and graph.training == BASE["training"]


def test_every_malformed_file_is_one_error_naming_its_problem(malformed):
    outcomes = []
    for name, path, fragment in malformed:
        with pytest.raises(ProjectFileError) as info:
            analyze(load_project(path))
        message = str(info.value)
        outcomes.append(name)
        assert message.startswith(str(path)), (name, message)
        assert fragment in message, (name, message)
        assert "\n" not in message and len(message) < 600, (name, message)
    assert len(outcomes) == len(KINDS) + 5


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_reports_a_malformed_file_in_one_line(command, malformed, capsys,
                                                            tmp_path):
    for name, path, fragment in malformed:
        if name in HEAVY and command[0] != "validate":
            continue
        extra = ["--out", str(tmp_path / "run")] if command[0] == "train" else []
        code = main([command[0], str(path), *command[1:], *extra])
        out, err = capsys.readouterr()
        assert code == 2, (name, command, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("resnet-studio: error: "), (name, err)
        assert fragment in lines[0], (name, err)
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["format_version of 5000 digits", "custom blocks nested 300 deep",
                                  "a lone surrogate in the name", "a FIFO"])
def test_a_real_process_exits_cleanly_on_a_malformed_file(kind, malformed):
    path, fragment = next((p, f) for n, p, f in malformed if n == kind)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "resnet_studio", "validate", str(path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and fragment in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
