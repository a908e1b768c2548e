"""What differs between runs: their settings and their architectures, read from their run
directories (the run model, not a view: the runs list, the studies and the command line
describe comparisons with the same words)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .rundir import read_graph, read_train_config


def describe_differences(paths: Sequence[Path], names: Sequence[str]) -> str:
    """The runs (by ``names``), the settings that differ, how their architectures differ and
    their folders, as text ("" for fewer than two runs)."""
    if len(paths) < 2:
        return ""
    lines = ["Runs: " + ", ".join(names), "", "Settings that differ:"]
    settings = config_differences([read_train_config(p) for p in paths])
    lines += [f"  {key}: " + " | ".join(json.dumps(v) for v in values)
              for key, values in settings] or ["  (none)"]
    lines += ["", "Architecture:"]
    lines += [f"  {line}" for line in graph_differences([read_graph(p) for p in paths],
                                                         list(names))] or ["  (the same)"]
    lines += ["", "Folders:"] + [f"  {n}: {p}" for n, p in zip(names, paths)]
    return "\n".join(lines)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"data": {"dataset": "x"}}`` → ``{"data.dataset": "x"}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(configs: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """(setting, value in each run) for every setting that is not the same in all runs."""
    flat = [flatten(c) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    return [(k, [f.get(k) for f in flat]) for k in keys
            if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]


def graph_differences(graphs: list[dict[str, Any] | None], names: list[str]) -> list[str]:
    """Sentences describing how the runs' architectures differ ([] when they are the same)."""
    known = [(n, g) for n, g in zip(names, graphs) if g is not None]
    if len(known) < 2:
        return []
    (base_name, base), lines = known[0], []
    for name, other in known[1:]:
        changes = _compare_graphs(base, other)
        if changes:
            lines += [f"{name} against {base_name}:"] + [f"  {line}" for line in changes]
    return lines


def _compare_graphs(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    nodes_a = {n["id"]: n for n in a.get("nodes", []) if isinstance(n, dict) and "id" in n}
    nodes_b = {n["id"]: n for n in b.get("nodes", []) if isinstance(n, dict) and "id" in n}
    lines = []
    for label, ids in (("only in the first", sorted(set(nodes_a) - set(nodes_b))),
                       ("only in the second", sorted(set(nodes_b) - set(nodes_a)))):
        if ids:
            lines.append(f"nodes {label}: {', '.join(ids[:8])}{' …' if len(ids) > 8 else ''}")
    for node_id in sorted(set(nodes_a) & set(nodes_b)):
        x, y = nodes_a[node_id], nodes_b[node_id]
        if x.get("type") != y.get("type"):
            lines.append(f"{node_id}: type {x.get('type')} → {y.get('type')}")
            continue
        px, py = x.get("params") or {}, y.get("params") or {}
        for key in sorted(set(px) | set(py)):
            if px.get(key) != py.get(key):
                lines.append(f"{node_id}.{key}: {px.get(key)!r} → {py.get(key)!r}")
    edges_a, edges_b = len(a.get("edges", [])), len(b.get("edges", []))
    if edges_a != edges_b:
        lines.append(f"{edges_a} connections → {edges_b}")
    if a.get("input") != b.get("input"):
        lines.append(f"input {a.get('input')} → {b.get('input')}")
    return lines
