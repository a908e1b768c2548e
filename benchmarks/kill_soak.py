"""Kill soak: a command-line training run with a checkpoint every step, SIGKILLed at random
moments and resumed, many times; then it finishes and its files are checked. Prints
"K kills, K intact, 0 step records lost, …" and any problem found (a checkpoint that does
not load, a step record missing or repeated, an epoch row repeated, a temporary file left).

The harness is the one of tests/core/test_train_kills.py, which runs a handful of kills in
the test suite; this runs as many as asked, in a temporary folder.

    .venv/bin/python benchmarks/kill_soak.py [--kills 20] [--epochs 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "core")]

from test_train_kills import kill_and_resume  # noqa: E402  (found through sys.path above)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=40,
                        help="enough that the run outlasts the kills (6 steps each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill-soak-") as folder:
        report = kill_and_resume(Path(folder) / "run", args.kills, args.epochs, args.seed)
    print(report.summary())
    print(f"finished run: {args.epochs * 6} steps; "
          f"{'no problems' if not report.problems else 'problems:'}")
    for problem in report.problems:
        print(f"  {problem}")
    print(f"({time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
