"""The import rules of ARCHITECTURE.md hold.

Two independent checks: import-linter reads every import statement (including imports inside
functions) against the contracts in pyproject.toml; and a fresh interpreter imports each core
module and reports what actually got loaded, which catches imports made dynamically.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import resnet_studio

ROOT = Path(__file__).resolve().parents[2]
QT_ROOTS = {"PySide6", "shiboken6", "pyqtgraph"}
# Front-end modules at the package root that must run headless.
HEADLESS_MODULES = ("resnet_studio", "resnet_studio.api", "resnet_studio.cli",
                    "resnet_studio.summary")
# Imported without torch: the document, the block catalogue and the presets (the editor
# opens on them before torch has loaded), and what `import resnet_studio` / `--help` load.
TORCH_FREE = ("resnet_studio", "resnet_studio.graph", "resnet_studio.cli",
              "resnet_studio.summary", "resnet_studio.blocks", "resnet_studio.presets",
              "resnet_studio.compiler")

REPORT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def core_packages() -> list[str]:
    """Every sub-package of resnet_studio except the GUI; new packages are covered as they
    appear."""
    names = [m.name for m in pkgutil.iter_modules(resnet_studio.__path__) if m.ispkg]
    return [f"resnet_studio.{name}" for name in sorted(names) if name != "ui"]


def test_core_packages_are_discovered():
    assert {"resnet_studio.graph", "resnet_studio.blocks", "resnet_studio.compiler",
            "resnet_studio.presets"} <= set(core_packages())


def test_import_linter_contracts_are_kept():
    command = _lint_imports_command()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"import rules broken:\n{report}"
    assert "0 broken" in report and " KEPT" in report


MODULES = core_packages() + list(HEADLESS_MODULES)


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, set[str]]:
    """For each module: the top-level modules a fresh interpreter holds after importing it.
    One interpreter per core runs at a time; each start-up (torch) takes a second or two."""
    modules = MODULES + ["resnet_studio.compiler.infer"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(modules, pool.map(_loaded, modules)))


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_core_module_loads_no_qt(module, loaded_by):
    loaded = loaded_by[module]
    assert not loaded & QT_ROOTS, f"importing {module} loaded {sorted(loaded & QT_ROOTS)}"
    if module in TORCH_FREE:
        assert "torch" not in loaded, f"importing {module} loaded torch"


def test_the_report_sees_what_an_import_loads(loaded_by):
    # The subprocess check itself must be able to see a heavy import happen.
    assert "torch" in loaded_by["resnet_studio.compiler.infer"]


def _loaded(module: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", REPORT, module], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, f"importing {module} failed:\n{result.stderr}"
    return set(json.loads(result.stdout))


def _lint_imports_command() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    if not script.exists():
        found = shutil.which("lint-imports")
        assert found, "lint-imports (import-linter) is not installed; run `bash .ci/setup`"
        script = Path(found)
    return [str(script), "--no-cache"]


@pytest.mark.parametrize("package", ["compiler", "data", "export", "analysis", "train"])
def test_no_lazily_exported_name_is_also_a_submodule(package):
    """Importing a submodule sets the package attribute of its name to the module, so an
    export of the same name (``compiler.build`` the function vs ``compiler/build.py``) would
    be the function or the module depending on what was imported first."""
    module = importlib.import_module(f"resnet_studio.{package}")
    submodules = {m.name for m in pkgutil.iter_modules(module.__path__)}
    exported = {name for names in module._EXPORTS.values() for name in names}
    assert exported & submodules == set()
