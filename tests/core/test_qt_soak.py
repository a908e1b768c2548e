"""Guards against the PySide6 build that aborts Python after a few thousand signal emits.

PySide6 6.12.0 on Python 3.11 kills the process with ``Fatal Python error: bool_dealloc``
after a few thousand ``Signal.emit()`` calls carrying Python objects: the reference count of
``True`` / ``False`` is decremented once too often until it reaches zero (before Python 3.12
made those objects immortal). pyqtgraph emits signals internally, so a live training plot
dies within minutes; 6.11.3 is fine. These tests keep the pin in pyproject.toml and check the
installed build directly. The Qt part runs in a subprocess: this test module imports no Qt,
and a crash must not take the test session down with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
EMITS = 50_000
BAD_VERSION = Version("6.12.0")
QT_DISTRIBUTIONS = ("pyside6", "pyside6-essentials")

SOAK = textwrap.dedent(f"""
    import sys
    from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

    class Source(QObject):
        payload = Signal(object)
        flag = Signal(bool)

    app = QCoreApplication(sys.argv)
    source = Source()
    received = {{"direct": 0, "queued": 0, "flags": 0}}
    payloads = (True, False, None, 0, 1.5, "text", (True, False), [False], {{"ok": True}})

    def on_payload(value):
        received["direct"] += 1

    def on_queued(value):
        received["queued"] += 1

    def on_flag(value):
        assert isinstance(value, bool)
        received["flags"] += 1

    source.payload.connect(on_payload)
    source.payload.connect(on_queued, Qt.ConnectionType.QueuedConnection)
    source.flag.connect(on_flag)
    for i in range({EMITS}):
        source.payload.emit(payloads[i % len(payloads)])
        source.flag.emit(i % 3 == 0)
        if i % 1000 == 999:
            app.processEvents()
    app.processEvents()
    print(received["direct"], received["queued"], received["flags"])
""")


def test_fifty_thousand_signal_emits_do_not_crash():
    result = subprocess.run([sys.executable, "-c", SOAK], capture_output=True, text=True,
                            timeout=120, env=_offscreen_env())
    assert result.returncode == 0, f"Qt soak crashed (exit {result.returncode}):\n{result.stderr}"
    assert result.stdout.split() == [str(EMITS)] * 3


def test_installed_pyside6_is_not_the_known_bad_build():
    versions = _installed_qt_versions()
    assert versions, "PySide6 is not installed"
    for name, version in versions.items():
        assert not _is_known_bad(version, sys.version_info[:2]), (
            f"{name} {version} on Python {sys.version_info[0]}.{sys.version_info[1]} aborts "
            "after a few thousand signal emits; install a version the pyproject.toml pin allows.")


@pytest.mark.parametrize("python", ["3.10", "3.11"])
def test_requirements_exclude_the_bad_build_before_python_312(python):
    requirements = _qt_requirements_for(python)
    assert requirements, f"no PySide6 requirement applies to Python {python}"
    allowed = [all(r.specifier.contains(v, prereleases=True) for r in requirements)
               for v in ("6.12.0", "6.11.3")]
    assert allowed == [False, True], (
        f"on Python {python} the requirements {[str(r) for r in requirements]} must reject "
        "PySide6 6.12.0 and accept 6.11.3")


def test_known_bad_rule_matches_only_that_combination():
    assert _is_known_bad(Version("6.12.0"), (3, 11))
    assert not _is_known_bad(Version("6.11.3"), (3, 11))
    assert not _is_known_bad(Version("6.12.0"), (3, 12))


def _is_known_bad(version: Version, python: tuple[int, int]) -> bool:
    return version.release[:3] == BAD_VERSION.release and python < (3, 12)


def _installed_qt_versions() -> dict[str, Version]:
    versions = {}
    for name in QT_DISTRIBUTIONS:
        try:
            versions[name] = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    return versions


def _qt_requirements_for(python: str) -> list[Requirement]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    requirements = [Requirement(text) for text in project["dependencies"]]
    return [r for r in requirements if r.name.lower() in QT_DISTRIBUTIONS
            and (r.marker is None or r.marker.evaluate(environment))]


def _offscreen_env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
