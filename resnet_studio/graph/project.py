"""Project files: the document as JSON, with a format version.

Writing goes through a plain intermediate dict (``to_dict``) so that save → load → save gives
the same bytes. Reading validates every field and raises ProjectFileError naming the file
and the place in it (``nodes[3].params.stride``) instead of letting a traceback through.
Missing parameters are filled with their defaults when reading (and written from then on), so
a file written by hand may leave them out. Fields this version does not know are refused:
they would otherwise be dropped silently by the next save.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..files import write_text_atomic
from ..locks import LockBusy, describe, hold
from .custom import BlockDefinition
from .document import Graph, InputSpec
from .errors import (
    CycleError,
    DuplicateNodeError,
    GraphError,
    InvalidModulePathError,
    InvalidNodeIdError,
    ParameterError,
    ProjectFileError,
)
from .project_guards import (
    JSONConstant,
    check_tree,
    no_constant,
    read_regular,
)
from .schema import PARAM_KINDS, ParamSpec, SpecLookup, is_param_name, reference_name
from .text import surrogate_at, visible

FORMAT_VERSION = 1
SUFFIX = ".rstudio.json"
LOCK_HINT = "close it there, or save under another name"

_TOP_FIELDS = ("format_version", "name", "input", "nodes", "edges", "blocks", "training")
_INPUT_FIELDS = ("channels", "height", "width", "classes")
_NODE_FIELDS = ("id", "type", "position", "label", "module", "params")
_EDGE_FIELDS = ("from", "to")
_BLOCK_FIELDS = ("type", "name", "description", "params", "nodes", "edges")
_PARAM_FIELDS = ("name", "kind", "default", "help", "minimum", "maximum", "choices")


# ----- writing ---------------------------------------------------------------------------------
def to_dict(graph: Graph) -> dict[str, Any]:
    """The project as plain JSON-ready data (a fresh structure the caller may change)."""
    data: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": graph.name,
                            "input": graph.input_spec.env()}
    data.update(_body_to_dict(graph))
    if graph.definitions:
        data["blocks"] = [_definition_to_dict(d) for d in _definitions_in_order(graph)]
    if graph.training is not None:
        data["training"] = copy.deepcopy(graph.training)
    return data


def _body_to_dict(graph: Graph) -> dict[str, Any]:
    nodes = []
    for n in graph:
        entry: dict[str, Any] = {"id": n.id, "type": n.type_id, "position": list(n.position)}
        if n.label:
            entry["label"] = n.label
        if n.module:  # written only when set, so files without module paths are unchanged
            entry["module"] = n.module
        entry["params"] = dict(n.params)
        nodes.append(entry)
    edges = [{"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]} for e in graph.edges]
    return {"nodes": nodes, "edges": edges}


def _definition_to_dict(d: BlockDefinition) -> dict[str, Any]:
    data = {"type": d.type_id, "name": d.name, "description": d.description,
            "params": [p.to_json() for p in d.params]}
    data.update(_body_to_dict(d.graph))
    return data


def _definitions_in_order(graph: Graph) -> list[BlockDefinition]:
    """Definitions with every block used inside another written before it, since a reader
    only knows the blocks defined above the one it reads."""
    ordered: dict[str, BlockDefinition] = {}

    def visit(type_id: str, trail: frozenset[str]) -> None:
        definition = graph.definitions.get(type_id)
        if definition is None or type_id in ordered or type_id in trail:
            return
        for node in definition.graph:
            visit(node.type_id, trail | {type_id})
        ordered[type_id] = definition

    for type_id in graph.definitions:
        visit(type_id, frozenset())
    return list(ordered.values())


def dumps(graph: Graph) -> str:
    return json.dumps(to_dict(graph), indent=2, ensure_ascii=False) + "\n"


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write atomically: a crash mid-save leaves the previous file intact. The file's lock
    (``locks.hold``) is taken for the write: a project another process has open for editing,
    or is writing, is refused, naming that process."""
    text = dumps(graph)
    index = surrogate_at(text)
    if index is not None:
        raise ProjectFileError(str(path), "cannot be written: a name or description holds a "
                               f"lone surrogate (\\u{ord(text[index]):04x}), which UTF-8 cannot "
                               "store.")
    try:
        with hold(path, hint=LOCK_HINT, directory=False):
            write_text_atomic(Path(path), text)
    except LockBusy as exc:
        raise ProjectFileError(str(path), f"cannot be written: it is open in "
                               f"{describe(exc.holder)}; {LOCK_HINT}.") from None
    except OSError as exc:
        raise ProjectFileError(str(path), f"cannot be written ({exc.strerror or exc}).") from None


# ----- reading ---------------------------------------------------------------------------------
def load(path: str | os.PathLike, lookup: SpecLookup) -> Graph:
    """Read a project file; every problem raises ProjectFileError naming the file.

    Only a regular file (or a link to one) of at most MAX_FILE_BYTES is read: a FIFO would
    block forever and a device such as /dev/zero never ends."""
    name = str(path)
    try:
        raw = read_regular(Path(path), name)
    except FileNotFoundError:
        raise ProjectFileError(name, "no such file.") from None
    except IsADirectoryError:
        raise ProjectFileError(name, "is a directory, not a project file.") from None
    except OSError as exc:
        raise ProjectFileError(name, f"cannot be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the byte-order mark some editors write
    except UnicodeDecodeError as exc:
        raise ProjectFileError(
            name, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "a project file is JSON written in UTF-8.") from None
    return loads(text, lookup, name)


def loads(text: str, lookup: SpecLookup, name: str = "<project>") -> Graph:
    if not text.strip():
        raise ProjectFileError(name, "is empty; a project file holds a JSON object.")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            name, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file may be truncated or damaged.") from None
    except _DuplicateKey as exc:
        raise ProjectFileError(name, f"the key ‘{visible(exc.key)}’ appears twice in one JSON "
                               "object; the file is damaged or was edited by hand.") from None
    except JSONConstant as exc:
        raise ProjectFileError(name, f"holds {exc.args[0]}, which JSON does not allow; numbers "
                               "in a project file are finite.") from None
    except RecursionError:
        raise ProjectFileError(name, "is nested too deeply to be a project file.") from None
    except ValueError as exc:  # Python's limit on the digits of an integer read from text
        raise ProjectFileError(name, f"holds a number too long to read ({exc}).") from None
    check_tree(data, name)
    return from_dict(data, lookup, name)


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def from_dict(data: Any, lookup: SpecLookup, name: str = "<project>") -> Graph:
    """Build a graph from ``to_dict``'s form; ``name`` is the file named in errors."""
    reader = _Reader(name)
    try:
        return reader.project(data, lookup)
    except ProjectFileError:
        raise
    except GraphError as exc:
        raise ProjectFileError(name, f"{reader.where()}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # Every case the reader knows of is reported above; this keeps the promise of a
        # ProjectFileError for a case it does not.
        raise ProjectFileError(name, f"{reader.where()}: cannot be read "
                               f"({type(exc).__name__}: {exc}).") from None


class _Reader:
    """Walks the JSON keeping track of where it is, for error messages."""

    def __init__(self, name: str):
        self.name = name
        self.path: list[str] = []

    def where(self) -> str:
        return "".join(self.path).lstrip(".") or "top level"

    def fail(self, message: str) -> ProjectFileError:
        return ProjectFileError(self.name, f"{self.where()}: {message}")

    @contextmanager
    def at(self, segment: str) -> Iterator[None]:
        """Descend into ``segment``; on an error the path stays where the error was."""
        self.path.append(segment)
        yield
        self.path.pop()

    def get(self, obj: dict, key: str, kind: type | tuple, default: Any = ...) -> Any:
        if key not in obj:
            if default is ...:
                raise self.fail(f"missing field ‘{key}’.")
            return default
        value = obj[key]
        if not _is_kind(value, kind):
            self.path.append(f".{key}")
            raise self.fail(f"expected {_kind_name(kind)}, found {_show(value)}.")
        return value

    def object(self, value: Any, what: str, fields: tuple[str, ...]) -> dict:
        """``value`` as a JSON object holding only ``fields``."""
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be a JSON object, found {_show(value)}.")
        unknown = [k for k in value if k not in fields]
        if unknown:
            raise self.fail(f"unknown field ‘{unknown[0]}’ in {what} "
                            f"(known fields: {', '.join(fields)}).")
        return value

    # ----- the project ---------------------------------------------------------------------------
    def project(self, data: Any, lookup: SpecLookup) -> Graph:
        if not isinstance(data, dict):
            raise self.fail(f"a project file must hold a JSON object, found {_show(data)}.")
        self.version(data)
        self.object(data, "a project", _TOP_FIELDS)
        graph = Graph(lookup, name=self.get(data, "name", str, ""))
        graph.input_spec = self.input_spec(self.get(data, "input", dict))
        for i, entry in enumerate(self.get(data, "blocks", list, [])):
            with self.at(f".blocks[{i}]"):
                graph.add_definition(self.definition(entry, graph))
        self.body(data, graph)
        graph.training = self.get(data, "training", dict, None)
        return graph

    def version(self, data: dict) -> None:
        supported = f"this version of ResNet Studio reads format_version {FORMAT_VERSION}"
        if "format_version" not in data:
            raise self.fail(f"missing field ‘format_version’; {supported}.")
        version = data["format_version"]
        self.path.append(".format_version")
        if type(version) is not int:
            raise self.fail(f"expected an integer, found {_show(version)}; {supported}.")
        if version != FORMAT_VERSION:
            newer = " (the file was written by a newer version)" if version > FORMAT_VERSION else ""
            raise self.fail(f"{version} is not supported{newer}; {supported}.")
        self.path.pop()

    def input_spec(self, obj: dict) -> InputSpec:
        with self.at(".input"):
            self.object(obj, "the input specification", _INPUT_FIELDS)
            spec = InputSpec(**{k: self.get(obj, k, int) for k in _INPUT_FIELDS})
            try:
                spec.validate()
            except ParameterError as exc:
                self.path.append(f".{exc.param}")
                raise self.fail(str(exc)) from None
        return spec

    def body(self, data: dict, graph: Graph) -> None:
        for i, entry in enumerate(self.get(data, "nodes", list)):
            with self.at(f".nodes[{i}]"):
                self.node(entry, graph)
        edges = self.get(data, "edges", list)
        for i, entry in enumerate(edges):
            with self.at(f".edges[{i}]"):
                self.edge(entry, graph, check_cycle=False)
        try:
            graph.topological_order()  # one linear check instead of a search per edge
        except CycleError:
            graph.edges = []  # replay with a search per edge to name the edge closing the loop
            for i, entry in enumerate(edges):
                with self.at(f".edges[{i}]"):
                    self.edge(entry, graph)

    # ----- nodes and edges -----------------------------------------------------------------------
    def node(self, entry: Any, graph: Graph) -> None:
        self.object(entry, "a node", _NODE_FIELDS)
        node_id = self.get(entry, "id", str)
        type_id = self.get(entry, "type", str)
        position = self.position(entry)
        params = self.get(entry, "params", dict, {})
        label = self.get(entry, "label", str, "")
        module = self.get(entry, "module", str, "")
        if graph.spec(type_id) is None:
            self.path.append(".type")
            raise self.fail(f"node ‘{node_id}’ has unknown block type ‘{type_id}’ (written by a "
                            "newer version, or a custom block whose definition is missing).")
        try:
            graph.add_node(type_id, params, position, node_id, label, module=module)
        except (InvalidNodeIdError, DuplicateNodeError) as exc:
            self.path.append(".id")
            raise self.fail(str(exc)) from None
        except InvalidModulePathError as exc:
            self.path.append(".module")
            raise self.fail(str(exc)) from None
        except ParameterError as exc:
            self.path.append(f".params.{exc.param}")
            raise self.fail(str(exc)) from None
        if not graph.is_block_body():
            self.references(params, graph.input_spec.env())

    def position(self, entry: dict) -> tuple[float, float]:
        position = self.get(entry, "position", list)
        if len(position) != 2 or not all(_is_finite_number(v) for v in position):
            self.path.append(".position")
            raise self.fail(f"expected two finite numbers [x, y], found {_show(position)}.")
        return (position[0], position[1])

    def references(self, params: dict, env: dict[str, Any]) -> None:
        """Top-level parameters may refer only to the input specification."""
        for key, value in params.items():
            ref = reference_name(value)
            if ref is not None and ref not in env:
                self.path.append(f".params.{key}")
                defined = ", ".join(f"${k}" for k in env)
                raise self.fail(
                    f"refers to ${ref}, which is not defined here (defined: {defined}).")

    def edge(self, entry: Any, graph: Graph, check_cycle: bool = True) -> None:
        self.object(entry, "an edge", _EDGE_FIELDS)
        ends = [self.get(entry, key, list) for key in _EDGE_FIELDS]
        if not all(len(end) == 2 and all(isinstance(v, str) for v in end) for end in ends):
            raise self.fail("an edge's ‘from’ and ‘to’ must each be [node id, port name].")
        for node_id, _ in ends:
            if node_id not in graph.nodes:
                raise self.fail(
                    f"edge refers to node ‘{node_id}’, which does not exist (dangling edge).")
        (src, sp), (dst, dp) = ends
        graph.connect(src, sp, dst, dp, check_cycle=check_cycle)

    # ----- custom block definitions --------------------------------------------------------------
    def definition(self, entry: Any, root: Graph) -> BlockDefinition:
        self.object(entry, "a block definition", _BLOCK_FIELDS)
        type_id = self.get(entry, "type", str)
        if not type_id.strip():
            self.path.append(".type")
            raise self.fail("a block type id may not be empty.")
        params = tuple(self.param(p, i) for i, p in enumerate(self.get(entry, "params", list, [])))
        body = Graph(root)
        self.body(entry, body)
        definition = BlockDefinition(type_id, self.get(entry, "name", str, type_id), body, params,
                                     self.get(entry, "description", str, ""))
        definition.check()
        return definition

    def param(self, entry: Any, index: int) -> ParamSpec:
        with self.at(f".params[{index}]"):
            self.object(entry, "a block parameter", _PARAM_FIELDS)
            name = self.get(entry, "name", str)
            if not is_param_name(name):
                self.path.append(".name")
                raise self.fail(f"‘{name}’ cannot name a parameter: use letters, digits and "
                                "underscores, not starting with a digit.")
            kind = self.get(entry, "kind", str)
            if kind not in PARAM_KINDS:
                self.path.append(".kind")
                raise self.fail(f"unknown parameter kind ‘{kind}’ (expected one of "
                                f"{', '.join(PARAM_KINDS)}).")
            if "default" not in entry:
                raise self.fail("missing field ‘default’.")
            low, high = self.bound(entry, "minimum", kind), self.bound(entry, "maximum", kind)
            if low is not None and high is not None and low > high:
                raise self.fail(f"minimum {_show(low)} is greater than maximum {_show(high)}.")
            spec = ParamSpec(name, kind, entry["default"], self.get(entry, "help", str, ""),
                             low, high, self.choices(entry, kind))
            spec = replace(spec, default=self.default(spec))
        return spec

    def bound(self, entry: dict, key: str, kind: str) -> float | None:
        value = self.get(entry, key, (int, float), None)
        if value is None:
            return None
        self.path.append(f".{key}")
        if kind not in ("int", "float"):
            raise self.fail(f"a {kind} parameter has no {key}.")
        if not _is_finite_number(value):
            raise self.fail(f"expected a finite number, found {_show(value)}.")
        self.path.pop()
        return value

    def choices(self, entry: dict, kind: str) -> tuple[Any, ...]:
        choices = self.get(entry, "choices", list, [])
        self.path.append(".choices")
        if kind == "choice" and not choices:
            raise self.fail("a choice parameter needs at least one choice.")
        if kind in ("bool", "float") and choices:
            raise self.fail(f"a {kind} parameter has no choices.")
        allowed = (str,) if kind == "int" else (str, int, float, bool)
        for value in choices:
            if not isinstance(value, allowed):
                what = "strings" if kind == "int" else "strings, numbers or true/false"
                raise self.fail(f"choices must be {what}, found {_show(value)}.")
        self.path.pop()
        return tuple(choices)

    def default(self, spec: ParamSpec) -> Any:
        self.path.append(".default")
        try:
            value = spec.validate(spec.default, "default")
        except ParameterError:
            raise self.fail(f"{_show(spec.default)} is not allowed; expected "
                            f"{spec.bounds_text()}.") from None
        if reference_name(value) is not None:
            raise self.fail(f"a default must be a value, not a reference ({value}).")
        self.path.pop()
        return value


def _is_kind(value: Any, kind: type | tuple) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:  # JSON true is no number
        return False
    return isinstance(value, kinds)


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _show(value: Any) -> str:
    """A short JSON rendering of ``value`` for messages."""
    if isinstance(value, list) and len(value) > 8:  # a huge list: render only its start
        return _show(value[:8])[:-1][:37] + "…"
    if isinstance(value, dict) and len(value) > 8:
        return _show(dict(list(value.items())[:8]))[:37] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return visible(text) if len(text) <= 40 else visible(text[:37]) + "…"


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list",
             dict: "an object", bool: "true or false"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)
