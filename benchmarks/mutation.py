"""Mutation testing of the analyses, the study package and the run diagnoser: how many small
planted bugs (a ``+`` turned ``-``, ``<`` turned ``<=``, a constant changed, …) the tests catch.

Runs mutmut 3 (``pip install 'resnet-studio[mutation]'``) with the ``[tool.mutmut]`` settings
of pyproject.toml: it copies the package to ``mutants/`` (ignored by git), plants one bug at a
time and runs only the tests that reach the mutated function, from the tight selection listed
there. Then it prints how many mutants were killed, survived or timed out, and each survivor.
Not part of the test suite: a full run takes tens of minutes.

    python benchmarks/mutation.py                       # analysis/ and train/diagnose.py
    python benchmarks/mutation.py 'resnet_studio.study.*'
    python benchmarks/mutation.py --fresh --children 2  # start again from a clean mutants/
    python benchmarks/mutation.py --report              # only print the last run's figures

Mutant names are mutmut's (``resnet_studio.analysis.signal.x__measure__mutmut_3``); the
positional arguments are globs over them. ``mutmut show NAME`` (run in the repository root)
prints a survivor's diff.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("resnet_studio.analysis.*", "resnet_studio.train.diagnose.*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", default=list(DEFAULT),
                        help="globs over mutant names (default: the analyses and diagnose)")
    parser.add_argument("--children", type=int, default=1, help="mutants tested at once")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first")
    parser.add_argument("--report", action="store_true", help="only report the last run")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if shutil.which("mutmut") is None and not _has_mutmut():
        print("mutmut is not installed: pip install 'resnet-studio[mutation]'")
        return 1
    if args.fresh:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    if not args.report:
        _run_mutmut(args.patterns, args.children)
    return _report(args.patterns)


def _has_mutmut() -> bool:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        return False
    return True


def _run_mutmut(patterns: list[str], children: int) -> None:
    """mutmut itself, in a child process: the tests must import the mutated copy in
    mutants/, never this checkout (so no PYTHONPATH pointing here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *patterns]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=False)


def _report(patterns: list[str]) -> int:
    """Count the results mutmut stored under mutants/ for the mutants matching ``patterns``."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    counts: Counter[str] = Counter()
    survivors: list[str] = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            status = status_by_exit_code[code]
            counts[status] += 1
            if status == "survived":
                survivors.append(name)
    tested = counts["killed"] + counts["survived"] + counts["timeout"]
    print(f"\nmutants: {sum(counts.values())}  " + "  ".join(
        f"{k}: {v}" for k, v in sorted(counts.items())))
    if tested:
        score = (counts["killed"] + counts["timeout"]) / tested
        print(f"score (killed + timeout) / tested: {score:.1%}")
    print(f"\nsurvivors ({len(survivors)}):")
    for name in sorted(survivors):
        print("  ", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
