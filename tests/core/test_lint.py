"""The tree passes ruff with the rules in pyproject.toml, so the Quick start test command
checks lint as well as behaviour (.ci/run also runs ruff before the suite)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ruff() -> str | None:
    script = Path(sys.executable).with_name("ruff")
    return str(script) if script.exists() else shutil.which("ruff")


def test_ruff_finds_nothing():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed; `bash .ci/setup` installs it with the test extra")
    result = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"ruff findings:\n{result.stdout}{result.stderr}"
