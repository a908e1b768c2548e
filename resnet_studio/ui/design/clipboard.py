"""Copy and paste of nodes: a plain JSON fragment under our own MIME type.

The fragment holds the copied nodes and the edges between them, in the project file's node
and edge format. Pasting gives every node a fresh id where its old one is taken and offsets
the copies so they do not hide the originals.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from ...graph import Graph, GraphError
from .commands import AddNodeCommand, ConnectCommand, MacroCommand

NODES_MIME = "application/x-resnet-studio-nodes"
PASTE_OFFSET = (40.0, 40.0)


def fragment(graph: Graph, node_ids: list[str]) -> dict[str, Any]:
    """The selected nodes and the edges among them."""
    chosen = set(node_ids)
    nodes = []
    for node_id in node_ids:
        n = graph.node(node_id)
        nodes.append({"id": n.id, "type": n.type_id, "params": dict(n.params),
                      "position": list(n.position), "label": n.label})
    edges = [[e.src, e.src_port, e.dst, e.dst_port] for e in graph.edges
             if e.src in chosen and e.dst in chosen]
    return {"nodes": nodes, "edges": edges}


def to_mime(data: dict[str, Any]) -> QMimeData:
    mime = QMimeData()
    text = json.dumps(data, ensure_ascii=False)
    mime.setData(NODES_MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def holds_nodes() -> bool:
    """True when the system clipboard holds our nodes (Paste has something to paste)."""
    mime = QGuiApplication.clipboard().mimeData()
    return mime is not None and mime.hasFormat(NODES_MIME)


def from_mime(mime: QMimeData | None) -> dict[str, Any] | None:
    if mime is None or not mime.hasFormat(NODES_MIME):
        return None
    try:
        data = json.loads(bytes(mime.data(NODES_MIME).data()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("nodes"), list) else None


class PasteCommand(MacroCommand):
    """Adds the fragment's nodes, then reconnects them: one undo step."""

    def __init__(self, graph: Graph, data: dict[str, Any], offset: tuple[float, float]):
        super().__init__(graph, "Paste")
        self.ids: dict[str, str] = {}
        self.adds: list[AddNodeCommand] = []
        taken = set(graph.nodes)
        for entry in data["nodes"]:
            new_id = _fresh_id(graph, str(entry["id"]), taken)
            taken.add(new_id)
            self.ids[entry["id"]] = new_id
            x, y = entry["position"]
            self.adds.append(self.add(AddNodeCommand, entry["type"], entry.get("params", {}),
                                      (x + offset[0], y + offset[1]), new_id,
                                      entry.get("label", "")))
        for src, sp, dst, dp in data.get("edges", []):
            self.add(ConnectCommand, self.ids[src], sp, self.ids[dst], dp)

    def check(self) -> None:
        # The edges join only new nodes, as they did in the copied network, so only the
        # nodes need checking (their connections cannot exist before the nodes do).
        if not self.adds:
            raise GraphError("The clipboard holds no nodes.")
        for command in self.adds:
            command.check()

    def new_ids(self) -> list[str]:
        return list(self.ids.values())


def _fresh_id(graph: Graph, wanted: str, taken: set[str]) -> str:
    """``wanted`` if it is free (in the graph and in this paste), else the lowest free
    numbered variant (``conv1`` → ``conv2``)."""
    if wanted not in taken and _valid_free(graph, wanted):
        return wanted
    base = graph.new_id(wanted)  # a valid id, free in the graph (cleaned up if need be)
    stem = base.rstrip("0123456789")
    candidate, number = base, 1
    while candidate in taken or not _valid_free(graph, candidate):
        candidate, number = f"{stem}{number}", number + 1
    return candidate


def _valid_free(graph: Graph, node_id: str) -> bool:
    try:
        graph.check_new_id(node_id)
    except GraphError:
        return False
    return True
