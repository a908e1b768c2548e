"""Automatic layout: readable positions for a network, top to bottom.

A node's *rank* is the length of the longest path reaching it from a source (normally the
Input node); ranks become rows ``RANK_GAP`` apart, so every edge points downwards. The *main
path* — the longest path from Input to Output — stands in one column at x = 0, which is how
residual networks are usually drawn: the trunk straight down, shortcut convolutions beside it,
``COLUMN_GAP`` to the right. The result depends only on the document (node insertion order
breaks ties), so laying out the same network twice gives the same picture.

Everything here is linear in nodes plus edges, so a thousand-node network lays out at once.
"""

from __future__ import annotations

from collections import deque

from .document import INPUT_TYPE, OUTPUT_TYPE, Graph

RANK_GAP = 100.0
COLUMN_GAP = 220.0

Adjacency = dict[str, list[str]]


def auto_layout(graph: Graph) -> None:
    """Move every node of ``graph`` to its laid-out position (through ``move_node``, so views
    and listeners hear of each move)."""
    positions = layout_positions(graph)
    for node_id in list(graph.nodes):
        graph.move_node(node_id, positions[node_id])


def layout_positions(graph: Graph) -> dict[str, tuple[float, float]]:
    """The laid-out position of every node, without changing the graph (an editor wraps the
    result in one undoable command)."""
    preds, succs = _adjacency(graph)
    order = _topological(list(graph.nodes), preds, succs)
    rank = _ranks(order, preds)
    main = _main_path(graph, rank, preds, succs)
    columns = _columns(order, rank, set(main), preds)
    return {n: (columns[n] * COLUMN_GAP, rank[n] * RANK_GAP) for n in graph.nodes}


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
