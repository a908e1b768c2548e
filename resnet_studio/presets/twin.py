"""The plain twin of a network: the same layers with every skip connection removed.

Comparing a residual network with its plain twin is the experiment of He et al. 2015
(https://arxiv.org/abs/1512.03385, §4.1–4.2): same depth, same layers, only the shortcuts
differ, and the plain network trains worse as it gets deeper.

What is removed, and how:

* **Residual blocks and stages** (any block whose ``shortcut`` parameter offers ``"none"``,
  including custom blocks that expose one) get ``shortcut = "none"``. Their layers and names
  stay, so an option-A network and its twin have exactly the same parameters.
* **Primitive residuals** — an Add node summing a long branch and a shorter one — lose every
  input edge that does not come through the longest branch (the input whose source has the
  highest rank, i.e. the longest path from the Input; see ``graph.layout.ranks``). Inputs of
  equal, highest rank are parallel branches rather than shortcuts and are kept.
* An Add left with a single input becomes an Identity node with the same id, position and
  label, so downstream connections and ids are untouched.
* Layers that only fed a removed shortcut (a projection convolution and its norm, a
  zero-pad shortcut) are removed too, so the twin has no unused outputs.

Custom block definitions are treated the same way, so their bodies lose their skips as well.
The result is a new document; the original is not changed and node positions are kept.
"""

from __future__ import annotations

from typing import Any

from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph
from ..graph.layout import ranks
from ..graph.project import from_dict, to_dict

NO_SHORTCUT = "none"


def plain_twin(graph: Graph) -> Graph:
    """A copy of ``graph`` with every skip connection removed (see the module docstring)."""
    data = to_dict(graph)
    _strip(graph, data)
    for entry in data.get("blocks", []):
        _strip(graph.definitions[entry["type"]].graph, entry)
    data["name"] = f"{graph.name}_plain" if graph.name else ""
    return from_dict(data, graph.lookup, f"plain twin of ‘{graph.name or 'the network'}’")


def _strip(source: Graph, body: dict[str, Any]) -> None:
    """Remove the skips of ``source`` from ``body``, its project-file form."""
    for entry in body["nodes"]:
        if _has_no_shortcut_choice(source, entry["type"]):
            entry["params"]["shortcut"] = NO_SHORTCUT
    dropped = _shortcut_edges(source)
    body["edges"] = [e for e in body["edges"] if _key(e) not in dropped]
    for entry in body["nodes"]:
        if entry["type"] == "add" and _in_degree(body, entry["id"]) == 1:
            entry["type"], entry["params"] = "identity", {}
    _prune_dead(body, {e[0] for e in dropped})


def _has_no_shortcut_choice(source: Graph, type_id: str) -> bool:
    spec = source.spec(type_id)
    param = spec.param("shortcut") if spec is not None else None
    return param is not None and NO_SHORTCUT in param.choices


def _shortcut_edges(source: Graph) -> set[tuple[str, str, str, str]]:
    """Every Add input edge whose source is not on the Add's longest incoming branch."""
    rank = ranks(source)
    dropped = set()
    for add in source.nodes_of_type("add"):
        edges = source.incoming(add.id)
        deepest = max((rank[e.src] for e in edges), default=0)
        dropped |= {(e.src, e.src_port, e.dst, e.dst_port) for e in edges if rank[e.src] < deepest}
    return dropped


def _key(edge: dict[str, Any]) -> tuple[str, str, str, str]:
    return (edge["from"][0], edge["from"][1], edge["to"][0], edge["to"][1])


def _in_degree(body: dict[str, Any], node_id: str) -> int:
    return sum(1 for e in body["edges"] if e["to"][0] == node_id)


def _prune_dead(body: dict[str, Any], suspects: set[str]) -> None:
    """Remove nodes that fed only removed shortcuts, then whatever fed only those."""
    kinds = {n["id"]: n["type"] for n in body["nodes"]}
    removed: set[str] = set()
    while suspects:
        node_id = suspects.pop()
        if kinds[node_id] in (INPUT_TYPE, OUTPUT_TYPE) or node_id in removed:
            continue
        if any(e["from"][0] == node_id for e in body["edges"]):
            continue
        removed.add(node_id)
        suspects |= {e["from"][0] for e in body["edges"] if e["to"][0] == node_id}
        body["edges"] = [e for e in body["edges"] if e["to"][0] != node_id]
    body["nodes"] = [n for n in body["nodes"] if n["id"] not in removed]
