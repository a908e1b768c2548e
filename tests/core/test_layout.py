"""Automatic layout: rows by rank, the trunk in one column (wrapped into bands for a wide
canvas), no overlaps, determinism."""

from __future__ import annotations

import itertools
import random

from resnet_studio.graph import BlockSpec, Graph, PortSpec, events
from resnet_studio.graph.layout import (
    BAND_GAP,
    COLUMN_GAP,
    RANK_GAP,
    auto_layout,
    band_ranks,
    layout_positions,
    main_path,
    ranks,
)

# A lookup of four schemas keeps these tests free of torch: layout only reads the topology.
_SPECS = {
    "input": BlockSpec("input", "Input", "IO", inputs=()),
    "output": BlockSpec("output", "Output", "IO", outputs=()),
    "op": BlockSpec("op", "Op", "Test"),
    "add": BlockSpec("add", "Add", "Test", inputs=(PortSpec("in", multi=True),)),
}


class _Lookup:
    def spec(self, type_id):
        return _SPECS.get(type_id)


def _graph() -> Graph:
    return Graph(_Lookup())


def _chain(graph: Graph, ids: list[str]) -> None:
    for src, dst in itertools.pairwise(ids):
        graph.connect(src, "out", dst, "in")


def residual_block() -> Graph:
    """input → a → b → c → add → output, with a projection ``proj`` from input to add.
    The shortcut edge is connected first, so edge order alone would pick the wrong trunk."""
    g = _graph()
    g.add_node("input", node_id="input")
    for node_id in ("proj", "a", "b", "c"):
        g.add_node("op", node_id=node_id)
    g.add_node("add", node_id="add")
    g.add_node("output", node_id="output")
    g.connect("input", "out", "proj", "in")
    g.connect("proj", "out", "add", "in")
    _chain(g, ["input", "a", "b", "c", "add", "output"])
    return g


def random_dag(seed: int, size: int = 150) -> Graph:
    rng = random.Random(seed)
    g = _graph()
    g.add_node("input", node_id="input")
    ids = ["input"]
    for i in range(size):
        node_id = g.add_node("add", node_id=f"n{i}").id
        for src in rng.sample(ids, min(len(ids), rng.randint(1, 3))):
            g.connect(src, "out", node_id, "in")
        ids.append(node_id)
    for i in range(5):  # unconnected nodes, as on a canvas being edited
        g.add_node("op", node_id=f"loose{i}")
    g.add_node("output", node_id="output")
    g.connect(ids[-1], "out", "output", "in")
    return g


def assert_no_overlap(positions: dict[str, tuple[float, float]]) -> None:
    for (a, pa), (b, pb) in itertools.combinations(positions.items(), 2):
        apart = abs(pa[0] - pb[0]) >= COLUMN_GAP or abs(pa[1] - pb[1]) >= RANK_GAP
        assert apart, f"{a} at {pa} overlaps {b} at {pb}"


def test_ranks_increase_downward_along_every_edge():
    g = random_dag(1)
    positions = layout_positions(g)
    for e in g.edges:
        assert positions[e.dst][1] > positions[e.src][1], str(e)
    rank = ranks(g)
    for node_id, (_, y) in positions.items():
        assert y == rank[node_id] * RANK_GAP


def test_rank_is_the_longest_path_from_the_input():
    rank = ranks(residual_block())
    assert rank == {"input": 0, "proj": 1, "a": 1, "b": 2, "c": 3, "add": 4, "output": 5}


def test_main_path_is_one_column_and_the_shortcut_stands_beside_it():
    g = residual_block()
    positions = layout_positions(g)
    assert main_path(g) == ["input", "a", "b", "c", "add", "output"]
    assert {positions[n][0] for n in main_path(g)} == {0.0}
    assert positions["proj"] == (COLUMN_GAP, RANK_GAP)


def test_side_branch_keeps_its_own_column():
    g = residual_block()
    g.add_node("op", node_id="proj_bn")
    g.disconnect(g.incoming("add")[0])
    _chain(g, ["proj", "proj_bn", "add"])
    positions = layout_positions(g)
    assert positions["proj"][0] == positions["proj_bn"][0] == COLUMN_GAP


def test_no_two_nodes_overlap_on_random_graphs():
    for seed in range(3):
        g = random_dag(seed)
        positions = layout_positions(g)
        assert set(positions) == set(g.nodes)
        assert_no_overlap(positions)


def test_unconnected_nodes_are_placed_without_overlap():
    g = residual_block()
    g.add_node("op", node_id="loose")
    g.add_node("add", node_id="loose_add")
    positions = layout_positions(g)
    assert_no_overlap(positions)
    assert positions["loose"][0] > 0 and positions["loose_add"][0] > 0


def test_unconnected_output_does_not_hide_the_trunk():
    g = _graph()
    g.add_node("input", node_id="input")
    g.add_node("op", node_id="a")
    g.add_node("op", node_id="b")
    g.add_node("output", node_id="output")
    _chain(g, ["input", "a", "b"])
    assert main_path(g) == ["input", "a", "b"]
    assert layout_positions(g)["b"] == (0.0, 2 * RANK_GAP)


def test_layout_is_deterministic():
    first = layout_positions(random_dag(7))
    assert layout_positions(random_dag(7)) == first
    g = random_dag(7)
    auto_layout(g)
    auto_layout(g)
    assert {n.id: n.position for n in g} == first


def test_layout_positions_leaves_the_graph_unchanged():
    g = residual_block()
    before = {n.id: n.position for n in g}
    layout_positions(g)
    assert {n.id: n.position for n in g} == before


def test_auto_layout_moves_nodes_through_events():
    g = residual_block()
    g.move_node("a", (0.0, RANK_GAP))  # already where layout puts it: no event for it
    seen: list[object] = []
    g.events.subscribe(seen.append)
    auto_layout(g)
    moved = {e.node_id: e.new for e in seen if isinstance(e, events.NodeMoved)}
    assert len(moved) == len(seen) == len(g) - 2  # input stays at the origin, "a" is in place
    assert moved == {n.id: n.position for n in g if n.id in moved}
    seen.clear()
    auto_layout(g)
    assert seen == []


def test_positions_are_floats():
    for x, y in layout_positions(residual_block()).values():
        assert type(x) is float and type(y) is float


def test_thousand_node_chain():
    g = _graph()
    g.add_node("input", node_id="input")
    ids = ["input"] + [g.add_node("op", node_id=f"n{i}").id for i in range(998)]
    g.add_node("output", node_id="output")
    _chain(g, ids + ["output"])
    auto_layout(g)
    for index, node_id in enumerate(ids + ["output"]):
        assert g.node(node_id).position == (0.0, index * RANK_GAP)



def test_thousand_node_residual_tower():
    """250 blocks of prev → a → b → add plus a projection prev → proj → add."""
    g = _graph()
    prev = g.add_node("input", node_id="input").id
    for i in range(250):
        for node_id, type_id in ((f"a{i}", "op"), (f"b{i}", "op"), (f"proj{i}", "op"),
                                 (f"add{i}", "add")):
            g.add_node(type_id, node_id=node_id)
        _chain(g, [prev, f"proj{i}", f"add{i}"])
        _chain(g, [prev, f"a{i}", f"b{i}", f"add{i}"])
        prev = f"add{i}"
    g.add_node("output", node_id="output")
    _chain(g, [prev, "output"])
    positions = layout_positions(g)
    for node_id, (x, _) in positions.items():
        assert x == (COLUMN_GAP if node_id.startswith("proj") else 0.0), node_id
    assert positions["add249"][1] == 750 * RANK_GAP



def _long_chain(length: int) -> Graph:
    graph = _graph()
    ids = ["input", *(f"op{i}" for i in range(length - 2)), "output"]
    for node_id in ids:
        graph.add_node("op" if node_id.startswith("op") else node_id, node_id=node_id)
    _chain(graph, ids)
    return graph


def test_a_long_chain_wraps_into_bands_for_a_wide_canvas():
    graph = _long_chain(12)
    tall = layout_positions(graph)
    assert len({x for x, _ in tall.values()}) == 1  # no aspect: one column, as before
    wide = layout_positions(graph, aspect=1.6)
    per_band = band_ranks(12, 1, 1.6)
    assert 1 < per_band < 12
    bands = sorted({x for x, _ in wide.values()})
    assert len(bands) == -(-12 // per_band)
    assert max(y for _, y in wide.values()) == (per_band - 1) * RANK_GAP
    order = main_path(graph)  # reading order: down a band, then the top of the next
    assert [wide[n] for n in order] == sorted(wide.values(), key=lambda p: (p[0], p[1]))
    assert len(set(wide.values())) == len(graph)


def test_the_band_height_shows_the_network_largest():
    """Among every even split, the chosen one gives the largest scale on the canvas."""
    for rows, aspect in ((11, 1.6), (18, 1.0), (13, 2.4), (40, 1.2)):
        def scale(per_band: int, rows: int = rows, aspect: float = aspect) -> float:
            bands = -(-rows // per_band)
            width = bands * (COLUMN_GAP + BAND_GAP) - BAND_GAP
            return min(aspect / width, 1 / (per_band * RANK_GAP))
        chosen = band_ranks(rows, 1, aspect)
        assert all(scale(chosen) >= scale(k) * (1 - 1e-9) for k in range(1, rows + 1))
    assert band_ranks(5, 1, 0.1) == 5  # a tall canvas keeps one column
