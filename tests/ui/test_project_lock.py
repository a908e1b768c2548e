"""The app holds the project file it has open: the command line cannot overwrite it meanwhile,
and a project another process holds opens read-only (its title says so, Save asks for Save As)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ui_helpers import small_graph

from resnet_studio.graph import project

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from resnet_studio import locks
lock = locks.hold(sys.argv[1], "another editor", directory=False)
print("held", flush=True)
sys.stdin.read()
"""


def env() -> dict[str, str]:
    out = dict(os.environ, PYTHONUNBUFFERED="1")
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), out.get("PYTHONPATH")]))
    return out


def test_a_project_another_process_holds_opens_read_only_and_saves_as_a_copy(
        make_window, prompts, tmp_path):
    path = tmp_path / "net.rstudio.json"
    project.save(small_graph(), path)
    before = path.read_bytes()
    helper = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env=env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert helper.stdout.readline().strip() == "held"  # the helper has the lock
        window = make_window()
        assert window.open_project(path)
        assert f"(read-only: open in pid {helper.pid})" in window.windowTitle()
        copy = tmp_path / "copy.rstudio.json"
        prompts.save_path = str(copy)
        assert window.save()
        assert prompts.asked[-1][0] == "save"  # Save asked where, as Save As does
    finally:
        helper.stdin.close()
        helper.wait(timeout=60)
        helper.stdout.close()
    assert path.read_bytes() == before and copy.is_file()
    assert "read-only" not in window.windowTitle()


def test_the_command_line_cannot_overwrite_the_project_the_app_has_open(make_window, tmp_path):
    path = tmp_path / "net.rstudio.json"
    project.save(small_graph(), path)
    before = path.read_bytes()
    window = make_window()
    assert window.open_project(path)
    assert "read-only" not in window.windowTitle()
    command = [sys.executable, "-m", "resnet_studio", "new", "small_resnet", "-o", str(path),
               "--force"]
    refused = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=300,
                             check=False)
    assert refused.returncode == 2 and f"(pid {os.getpid()} on host" in refused.stderr
    assert "cannot be written: it is open in" in refused.stderr
    assert path.read_bytes() == before
    assert window.close()  # closing the project lets go of it
    done = subprocess.run(command, env=env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-500:]
