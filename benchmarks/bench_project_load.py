"""How loading a project file grows with its size: chains of ReLU nodes, edges listed in
order and in reverse (the worst case for a cycle search per edge).

    .venv/bin/python benchmarks/bench_project_load.py [--repeats 5] [--sizes 2500 5000 10000 20000]

Each size is loaded once per round, the rounds interleaved; the table gives the median and the
spread (fastest … slowest) and the time per node, which stays flat when loading is linear.
Never part of the test suite; it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from itertools import pairwise

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph.project import loads


def chain_text(nodes: int, reverse: bool = False) -> str:
    """input → relu × (nodes - 2) → output as project file text."""
    ids = ["input", *(f"r{i}" for i in range(nodes - 2)), "output"]
    types = ["input", *(["relu"] * (nodes - 2)), "output"]
    entries = [{"id": i, "type": t, "position": [0.0, 80.0 * k], "params": {}}
               for k, (i, t) in enumerate(zip(ids, types))]
    edges = [{"from": [a, "out"], "to": [b, "in"]} for a, b in pairwise(ids)]
    if reverse:
        edges.reverse()
    return json.dumps({"format_version": 1, "name": "chain",
                       "input": {"channels": 3, "height": 8, "width": 8, "classes": 10},
                       "nodes": entries, "edges": edges})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 5000, 10000, 20000])
    args = parser.parse_args()
    cases = {(n, r): chain_text(n, r) for n in args.sizes for r in (False, True)}
    times: dict[tuple[int, bool], list[float]] = {key: [] for key in cases}
    for _ in range(args.repeats):
        for key, text in cases.items():
            start = time.perf_counter()
            graph = loads(text, CATALOGUE)
            times[key].append(time.perf_counter() - start)
            assert len(graph) == key[0]
    print(f"{'nodes':>7} {'edge order':>10} {'median s':>9} {'spread s':>17} {'µs/node':>8}")
    for (n, reverse), values in times.items():
        median = statistics.median(values)
        print(f"{n:>7} {'reverse' if reverse else 'forward':>10} {median:>9.3f} "
              f"{min(values):>8.3f} … {max(values):<6.3f} {1e6 * median / n:>8.1f}")


if __name__ == "__main__":
    main()
