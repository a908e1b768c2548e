"""The check of Qt's xcb platform libraries: what is missing, and the command that installs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_studio import cli, qt_platform

ROOT = Path(__file__).resolve().parents[2]

# ldd's output for the plugin on a minimal Debian image (trimmed): two libraries not found.
PLUGIN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2)
"""
QPA_LDD = """\
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibX11-xcb.so.1 => /lib/x86_64-linux-gnu/libX11-xcb.so.1 (0x00007f3)
"""


def fake_ldd(outputs: dict[str, str]):
    seen: list[Path] = []

    def ldd(path: Path) -> str:
        seen.append(path)
        return outputs.get(path.name, "")
    return ldd, seen


def test_missing_libraries_joins_both_libraries_and_the_runtime_one(tmp_path):
    ldd, seen = fake_ldd({"libqxcb.so": PLUGIN_LDD, "libQt6XcbQpa.so.6": QPA_LDD})
    missing = qt_platform.missing_libraries(tmp_path, ldd=ldd, find=lambda name: None)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                       "libxkbcommon-x11.so.0"]
    assert seen == [tmp_path / qt_platform.PLUGIN, tmp_path / qt_platform.QPA_LIBRARY]


def test_nothing_missing_when_the_linker_finds_everything(tmp_path):
    ldd, _ = fake_ldd({"libqxcb.so": "\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n"})
    found = {"xcb-cursor": "libxcb-cursor.so.0"}
    assert qt_platform.missing_libraries(tmp_path, ldd=ldd, find=found.get) == []


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libEGL.so.1", "libegl1"),
])
def test_debian_package_follows_the_soname(soname, package):
    assert qt_platform.debian_package(soname) == package


def test_advice_names_every_library_and_both_commands():
    text = qt_platform.advice(["libxcb-keysyms.so.1", "libxcb-icccm.so.4"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in text
    assert "sudo dnf install 'libxcb-icccm.so.4()(64bit)' 'libxcb-keysyms.so.1()(64bit)'" in text


@pytest.mark.parametrize(("env", "platform", "expected"), [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb:name=x"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", False),
    ({"DISPLAY": ":0"}, "darwin", False),
])
def test_uses_xcb_only_where_qt_would_load_it(env, platform, expected):
    assert qt_platform.uses_xcb(env, platform) is expected


def test_the_launch_refuses_with_the_install_command(monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(qt_platform, "missing_libraries", lambda: ["libxcb-icccm.so.4"])
    with pytest.raises(cli.CommandError) as refused:
        cli._check_platform_libraries()
    assert "apt-get install libxcb-icccm4" in str(refused.value)
    monkeypatch.setattr(qt_platform, "missing_libraries", lambda: [])
    cli._check_platform_libraries()  # nothing missing: no complaint


def test_launch_checks_the_libraries_before_the_editor_runs():
    """The check sits between the import of the editor module (which loads no platform
    plugin) and the editor's start, where Qt would abort."""
    import inspect

    source = inspect.getsource(cli.launch_gui)
    assert source.index("_check_platform_libraries()") < source.index("run_editor([")


def test_the_module_reports_this_machine_in_one_line():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    result = subprocess.run([sys.executable, "-m", "resnet_studio.qt_platform"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    expected = qt_platform.missing_libraries()
    assert result.returncode == (1 if expected else 0)
    if expected:
        assert all(s in result.stderr for s in expected)
    elif sys.platform.startswith("linux"):
        assert "all installed" in result.stdout


def test_setup_warns_with_the_check_and_goes_on(tmp_path):
    """``.ci/setup``'s check prints the module's advice as a warning and never fails the set-up
    (the tests run offscreen without those libraries)."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\necho 'needs libxcb-icccm.so.4; sudo apt-get install "
                      "libxcb-icccm4' >&2\nexit 1\n")
    python.chmod(0o755)
    script = (f'venv={tmp_path}; source <(sed -n "/^check_qt_libraries()/,/^}}/p" '
              f'{ROOT / ".ci" / "setup"}); check_qt_libraries; echo "went on"')
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "went on" in result.stdout
    assert "setup: warning: needs libxcb-icccm.so.4; sudo apt-get install libxcb-icccm4" in \
        result.stderr
    setup = (ROOT / ".ci" / "setup").read_text()
    assert setup.count("    check_qt_libraries\n") == 1 and "\ncheck_qt_libraries\n" in setup
