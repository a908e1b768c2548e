"""Which system libraries Qt's X11 platform plugin (xcb) needs and this machine lacks.

On a Linux desktop Qt loads ``platforms/libqxcb.so``; when one of the shared libraries it links
against is missing, Qt prints "Could not load the Qt platform plugin 'xcb'" and aborts the whole
process. Its message names one library at best (``libxcb-cursor0``), while a minimal
Debian/Ubuntu image also lacks ``libxcb-icccm4``, ``libxcb-keysyms1`` and their siblings.

So before the window opens, and from ``.ci/setup``, we ask the dynamic linker (``ldd``) which
libraries of the plugin — and of ``libQt6XcbQpa``, which it loads — are "not found", add
``libxcb-cursor`` (Qt 6.5+ opens it at run time, so ``ldd`` cannot see it), and turn the missing
sonames into the one command that installs them: Debian's package names follow the soname
(``libxcb-icccm.so.4`` → ``libxcb-icccm4``), and dnf installs a soname directly.

Standard library only, and PySide6 is located without being imported: this runs before Qt.

    python -m resnet_studio.qt_platform        # prints what is missing (exit 1) or "ok"
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

#: Opened by Qt with dlopen (Qt ≥ 6.5 refuses to start xcb without it): invisible to ldd.
RUNTIME_LIBRARIES = {"xcb-cursor": "libxcb-cursor.so.0"}
PLUGIN = Path("Qt", "plugins", "platforms", "libqxcb.so")
QPA_LIBRARY = Path("Qt", "lib", "libQt6XcbQpa.so.6")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_SONAME = re.compile(r"^lib(?P<name>.+)\.so\.(?P<major>\d+)")

Ldd = Callable[[Path], str]
Find = Callable[[str], "str | None"]


def pyside_folder() -> Path | None:
    """PySide6's package folder, found without importing it (None when not installed)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def run_ldd(path: Path) -> str:
    """``ldd path``'s output ("" when ldd is missing or fails: nothing can be said)."""
    ldd = shutil.which("ldd")
    if ldd is None or not path.is_file():
        return ""
    try:
        return subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20,
                              check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def missing_libraries(folder: Path | None = None, ldd: Ldd = run_ldd,
                      find: Find = ctypes.util.find_library) -> list[str]:
    """Sonames the xcb plugin needs and the dynamic linker cannot find, sorted; [] when
    nothing is missing or nothing can be checked (not Linux, no PySide6, no ldd)."""
    folder = folder if folder is not None else pyside_folder()
    if folder is None:
        return []
    missing: set[str] = set()
    for relative in (PLUGIN, QPA_LIBRARY):
        missing.update(_NOT_FOUND.findall(ldd(folder / relative)))
    missing.update(soname for name, soname in RUNTIME_LIBRARIES.items() if find(name) is None)
    return sorted(missing)


def debian_package(soname: str) -> str:
    """Debian's package for a shared library: the soname's name and major version, with a
    hyphen between them when the name ends in a digit (``libxkbcommon-x11.so.0`` →
    ``libxkbcommon-x11-0``), lower case."""
    match = _SONAME.match(soname)
    if match is None:
        return soname
    name, major = match["name"], match["major"]
    joiner = "-" if name[-1].isdigit() else ""
    return f"lib{name}{joiner}{major}".lower()


def install_commands(sonames: Iterable[str]) -> list[str]:
    """The apt-get and the dnf command installing ``sonames``."""
    sonames = sorted(set(sonames))
    apt = " ".join(sorted({debian_package(s) for s in sonames}))
    dnf = " ".join(f"'{s}()(64bit)'" for s in sonames)
    return [f"sudo apt-get install {apt}", f"sudo dnf install {dnf}"]


def advice(sonames: Iterable[str]) -> str:
    """What is missing and how to install it, in a few lines."""
    sonames = sorted(set(sonames))
    apt, dnf = install_commands(sonames)
    return (f"the desktop app cannot open a window: Qt's X11 platform plugin (xcb) needs "
            f"system libraries this machine lacks: {', '.join(sonames)}.\n"
            f"  Debian/Ubuntu: {apt}\n"
            f"  Fedora/RHEL:   {dnf}\n"
            "The headless commands (train, experiment, export …) work without them.")


def uses_xcb(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will pick its xcb plugin: on Linux when it is named, or when none is named
    and there is an X display but no Wayland one (with both, Qt may choose Wayland: the check
    then stays out of the way)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def main(argv: list[str] | None = None) -> int:
    """Print what is missing and the commands installing it (exit 1), or that all is there."""
    if not sys.platform.startswith("linux"):
        print("qt-platform: not Linux; nothing to check")
        return 0
    missing = missing_libraries()
    if missing:
        print(advice(missing), file=sys.stderr)
        return 1
    print("qt-platform: the libraries of Qt's xcb platform plugin are all installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
