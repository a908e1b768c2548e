"""Automatic layout: readable positions for a network, top to bottom.

A node's *rank* is the length of the longest path reaching it from a source (normally the
Input node); ranks become rows ``RANK_GAP`` apart, so every edge points downwards. The *main
path* — the longest path from Input to Output — stands in one column at x = 0, which is how
residual networks are usually drawn: the trunk straight down, shortcut convolutions beside it,
``COLUMN_GAP`` to the right. The result depends only on the document (node insertion order
breaks ties), so laying out the same network twice gives the same picture.

Given the *aspect* (width over height) of the canvas it will be read on, a long network wraps
into bands side by side, read as newspaper columns: ranks 0…k-1 in the first band, k…2k-1 in
the next, ``BAND_GAP`` apart. The band height is the one that lets the whole network be shown
largest on such a canvas, so a 13-stage chain fills a wide canvas instead of shrinking into a
tall thin column whose text nobody can read.

Everything here is linear in nodes plus edges, so a thousand-node network lays out at once.
"""

from __future__ import annotations

from collections import deque

from .document import INPUT_TYPE, OUTPUT_TYPE, Graph

RANK_GAP = 100.0
COLUMN_GAP = 220.0
BAND_GAP = 80.0          # between two bands of a wrapped layout, beyond a column's width
READING_ASPECT = 1.6     # the Design canvas's width over its height, about, at 1280×800

Adjacency = dict[str, list[str]]


def auto_layout(graph: Graph, aspect: float | None = None) -> None:
    """Move every node of ``graph`` to its laid-out position (through ``move_node``, so views
    and listeners hear of each move); ``aspect``: wrap for a canvas of that shape."""
    positions = layout_positions(graph, aspect)
    for node_id in list(graph.nodes):
        graph.move_node(node_id, positions[node_id])


def layout_positions(graph: Graph, aspect: float | None = None) -> dict[str, tuple[float, float]]:
    """The laid-out position of every node, without changing the graph (an editor wraps the
    result in one undoable command). ``aspect`` (width / height of the canvas): wrap the ranks
    into the bands that show the network largest there; None: one band, top to bottom."""
    preds, succs = _adjacency(graph)
    order = _topological(list(graph.nodes), preds, succs)
    rank = _ranks(order, preds)
    main = _main_path(graph, rank, preds, succs)
    columns = _columns(order, rank, set(main), preds)
    rows = max(rank.values(), default=-1) + 1
    width = max(columns.values(), default=0) + 1
    per_band = band_ranks(rows, width, aspect) if aspect else max(rows, 1)
    band_width = width * COLUMN_GAP + BAND_GAP
    return {n: ((rank[n] // per_band) * band_width + columns[n] * COLUMN_GAP,
                (rank[n] % per_band) * RANK_GAP) for n in graph.nodes}


def band_ranks(rows: int, columns: int, aspect: float) -> int:
    """How many ranks one band holds so that ``rows`` ranks ``columns`` wide show largest on
    a canvas ``aspect`` times as wide as high (even bands; fewer bands on a tie)."""
    best, best_scale = max(rows, 1), 0.0
    for bands in range(1, rows + 1):
        per_band = -(-rows // bands)  # ceil: the bands as even as they can be
        if bands > 1 and -(-rows // per_band) < bands:
            continue  # the same band height as fewer bands
        width = bands * (columns * COLUMN_GAP + BAND_GAP) - BAND_GAP
        height = per_band * RANK_GAP
        scale = min(aspect / width, 1.0 / height)
        if scale > best_scale * (1 + 1e-9):
            best, best_scale = per_band, scale
    return best


def ranks(graph: Graph) -> dict[str, int]:
    """Each node's rank: the number of edges on the longest path reaching it from a node
    without inputs (0 for the Input node and for unconnected nodes)."""
    preds, succs = _adjacency(graph)
    return _ranks(_topological(list(graph.nodes), preds, succs), preds)


def main_path(graph: Graph) -> list[str]:
    """The network's trunk, first node first: the longest path ending at the Output node
    (or at the deepest node while the Output is unconnected), preferring nodes the Input
    reaches."""
    preds, succs = _adjacency(graph)
    rank = _ranks(_topological(list(graph.nodes), preds, succs), preds)
    return _main_path(graph, rank, preds, succs)


def _main_path(graph: Graph, rank: dict[str, int], preds: Adjacency,
               succs: Adjacency) -> list[str]:
    if not rank:
        return []
    outputs = [n.id for n in graph.nodes_of_type(OUTPUT_TYPE) if preds[n.id]]
    end = max(outputs or list(graph.nodes), key=lambda n: rank[n])  # first of equal ranks
    fed = _reached_from([n.id for n in graph.nodes_of_type(INPUT_TYPE)], succs)
    path, on_path = [end], {end}
    while True:
        options = [p for p in preds[path[-1]] if p not in on_path]
        if not options:
            break
        preferred = [p for p in options if p in fed] or options
        path.append(max(preferred, key=lambda p: rank[p]))
        on_path.add(path[-1])
    path.reverse()
    return path


def _adjacency(graph: Graph) -> tuple[Adjacency, Adjacency]:
    preds: Adjacency = {n: [] for n in graph.nodes}
    succs: Adjacency = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.src in preds and e.dst in preds and e.src not in preds[e.dst]:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
    return preds, succs


def _topological(ids: list[str], preds: Adjacency, succs: Adjacency) -> list[str]:
    """Kahn's order, ties in insertion order. Nodes caught in a cycle (a document never holds
    one, but a hand-edited file might) follow at the end so that layout still succeeds."""
    indegree = {n: len(preds[n]) for n in ids}
    ready = deque(n for n in ids if indegree[n] == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for nxt in succs[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    placed = set(order)
    return order + [n for n in ids if n not in placed]


def _ranks(order: list[str], preds: Adjacency) -> dict[str, int]:
    rank: dict[str, int] = {}
    for node_id in order:
        rank[node_id] = max((rank[p] + 1 for p in preds[node_id] if p in rank), default=0)
    return rank


def _reached_from(starts: list[str], succs: Adjacency) -> set[str]:
    seen, stack = set(starts), list(starts)
    while stack:
        for nxt in succs[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _columns(order: list[str], rank: dict[str, int], main: set[str],
             preds: Adjacency) -> dict[str, int]:
    """Column 0 holds the main path; every other node takes the free column of its row
    nearest to the right of its closest predecessor's, so side branches stay straight."""
    column: dict[str, int] = {n: 0 for n in main}
    taken: dict[int, set[int]] = {}
    for n in main:
        taken.setdefault(rank[n], set()).add(0)
    for node_id in order:
        if node_id in column:
            continue
        placed = [p for p in preds[node_id] if p in column]
        nearest = max(placed, key=lambda p: (rank[p], -column[p]), default=None)
        wanted = max(1, column[nearest]) if nearest is not None else 1
        row = taken.setdefault(rank[node_id], set())
        while wanted in row:
            wanted += 1
        row.add(wanted)
        column[node_id] = wanted
    return column
