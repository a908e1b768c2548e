"""Mutation testing of the analyses, the study package and the run diagnoser: how many small
planted bugs (a ``+`` turned ``-``, ``<`` turned ``<=``, a constant changed, …) the tests catch.

Runs mutmut 3 (``pip install 'resnet-studio[mutation]'``) with the ``[tool.mutmut]`` settings
of pyproject.toml: it copies the package to ``mutants/`` (ignored by git), plants one bug at a
time and runs only the tests that reach the mutated function, from the tight selection listed
there. Then it prints how many mutants were killed, survived or timed out, and each survivor.
Not part of the test suite: a full run takes hours on two cores.

    python benchmarks/mutation.py                       # analysis/ and train/diagnose.py
    python benchmarks/mutation.py 'resnet_studio.study.*'
    python benchmarks/mutation.py --fresh --children 2  # start again from a clean mutants/
    python benchmarks/mutation.py --report              # only print the last run's figures
    nice -n 19 python benchmarks/mutation.py --sample 150 --seed 1   # a random sample

``--sample N`` generates every mutant of the whole scope (analysis/, study/ and
train/diagnose.py, whatever the patterns), draws N of them at random with the seed, split
between the three parts in proportion to their mutant counts, tests only those, and estimates
the whole scope's score from them: a Wilson 95 % interval for a binomial proportion (the
finite population and the stratification only narrow the true interval, so it errs wide).
Mutants listed in ``mutation_equivalent.txt`` beside this script (one name a line, ``#`` and
the reason after it) were judged equivalent: no test can tell them from the original, so they
leave the denominator. Survivors are printed with their diffs.

Mutant names are mutmut's (``resnet_studio.analysis.signal.x__measure__mutmut_3``); the
positional arguments are globs over them. ``mutmut show NAME`` (run in the repository root)
prints a survivor's diff.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("resnet_studio.analysis.*", "resnet_studio.train.diagnose.*")
STRATA = ("resnet_studio.analysis.", "resnet_studio.study.", "resnet_studio.train.diagnose.")
EQUIVALENT = Path(__file__).resolve().parent / "mutation_equivalent.txt"
CAUGHT = ("killed", "timeout")
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", default=list(DEFAULT),
                        help="globs over mutant names (default: the analyses and diagnose)")
    parser.add_argument("--children", type=int, default=1, help="mutants tested at once")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first")
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="test a seeded random sample of N mutants of the whole scope")
    parser.add_argument("--seed", type=int, default=0, help="the sample's random seed")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if shutil.which("mutmut") is None and not _has_mutmut():
        print("mutmut is not installed: pip install 'resnet-studio[mutation]'")
        return 1
    if args.fresh:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    if args.sample is not None:
        return _sampled(args.sample, args.seed, args.children, args.report)
    if not args.report:
        _run_mutmut(args.patterns, args.children)
    return _report(args.patterns)


def _has_mutmut() -> bool:
    try:
        import mutmut  # noqa: F401
    except ImportError:
        return False
    return True


def _child_env() -> dict[str, str]:
    """The tests must import the mutated copy in mutants/, never this checkout (so no
    PYTHONPATH pointing here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _run_mutmut(patterns: list[str], children: int) -> None:
    """mutmut itself, in a child process."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *patterns]
    shown = command if len(patterns) <= 4 else [*command[:6], f"<{len(patterns)} mutants>"]
    print("$", " ".join(shown), flush=True)
    subprocess.run(command, cwd=ROOT, env=_child_env(), check=False)


_GENERATE = """
import os
from mutmut.__main__ import create_mutants
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(1)
"""


def _generate() -> None:
    """Write every mutant of the scope to mutants/ (with its metadata) without testing any:
    the same steps ``mutmut run`` begins with, in a child process (they change the cwd's
    import path and leave worker pools behind)."""
    print("generating the mutants …", flush=True)
    subprocess.run([sys.executable, "-c", _GENERATE], cwd=ROOT, env=_child_env(), check=True,
                   stdout=subprocess.DEVNULL)


def _statuses() -> dict[str, str]:
    """Every generated mutant's name and its status from the last run ('not checked' if none)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    found: dict[str, str] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        found.update({name: status_by_exit_code[code]
                      for name, code in data.exit_code_by_key.items()})
    return found


def stratified_sample(names: list[str], size: int, seed: int,
                      strata: tuple[str, ...] = STRATA) -> list[str]:
    """``size`` of ``names`` drawn at random, each stratum (name prefix) given its share in
    proportion to its count (largest remainders take the seats rounding leaves over). Each
    stratum is shuffled by its own seeded generator and its first names taken, so a larger
    sample with the same seed holds a smaller one."""
    groups = {s: sorted(n for n in names if n.startswith(s)) for s in strata}
    total = sum(len(g) for g in groups.values())
    size = min(size, total)
    quotas = {s: size * len(g) / total for s, g in groups.items()}
    seats = {s: math.floor(q) for s, q in quotas.items()}
    left = size - sum(seats.values())
    for s in sorted(groups, key=lambda s: seats[s] - quotas[s])[:left]:
        seats[s] += 1
    drawn = []
    for s in strata:
        random.Random(f"{seed}:{s}").shuffle(groups[s])
        drawn += groups[s][:seats[s]]
    return sorted(drawn)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (Wilson 1927)."""
    if trials <= 0:
        raise ValueError("wilson_interval: trials must be positive")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _equivalent() -> dict[str, str]:
    """The mutants judged equivalent and why, from mutation_equivalent.txt."""
    if not EQUIVALENT.exists():
        return {}
    judged = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            judged[name.strip()] = reason.strip()
    return judged


def _sampled(size: int, seed: int, children: int, report_only: bool) -> int:
    if not report_only:
        _generate()
    everything = _statuses()
    in_scope = [n for n in everything if n.startswith(STRATA)]
    if not in_scope:
        print("no mutants in mutants/: run without --report first")
        return 1
    sample = stratified_sample(in_scope, size, seed)
    if not report_only:
        _run_mutmut(sample, children)
        everything = _statuses()
    _report_sample(sample, {n: everything[n] for n in sample}, len(in_scope), seed)
    return 0


def _report_sample(sample: list[str], status: dict[str, str], scope: int, seed: int) -> None:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    judged = _equivalent()
    counts = Counter(status.values())
    parts = Counter(next(s for s in STRATA if n.startswith(s)) for n in sample)
    print(f"\nA RANDOM SAMPLE of {len(sample)} of the scope's {scope} mutants (seed {seed}): "
          + ", ".join(f"{s.rstrip('.')} {k}" for s, k in parts.items()))
    print("  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    not_caught = [n for n in sample if status[n] not in CAUGHT]
    equivalent = [n for n in not_caught if n in judged]
    unknown = [n for n in not_caught if status[n] == "not checked"]
    caught = sum(status[n] in CAUGHT for n in sample)
    judged_total = len(sample) - len(equivalent) - len(unknown)
    print(f"  judged equivalent (left out): {len(equivalent)}   not checked: {len(unknown)}")
    if judged_total:
        low, high = wilson_interval(caught, judged_total)
        print(f"score of the non-equivalent mutants: {caught}/{judged_total} = "
              f"{caught / judged_total:.1%}; whole scope, 95 % Wilson interval "
              f"{low:.1%} – {high:.1%}")
    for name in equivalent:
        print(f"\nequivalent: {name}  # {judged[name]}")
    survivors = [n for n in not_caught if n not in judged and n not in unknown]
    print(f"\nnot caught ({len(survivors)}):")
    for name in survivors:
        print(f"\n# {name}: {status[name]}")
        print(get_diff_for_mutant(name))
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
