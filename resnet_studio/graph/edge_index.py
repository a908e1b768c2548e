"""Edges by source and by destination, so that the many lookups of a connect or an analysis
cost O(degree) instead of O(edges), and loading a file stays linear in its size."""

from __future__ import annotations

from typing import Any

Lists = dict[str, list[Any]]


class EdgeIndex:
    """The edges of one edge list grouped by source and by destination node, each group in
    edge-list order (the operand order of multi-input ports).

    Built once, then kept up to date through ``added`` and ``removed``. It remembers which
    list it describes and how long it was; when the list was replaced or changed without
    telling the index, the next ``lookup`` rebuilds it."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._by_src: Lists = {}
        self._by_dst: Lists = {}
        self.builds = 0  # how often it was built from scratch (tests check linear loading)

    def lookup(self, edges: list) -> tuple[Lists, Lists]:
        if self._key != (id(edges), len(edges)):
            self._by_src, self._by_dst = {}, {}
            for e in edges:
                self._by_src.setdefault(e.src, []).append(e)
                self._by_dst.setdefault(e.dst, []).append(e)
            self._key = (id(edges), len(edges))
            self.builds += 1
        return self._by_src, self._by_dst

    def added(self, edges: list, edge: Any, appended: bool) -> None:
        """``edge`` was just added to ``edges``; one inserted before the end may change the
        operand order of a group, so that drops the index instead."""
        if not appended or self._key != (id(edges), len(edges) - 1):
            self.reset()
            return
        self._by_src.setdefault(edge.src, []).append(edge)
        self._by_dst.setdefault(edge.dst, []).append(edge)
        self._key = (id(edges), len(edges))

    def removed(self, edges: list, edge: Any) -> None:
        """``edge`` was just removed from ``edges`` (edges are unique, so it is found once)."""
        if self._key != (id(edges), len(edges) + 1):
            self.reset()
            return
        self._by_src[edge.src].remove(edge)
        self._by_dst[edge.dst].remove(edge)
        self._key = (id(edges), len(edges))

    def reset(self) -> None:
        self._key = None
