"""Malformed project files, one per way a file can be wrong, for the adversarial suite.

Each kind is (name, a function of the base project dict giving the file's bytes, a fragment
the error must contain: what names the problem). The base project is small but uses every
part of the format: the input, nodes, edges, a custom block with a parameter, ``training``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

BASE: dict[str, Any] = {
    "format_version": 1,
    "name": "base",
    "input": {"channels": 3, "height": 8, "width": 8, "classes": 10},
    "blocks": [{
        "type": "unit", "name": "Unit", "description": "conv and relu",
        "params": [{"name": "width", "kind": "int", "default": 4, "minimum": 1, "maximum": 64}],
        "nodes": [{"id": "in", "type": "input", "position": [0, 0]},
                  {"id": "conv", "type": "conv2d", "position": [0, 80],
                   "params": {"out_channels": "$width"}},
                  {"id": "act", "type": "relu", "position": [0, 160]},
                  {"id": "output", "type": "output", "position": [0, 240]}],
        "edges": [{"from": ["in", "out"], "to": ["conv", "in"]},
                  {"from": ["conv", "out"], "to": ["act", "in"]},
                  {"from": ["act", "out"], "to": ["output", "in"]}],
    }],
    "nodes": [{"id": i, "type": t, "position": [0, 80 * k], "params": p} for k, (i, t, p) in
              enumerate([("input", "input", {}), ("block", "unit", {"width": 8}),
                         ("pool", "adaptiveavgpool2d", {}), ("flat", "flatten", {}),
                         ("fc", "linear", {"out_features": "$classes"}),
                         ("output", "output", {})])],
    "edges": [{"from": [a, "out"], "to": [b, "in"]} for a, b in
              [("input", "block"), ("block", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "output")]],
    "training": {"optimizer": "sgd", "lr": 0.1},
}

Edit = Callable[[dict], Any]


def text(data: Any) -> bytes:
    return json.dumps(data, indent=1).encode()


def edited(edit: Edit) -> Callable[[], bytes]:
    """The base project changed by ``edit`` (which changes the dict in place, or returns
    the whole new JSON value)."""
    def make() -> bytes:
        data = copy.deepcopy(BASE)
        result = edit(data)
        return text(data if result is None else result)
    return make


def raw(make: Callable[[], bytes]) -> Callable[[], bytes]:
    return make


def deep(levels: int, leaf: Any = 1, key: str | None = "a") -> Any:
    value = leaf
    for _ in range(levels):
        value = {key: value} if key else [value]
    return value


def literal(path: str, token: str) -> Callable[[], bytes]:
    """The base project with the value at ``path`` written as the JSON text ``token`` (for
    what json.dumps would not write: NaN, numbers of thousands of digits)."""
    marker = "@@literal@@"

    def make() -> bytes:
        data = copy.deepcopy(BASE)
        _set(path, marker)(data)
        return text(data).replace(f'"{marker}"'.encode(), token.encode())
    return make


def nested_blocks(depth: int) -> Callable[[], bytes]:
    """``depth`` custom blocks, each the one before it inside, the network using the last."""
    def edit(data: dict) -> None:
        unit = data["blocks"][0]
        for k in range(1, depth):
            block = copy.deepcopy(unit)
            block["type"], block["name"], block["params"] = f"level{k}", f"Level {k}", []
            block["nodes"][1] = {"id": "conv", "type": data["blocks"][-1]["type"],
                                 "position": [0, 80], "params": {}}
            data["blocks"].append(block)
        data["nodes"][1]["type"], data["nodes"][1]["params"] = data["blocks"][-1]["type"], {}
    return edited(edit)


def _set(path: str, value: Any) -> Edit:
    """Set ``a.b.0.c`` (list indices as numbers) to ``value``."""
    def edit(data: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def _delete(path: str) -> Edit:
    def edit(data: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return edit


def _truncated(fraction: float) -> Callable[[], bytes]:
    def make() -> bytes:
        body = text(BASE)
        return body[: int(len(body) * fraction)]
    return make


def _cycle(data: dict) -> None:
    """input → merge → block → pool → merge: a loop through an Add node."""
    data["nodes"].append({"id": "merge", "type": "add", "position": [200, 0]})
    data["edges"][0]["to"] = ["merge", "in"]
    data["edges"] += [{"from": ["merge", "out"], "to": ["block", "in"]},
                      {"from": ["pool", "out"], "to": ["merge", "in"]}]


def _without_block_output(data: dict) -> None:
    data["blocks"][0]["nodes"].pop()
    data["blocks"][0]["edges"].pop()


HUGE = "9" * 5000  # past Python's 4,300-digit limit on reading integers from text

KINDS: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty file", raw(lambda: b""), "is empty"),
    ("only whitespace", raw(lambda: b" \n\t\n"), "is empty"),
    ("only a byte-order mark", raw(lambda: b"\xef\xbb\xbf"), "is empty"),
    ("binary garbage", raw(lambda: bytes(range(256)) * 8), "not UTF-8"),
    ("UTF-16 text", raw(lambda: text(BASE).decode().encode("utf-16")), "not UTF-8"),
    ("truncated at a third", _truncated(1 / 3), "not valid JSON"),
    ("truncated at a half", _truncated(1 / 2), "not valid JSON"),
    ("truncated by one byte", _truncated(0.999), "not valid JSON"),
    ("trailing garbage", raw(lambda: text(BASE) + b"}garbage"), "not valid JSON"),
    ("a JSON list", edited(lambda d: [d]), "JSON object"),
    ("JSON null", raw(lambda: b"null"), "JSON object"),
    ("a JSON string", edited(lambda d: "project"), "JSON object"),
    ("no format_version", edited(_delete("format_version")), "format_version"),
    ("format_version a string", edited(_set("format_version", "1")), "format_version"),
    ("format_version a float", edited(_set("format_version", 1.0)), "format_version"),
    ("format_version from the future", edited(_set("format_version", 2)), "not supported"),
    ("format_version of 5000 digits", literal("format_version", HUGE),
     "too long"),
    ("parameter of 5000 digits", literal("nodes.1.params.width", HUGE), "too long"),
    ("parameter of 4000 digits", literal("nodes.1.params.width", HUGE[:4000]), "width"),
    ("NaN position", literal("nodes.1.position.0", "NaN"), "NaN"),
    ("Infinity parameter", literal("nodes.1.params.width", "Infinity"), "Infinity"),
    ("-Infinity lr", literal("training.lr", "-Infinity"), "Infinity"),
    ("nodes an object", edited(_set("nodes", {"a": 1})), "nodes"),
    ("a node a number", edited(_set("nodes.0", 7)), "nodes[0]"),
    ("a node without id", edited(_delete("nodes.2.id")), "nodes[2]"),
    ("a node id a number", edited(_set("nodes.2.id", 5)), "nodes[2].id"),
    ("a node id not a name", edited(_set("nodes.2.id", "2 pool")), "nodes[2].id"),
    ("a node id reserved by torch", edited(_set("nodes.2.id", "forward")), "nodes[2].id"),
    ("duplicate node ids", edited(_set("nodes.3.id", "pool")), "already exists"),
    ("unknown block type", edited(_set("nodes.2.type", "future.block")), "unknown block type"),
    ("params a list", edited(_set("nodes.1.params", [8])), "nodes[1].params"),
    ("parameter out of bounds", edited(_set("nodes.1.params.width", -1)), "width"),
    ("unknown parameter", edited(_set("nodes.1.params.depth", 2)), "depth"),
    ("parameter of the wrong kind", edited(_set("nodes.1.params.width", "wide")), "width"),
    ("position of one number", edited(_set("nodes.1.position", [1])), "position"),
    ("position of strings", edited(_set("nodes.1.position", ["a", "b"])), "position"),
    ("label a number", edited(_set("nodes.1.label", 3)), "label"),
    ("edges an object", edited(_set("edges", {})), "edges"),
    ("edge to a missing node", edited(_set("edges.1.to", ["ghost", "in"])), "ghost"),
    ("edge to a missing port", edited(_set("edges.1.to", ["pool", "side"])), "side"),
    ("edge from a missing port", edited(_set("edges.1.from", ["block", "extra"])), "extra"),
    ("edge of the wrong shape", edited(_set("edges.1.from", ["block"])), "edges[1]"),
    ("edge with an unknown field", edited(_set("edges.1.via", "x")), "via"),
    ("duplicate edge", edited(lambda d: d["edges"].append(dict(d["edges"][1]))), "edges[5]"),
    ("a second edge into one port", edited(lambda d: d["edges"].append(
        {"from": ["input", "out"], "to": ["pool", "in"]})), "already fed"),
    ("a cycle", edited(_cycle), "cycle"),
    ("no input specification", edited(_delete("input")), "input"),
    ("input channels a string", edited(_set("input.channels", "3")), "input.channels"),
    ("input channels zero", edited(_set("input.channels", 0)), "channels"),
    ("input classes enormous", edited(_set("input.classes", 10 ** 20)), "classes"),
    ("an unknown top-level field", edited(_set("extra", 1)), "unknown field"),
    ("a key twice in one object",
     raw(lambda: text(BASE).replace(b'"name": "base"', b'"name": "a", "name": "b"')),
     "appears twice"),
    ("a lone surrogate in the name", edited(_set("name", "ba\ud800se")),
     "surrogate"),
    ("a lone surrogate in a label", edited(_set("nodes.2.label", "\udfff")),
     "surrogate"),
    ("a lone surrogate in a description", edited(_set("blocks.0.description", "conv \ud83d relu")),
     "surrogate"),
    ("a lone surrogate in a key", edited(_set("training.l\ud800r", 0.1)), "surrogate"),
    ("training nested 600 deep", edited(_set("training.schedule", deep(600))), "training"),
    ("training nested 40 deep", edited(_set("training.schedule", deep(40, key=None))), "training"),
    ("parameters nested 600 deep", edited(_set("nodes.1.params.width", deep(600, key=None))),
     "nested"),
    ("a name nested 100 deep", edited(_set("name", deep(100))), "name"),
    ("arrays nested 100,000 deep", raw(lambda: b"[" * 100_000 + b"]" * 100_000), "nested"),
    ("two million nodes that are numbers", edited(_set("nodes", [0] * 2_000_000)), "nodes[0]"),
    ("a position of a million numbers", edited(_set("nodes.1.position", [0.5] * 1_000_000)),
     "position"),
    ("blocks an object", edited(_set("blocks", {})), "blocks"),
    ("a block without an Output node", edited(_without_block_output), "Output"),
    ("a block parameter of an unknown kind", edited(_set("blocks.0.params.0.kind", "tensor")),
     "kind"),
    ("a block parameter default out of bounds", edited(_set("blocks.0.params.0.default", 99)),
     "default"),
    ("a block type id empty", edited(_set("blocks.0.type", " ")), "empty"),
    ("a block type id of the catalogue", edited(lambda d: (
        _set("blocks.0.type", "conv2d")(d), _set("nodes.1.type", "conv2d")(d))[0]), "conv2d"),
    ("a block containing itself", edited(_set("blocks.0.nodes.1.type", "unit")), "unit"),
    ("a block body referring to an unknown parameter", edited(
        _set("blocks.0.nodes.1.params.out_channels", "$depth")), "$depth"),
    ("a top-level reference to an unknown name", edited(
        _set("nodes.4.params.out_features", "$labels")), "$labels"),
    ("an edge into an Input node", edited(lambda d: d["edges"].append(
        {"from": ["fc", "out"], "to": ["input", "in"]})), "input"),
    ("custom blocks nested 40 deep", nested_blocks(40), "32 levels"),
    ("custom blocks nested 300 deep", nested_blocks(300), "32 levels"),
]
