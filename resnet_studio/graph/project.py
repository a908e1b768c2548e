"""Project files: the document as JSON, with a format version.

Writing goes through a plain intermediate dict (``to_dict``) so that save → load → save gives
the same bytes. Reading validates every field and raises ProjectFileError naming the file
and the place in it (``nodes[3].params.stride``) instead of letting a traceback through.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .custom import BlockDefinition
from .document import Graph, InputSpec
from .errors import GraphError, ProjectFileError
from .schema import PARAM_KINDS, ParamSpec, SpecLookup

FORMAT_VERSION = 1
SUFFIX = ".rstudio.json"


# ----- writing ---------------------------------------------------------------------------------
def to_dict(graph: Graph) -> dict[str, Any]:
    data: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": graph.name,
                            "input": graph.input_spec.env()}
    data.update(_body_to_dict(graph))
    if graph.definitions:
        data["blocks"] = [_definition_to_dict(d) for d in graph.definitions.values()]
    if graph.training is not None:
        data["training"] = graph.training
    return data


def _body_to_dict(graph: Graph) -> dict[str, Any]:
    nodes = []
    for n in graph:
        entry: dict[str, Any] = {"id": n.id, "type": n.type_id, "position": list(n.position)}
        if n.label:
            entry["label"] = n.label
        entry["params"] = dict(n.params)
        nodes.append(entry)
    edges = [{"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]} for e in graph.edges]
    return {"nodes": nodes, "edges": edges}


def _definition_to_dict(d: BlockDefinition) -> dict[str, Any]:
    data = {"type": d.type_id, "name": d.name, "description": d.description,
            "params": [p.to_json() for p in d.params]}
    data.update(_body_to_dict(d.graph))
    return data


def dumps(graph: Graph) -> str:
    return json.dumps(to_dict(graph), indent=2, ensure_ascii=False) + "\n"


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write atomically: a crash mid-save leaves the previous file intact."""
    write_text_atomic(Path(path), dumps(graph))


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----- reading ---------------------------------------------------------------------------------
def load(path: str | os.PathLike, lookup: SpecLookup) -> Graph:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectFileError(name, "no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(name, f"cannot be read ({exc}).") from None
    return loads(text, lookup, name)


def loads(text: str, lookup: SpecLookup, name: str = "<project>") -> Graph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            name, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file may be truncated or damaged.") from None
    return from_dict(data, lookup, name)


def from_dict(data: Any, lookup: SpecLookup, name: str = "<project>") -> Graph:
    reader = _Reader(name)
    try:
        return reader.project(data, lookup)
    except ProjectFileError:
        raise
    except GraphError as exc:
        raise ProjectFileError(name, f"{reader.where()}: {exc}") from None


class _Reader:
    """Walks the JSON keeping track of where it is, for error messages."""

    def __init__(self, name: str):
        self.name = name
        self.path: list[str] = []

    def where(self) -> str:
        return "".join(self.path).lstrip(".") or "top level"

    def fail(self, message: str) -> ProjectFileError:
        return ProjectFileError(self.name, f"{self.where()}: {message}")

    def get(self, obj: dict, key: str, kind: type | tuple, default: Any = ...) -> Any:
        if key not in obj:
            if default is ...:
                raise self.fail(f"missing field ‘{key}’.")
            return default
        value = obj[key]
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            expected = _kind_name(kind)
            self.path.append(f".{key}")
            raise self.fail(f"expected {expected}, found {json.dumps(value)[:40]}.")
        return value

    def project(self, data: Any, lookup: SpecLookup) -> Graph:
        if not isinstance(data, dict):
            raise self.fail("a project file must hold a JSON object.")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise self.fail(
                f"format_version {json.dumps(version)} is not supported; this version of ResNet "
                f"Studio reads format_version {FORMAT_VERSION}. Open it with the version that wrote it.")
        graph = Graph(lookup, name=self.get(data, "name", str, ""))
        graph.input_spec = self.input_spec(self.get(data, "input", dict))
        for i, entry in enumerate(self.get(data, "blocks", list, [])):
            self.path.append(f".blocks[{i}]")
            graph.add_definition(self.definition(entry, graph))
            self.path.pop()
        self.body(data, graph)
        graph.topological_order()
        training = self.get(data, "training", dict, None)
        graph.training = training
        return graph

    def input_spec(self, obj: dict) -> InputSpec:
        self.path.append(".input")
        values = {k: self.get(obj, k, int) for k in ("channels", "height", "width", "classes")}
        spec = InputSpec(**values)
        spec.validate()
        self.path.pop()
        return spec

    def body(self, data: dict, graph: Graph) -> None:
        for i, entry in enumerate(self.get(data, "nodes", list)):
            self.path.append(f".nodes[{i}]")
            self.node(entry, graph)
            self.path.pop()
        for i, entry in enumerate(self.get(data, "edges", list)):
            self.path.append(f".edges[{i}]")
            self.edge(entry, graph)
            self.path.pop()

    def node(self, entry: Any, graph: Graph) -> None:
        if not isinstance(entry, dict):
            raise self.fail("each node must be a JSON object.")
        node_id = self.get(entry, "id", str)
        type_id = self.get(entry, "type", str)
        position = self.get(entry, "position", list)
        if len(position) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                          for v in position):
            raise self.fail("position must be two numbers [x, y].")
        params = self.get(entry, "params", dict, {})
        label = self.get(entry, "label", str, "")
        if graph.spec(type_id) is None:
            raise self.fail(f"node ‘{node_id}’ has unknown block type ‘{type_id}’ "
                            "(written by a newer version, or a custom block whose definition is missing).")
        graph.add_node(type_id, params, (position[0], position[1]), node_id, label)

    def edge(self, entry: Any, graph: Graph) -> None:
        if not isinstance(entry, dict):
            raise self.fail("each edge must be a JSON object.")
        ends = [self.get(entry, key, list) for key in ("from", "to")]
        if not all(len(end) == 2 and all(isinstance(v, str) for v in end) for end in ends):
            raise self.fail("an edge's ‘from’ and ‘to’ must each be [node id, port name].")
        for node_id, _ in ends:
            if node_id not in graph.nodes:
                raise self.fail(f"edge refers to node ‘{node_id}’, which does not exist (dangling edge).")
        (src, sp), (dst, dp) = ends
        graph.connect(src, sp, dst, dp)

    def definition(self, entry: Any, root: Graph) -> BlockDefinition:
        if not isinstance(entry, dict):
            raise self.fail("each block definition must be a JSON object.")
        type_id = self.get(entry, "type", str)
        params = tuple(self.param(p, i) for i, p in enumerate(self.get(entry, "params", list, [])))
        body = Graph(root)
        self.body(entry, body)
        definition = BlockDefinition(type_id, self.get(entry, "name", str, type_id), body, params,
                                     self.get(entry, "description", str, ""))
        definition.check()
        return definition

    def param(self, entry: Any, index: int) -> ParamSpec:
        self.path.append(f".params[{index}]")
        if not isinstance(entry, dict):
            raise self.fail("each parameter must be a JSON object.")
        kind = self.get(entry, "kind", str)
        if kind not in PARAM_KINDS:
            raise self.fail(f"unknown parameter kind ‘{kind}’ (expected one of {', '.join(PARAM_KINDS)}).")
        spec = ParamSpec(self.get(entry, "name", str), kind, entry.get("default"),
                         self.get(entry, "help", str, ""),
                         self.get(entry, "minimum", (int, float), None),
                         self.get(entry, "maximum", (int, float), None),
                         tuple(self.get(entry, "choices", list, [])))
        spec.validate(spec.default, f"block parameter ‘{spec.name}’")
        self.path.pop()
        return spec


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list",
             dict: "an object", bool: "true or false"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)
