"""New projects without a preset: the empty project, and project names taken from files."""

from __future__ import annotations

from pathlib import Path

from ...blocks import CATALOGUE
from ...graph import Graph, InputSpec
from ...graph.project import SUFFIX

EMPTY_NAME = "untitled"
OUTPUT_OFFSET = 300.0  # room between Input and Output for the first blocks dropped in


def empty_project(input_spec: InputSpec | None = None) -> Graph:
    """An Input node and an Output node, unconnected: the start for a network drawn by hand."""
    graph = Graph(CATALOGUE, input_spec or InputSpec(), name=EMPTY_NAME)
    graph.add_node("input", {}, (0.0, 0.0), "input")
    graph.add_node("output", {}, (0.0, OUTPUT_OFFSET), "output")
    return graph


def project_name(path: Path) -> str:
    """``my_net`` for ``my_net.rstudio.json`` (or ``my_net.json``)."""
    name = path.name
    for suffix in (SUFFIX, ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or EMPTY_NAME
    return path.stem or EMPTY_NAME
