"""Loading and editing stay linear in the size of the network: the edge index is built once
and then kept up to date, and a file's edges are checked for cycles once, not per edge."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import CycleError, Edge, Graph
from resnet_studio.graph.project import loads

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_project_load import chain_text


@pytest.mark.parametrize("reverse", [False, True])
def test_a_20000_node_chain_loads_building_the_edge_index_once(reverse, monkeypatch):
    searches = []
    original = Graph.reaches
    monkeypatch.setattr(Graph, "reaches", lambda g, a, b: searches.append(a) or original(g, a, b))
    graph = loads(chain_text(20_000, reverse=reverse), CATALOGUE)
    assert len(graph) == 20_000 and len(graph.edges) == 19_999
    assert graph.index_builds == 1
    assert searches == []  # no cycle search per edge: one topological check instead
    assert [e.src for e in graph.incoming("output")] == ["r19997"]
    assert graph.topological_order()[:3] == ["input", "r0", "r1"]


def test_connect_and_disconnect_keep_the_index_without_rebuilding_it():
    graph = loads(chain_text(50), CATALOGUE)
    builds = graph.index_builds
    graph.add_node("add", node_id="merge")
    graph.connect("r1", "out", "merge", "in")
    graph.connect("r3", "out", "merge", "in")
    graph.disconnect(Edge("r1", "out", "merge", "in"))
    graph.remove_node("r10")
    assert graph.index_builds == builds
    assert [e.src for e in graph.incoming("merge")] == ["r3"]
    assert graph.outgoing("r9") == [] and graph.incoming("r11") == []
    graph.add_node("add", node_id="merge2")
    graph.connect("r5", "out", "merge2", "in")
    graph.connect("merge2", "out", "merge", "in")
    with pytest.raises(CycleError):  # merge2 now feeds merge: the index saw the new edge
        graph.connect("merge", "out", "merge2", "in")
    assert graph.reaches("r3", "merge2") and not graph.reaches("merge", "r3")


def test_an_edge_inserted_mid_list_keeps_operand_order():
    graph = loads(chain_text(10), CATALOGUE)
    graph.add_node("concat", node_id="cat")
    graph.connect("r1", "out", "cat", "in")
    graph.connect("r2", "out", "cat", "in", index=0)
    assert [e.src for e in graph.incoming("cat")] == ["r2", "r1"]
