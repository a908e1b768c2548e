"""Project files: writing, reading, byte-stable round trips, atomic saves, and a readable
ProjectFileError for every kind of damage."""

from __future__ import annotations

import copy
import json
import os
import stat

import pytest
from graph_fakes import CATALOGUE, add, chain_graph, link, new_graph, structure

from resnet_studio.graph import (
    BlockDefinition,
    Graph,
    InputSpec,
    ProjectFileError,
    collapse,
    project,
)

BASE: dict = {
    "format_version": 1,
    "name": "tiny",
    "input": {"channels": 3, "height": 8, "width": 8, "classes": 10},
    "nodes": [
        {"id": "input", "type": "input", "position": [0.0, 0.0], "params": {}},
        {"id": "c1", "type": "conv", "position": [0.0, 100.0], "params": {"out_channels": 8}},
        {"id": "u1", "type": "custom.unit", "position": [0.0, 200.0], "params": {"width": 4}},
        {"id": "output", "type": "output", "position": [0.0, 300.0], "params": {}},
    ],
    "edges": [
        {"from": ["input", "out"], "to": ["c1", "in"]},
        {"from": ["c1", "out"], "to": ["u1", "in"]},
        {"from": ["u1", "out"], "to": ["output", "in"]},
    ],
    "blocks": [{
        "type": "custom.unit", "name": "Unit", "description": "",
        "params": [{"name": "width", "kind": "int", "default": 8, "minimum": 1, "maximum": 4096}],
        "nodes": [
            {"id": "in", "type": "input", "position": [0.0, 0.0], "params": {}},
            {"id": "conv", "type": "conv", "position": [0.0, 100.0],
             "params": {"out_channels": "$width"}},
            {"id": "output", "type": "output", "position": [0.0, 200.0], "params": {}},
        ],
        "edges": [{"from": ["in", "out"], "to": ["conv", "in"]},
                  {"from": ["conv", "out"], "to": ["output", "in"]}],
    }],
    "training": {"epochs": 2},
}


def write(tmp_path, data, name="net.rstudio.json"):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def load_error(path) -> str:
    with pytest.raises(ProjectFileError) as info:
        project.load(path, CATALOGUE)
    return str(info.value)


def rich_graph() -> Graph:
    """Custom blocks (one nested in another), labels, awkward floats, unicode, training."""
    g = Graph(CATALOGUE, InputSpec(1, 28, 28, 10), name="Réseau ✓ 神经")
    for node_id, type_id, params, position in [
            ("input", "input", {}, (0.1, 1e-7)),
            ("stem", "conv", {"padding": "same"}, (-3.5, 2.25)),
            ("c1", "conv", {"out_channels": 16}, (1e300, -0.0)), ("r1", "relu", {}, (0.5, 1.5)),
            ("sum", "add", {}, (2.0, 3.0)), ("drop", "dropout", {"p": 0.1}, (4.0, 5.0)),
            ("flat", "flatten", {}, (6.0, 7.0)),
            ("fc", "linear", {"out_features": "$classes"}, (8.0, 9.0)),
            ("output", "output", {}, (10.0, 11.0))]:
        g.add_node(type_id, params, position, node_id)
    link(g, "input", "stem", "c1", "r1", "sum", "drop", "flat", "fc", "output")
    g.connect("stem", "out", "sum", "in")
    g.set_label("c1", "Ünïcødé ブロック")
    g.set_label("fc", 'say "hi" \\ bye')
    _, inner = collapse(g, ["c1", "r1"], "Inner ✓", exposed={"width": [("c1", "out_channels")]})
    collapse(g, [inner, "sum"], "Outer")
    g.training = {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}, "epochs": 3,
                  "augment": ["flip", "crop"], "note": "ü", "clip": None}
    return g


# ----- writing ---------------------------------------------------------------------------------
def test_to_dict_writes_the_documented_fields():
    g = chain_graph("conv")
    g.set_label("n0", "stem")
    data = project.to_dict(g)
    assert list(data) == ["format_version", "name", "input", "nodes", "edges"]
    assert data["format_version"] == project.FORMAT_VERSION == 1
    assert data["input"] == {"channels": 3, "height": 32, "width": 32, "classes": 10}
    assert data["nodes"][1] == {"id": "n0", "type": "conv", "position": [0.0, 100.0],
                                "label": "stem",
                                "params": {"out_channels": 8, "kernel_size": 3, "padding": 1,
                                           "bias": True}}
    assert "label" not in data["nodes"][0]
    assert data["edges"][0] == {"from": ["input", "out"], "to": ["n0", "in"]}


def test_to_dict_returns_data_the_caller_may_change():
    g = rich_graph()
    data = project.to_dict(g)
    data["nodes"][1]["params"]["padding"] = 0
    data["training"]["optimizer"]["lr"] = 99
    data["blocks"][0]["nodes"][0]["params"]["x"] = 1
    assert g.node("stem").params["padding"] == "same" and g.training["optimizer"]["lr"] == 0.1
    assert project.to_dict(g) == project.to_dict(rich_graph())


def test_save_load_save_gives_identical_bytes(tmp_path):
    g = rich_graph()
    first, second = tmp_path / "a.rstudio.json", tmp_path / "b.rstudio.json"
    project.save(g, first)
    loaded = project.load(first, CATALOGUE)
    project.save(loaded, second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8") == project.dumps(g)
    assert "Réseau ✓ 神经" in first.read_text(encoding="utf-8")  # written as text, not \u escapes
    assert structure(loaded) == structure(g)
    assert {n.id: (n.position, n.label) for n in loaded} == {n.id: (n.position, n.label) for n in g}
    assert loaded.training == g.training and loaded.name == g.name
    assert loaded.node("input").position == (0.1, 1e-7)
    assert [structure(d.graph) for d in loaded.definitions.values()] == \
        [structure(d.graph) for d in g.definitions.values()]


def test_loads_of_dumps_round_trips_without_a_file():
    g = rich_graph()
    assert project.dumps(project.loads(project.dumps(g), CATALOGUE)) == project.dumps(g)


def test_missing_parameters_are_filled_and_the_first_save_is_stable(tmp_path):
    data = copy.deepcopy(BASE)
    data["nodes"][1] = {"id": "c1", "type": "conv", "position": [0, 100]}  # no params, int position
    data["blocks"][0]["nodes"][1]["params"] = {"out_channels": "$width", "kernel_size": 5.0}
    hand = write(tmp_path, data, "hand.rstudio.json")
    loaded = project.load(hand, CATALOGUE)
    assert loaded.node("c1").params == {"out_channels": 8, "kernel_size": 3, "padding": 1,
                                        "bias": True}
    assert loaded.node("c1").position == (0.0, 100.0)
    first, second = tmp_path / "1.rstudio.json", tmp_path / "2.rstudio.json"
    project.save(loaded, first)
    project.save(project.load(first, CATALOGUE), second)
    assert first.read_bytes() == second.read_bytes()
    assert '"kernel_size": 5,' in first.read_text()


def test_definitions_are_written_before_the_blocks_that_use_them(tmp_path):
    g = chain_graph("relu", "relu")
    first, _ = collapse(g, ["n0"], "First")
    second, _ = collapse(g, ["n1"], "Second")
    first.graph.add_node(second.type_id, node_id="late")  # First now uses Second
    data = project.to_dict(g)
    assert [b["type"] for b in data["blocks"]] == [second.type_id, first.type_id]
    loaded = project.loads(project.dumps(g), CATALOGUE)
    assert loaded.definitions[first.type_id].graph.node("late").type_id == second.type_id


# ----- atomic saves ----------------------------------------------------------------------------
def test_a_failing_serialisation_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "net.rstudio.json"
    g = chain_graph("conv")
    project.save(g, path)
    before = path.read_bytes()
    g.training = {"seen": {1, 2}}  # a set is not JSON
    with pytest.raises(TypeError):
        project.save(g, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failing_write_leaves_the_previous_file_intact(tmp_path, monkeypatch, failing):
    path = tmp_path / "net.rstudio.json"
    project.save(chain_graph("conv"), path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project.os, failing, broken)
    with pytest.raises(ProjectFileError) as info:
        project.save(chain_graph("relu"), path)
    assert str(info.value) == f"{path}: cannot be written (No space left on device)."
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_write_text_atomic_replaces_content_and_keeps_permissions(tmp_path):
    path = tmp_path / "sub" / "model.py"
    project.write_text_atomic(path, "first ✓\n")
    assert path.read_bytes() == "first ✓\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()  # not mkstemp's 0600
    path.chmod(0o640)
    project.write_text_atomic(str(path), "second\r\n")
    assert path.read_bytes() == b"second\r\n"  # no newline translation
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(path.parent)) == ["model.py"]


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def test_write_text_atomic_refuses_unencodable_text_before_touching_the_file(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        project.write_text_atomic(path, "lone surrogate \ud800")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["x.txt"]


def test_saving_onto_a_directory_is_a_project_file_error(tmp_path):
    with pytest.raises(ProjectFileError, match="cannot be written"):
        project.save(chain_graph("conv"), tmp_path)


# ----- reading: files --------------------------------------------------------------------------
def test_the_reference_document_loads(tmp_path):
    g = project.load(write(tmp_path, BASE), CATALOGUE)
    assert list(g.nodes) == ["input", "c1", "u1", "output"]
    assert g.definitions["custom.unit"].graph.node("conv").params["out_channels"] == "$width"
    assert g.training == {"epochs": 2} and g.input_spec == InputSpec(3, 8, 8, 10)


def test_a_byte_order_mark_is_tolerated(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    assert project.load(path, CATALOGUE).name == "tiny"


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty; a project file holds a JSON object."),
    (b"  \n\t", "is empty"),
    (json.dumps(BASE).encode()[:150], "is not valid JSON (line 1, column"),
    (b'{"format_version": 1,}', "is not valid JSON"),
    (b'\xff\xfe{"a": 1}', "is not UTF-8 text (byte 0xff at offset 0)"),
    (b'{"name": "caf\xe9"}', "is not UTF-8 text (byte 0xe9 at offset 13)"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"format_version": 1, "name": "a", "name": "b"}', "the key ‘name’ appears twice"),
])
def test_unreadable_content_is_reported_with_the_file_name(tmp_path, content, problem):
    path = write(tmp_path, content)
    message = load_error(path)
    assert message.startswith(f"{path}: ") and problem in message


def test_a_missing_file_and_a_directory_are_reported(tmp_path):
    missing = tmp_path / "nope.rstudio.json"
    assert load_error(missing) == f"{missing}: no such file."
    assert load_error(tmp_path) == f"{tmp_path}: is a directory, not a project file."


# ----- reading: structure ----------------------------------------------------------------------
def _set(path, value):
    def mutate(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


def _delete(path):
    def mutate(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        del target[last]
    return mutate


def _append(path, *items):
    def mutate(data):
        target = data
        for key in path:
            target = target[key]
        target.extend(copy.deepcopy(items))
    return mutate


def _both(first, second):
    def mutate(data):
        first(data)
        second(data)
    return mutate


def _node(node_id, type_id, **extra):
    return {"id": node_id, "type": type_id, "position": [0.0, 0.0], "params": {}, **extra}


def _edge(src, dst, src_port="out", dst_port="in"):
    return {"from": [src, src_port], "to": [dst, dst_port]}


SUPPORTED = "this version of ResNet Studio reads format_version 1"
MALFORMED = [
    # the whole document and its version
    ("list", lambda d: [1, 2], "top level", "must hold a JSON object, found [1, 2]"),
    ("no version", _delete(["format_version"]), "top level",
     f"missing field ‘format_version’; {SUPPORTED}"),
    ("newer version", _set(["format_version"], 2), "format_version",
     f"2 is not supported (the file was written by a newer version); {SUPPORTED}"),
    ("older version", _set(["format_version"], 0), "format_version",
     f"0 is not supported; {SUPPORTED}"),
    ("string version", _set(["format_version"], "1"), "format_version",
     f'expected an integer, found "1"; {SUPPORTED}'),
    ("float version", _set(["format_version"], 1.0), "format_version",
     "expected an integer, found 1.0"),
    ("bool version", _set(["format_version"], True), "format_version",
     "expected an integer, found true"),
    ("unknown field", _set(["extra"], 1), "top level", "unknown field ‘extra’ in a project"),
    ("name type", _set(["name"], 3), "name", "expected a string, found 3"),
    ("training type", _set(["training"], []), "training", "expected an object, found []"),
    # input specification
    ("no input", _delete(["input"]), "top level", "missing field ‘input’"),
    ("input type", _set(["input"], [3, 8, 8, 10]), "input",
     "expected an object, found [3, 8, 8, 10]"),
    ("input missing", _delete(["input", "classes"]), "input", "missing field ‘classes’"),
    ("input string", _set(["input", "channels"], "3"), "input.channels",
     'expected an integer, found "3"'),
    ("input bool", _set(["input", "height"], True), "input.height",
     "expected an integer, found true"),
    ("input bound", _set(["input", "classes"], 0), "input.classes",
     "0 is not allowed; expected an integer from 1 to 100000"),
    ("input extra", _set(["input", "depth"], 3), "input", "unknown field ‘depth’"),
    # nodes
    ("nodes type", _set(["nodes"], {}), "nodes", "expected a list, found {}"),
    ("no nodes", _delete(["nodes"]), "top level", "missing field ‘nodes’"),
    ("node type", _set(["nodes", 0], 3), "nodes[0]", "a node must be a JSON object, found 3"),
    ("node id type", _set(["nodes", 1, "id"], 5), "nodes[1].id", "expected a string, found 5"),
    ("node id missing", _delete(["nodes", 1, "id"]), "nodes[1]", "missing field ‘id’"),
    ("node id invalid", _set(["nodes", 1, "id"], "1x"), "nodes[1].id",
     "‘1x’ is not a valid node name"),
    ("node id reserved", _set(["nodes", 1, "id"], "forward"), "nodes[1].id", "reserved"),
    ("duplicate id", _set(["nodes", 2, "id"], "c1"), "nodes[2].id", "‘c1’ already exists"),
    ("unknown type", _set(["nodes", 1, "type"], "conv9"), "nodes[1].type",
     "node ‘c1’ has unknown block type ‘conv9’"),
    ("type type", _set(["nodes", 1, "type"], None), "nodes[1].type",
     "expected a string, found null"),
    ("position short", _set(["nodes", 1, "position"], [1]), "nodes[1].position",
     "expected two finite numbers [x, y], found [1]"),
    ("position long", _set(["nodes", 1, "position"], [1, 2, 3]), "nodes[1].position",
     "two finite numbers"),
    ("position text", _set(["nodes", 1, "position"], ["a", 0]), "nodes[1].position",
     'found ["a", 0]'),
    ("position bool", _set(["nodes", 1, "position"], [True, 0]), "nodes[1].position",
     "found [true, 0]"),
    ("position huge", _set(["nodes", 1, "position"], [10 ** 400, 0]), "nodes[1].position",
     "two finite numbers"),
    ("position type", _set(["nodes", 1, "position"], "0,0"), "nodes[1].position",
     "expected a list"),
    ("params type", _set(["nodes", 1, "params"], [1]), "nodes[1].params",
     "expected an object, found [1]"),
    ("param bound", _set(["nodes", 1, "params", "kernel_size"], 0), "nodes[1].params.kernel_size",
     "Conv ‘c1’, parameter ‘kernel_size’: 0 is not allowed; expected an integer from 1 to 31"),
    ("param type", _set(["nodes", 1, "params", "bias"], "yes"), "nodes[1].params.bias",
     "'yes' is not allowed; expected true or false"),
    ("param float", _set(["nodes", 1, "params", "out_channels"], 2.5),
     "nodes[1].params.out_channels", "expected an integer from 1 to 4096"),
    ("param unknown", _set(["nodes", 1, "params", "stride"], 2), "nodes[1].params.stride",
     "Conv has no such parameter"),
    ("param reference", _set(["nodes", 1, "params", "out_channels"], "$depth"),
     "nodes[1].params.out_channels",
     "refers to $depth, which is not defined here (defined: $channels, $height, $width, $classes)"),
    ("block param bound", _set(["nodes", 2, "params", "width"], 0), "nodes[2].params.width",
     "expected an integer from 1 to 4096"),
    ("label type", _set(["nodes", 1, "label"], 7), "nodes[1].label", "expected a string, found 7"),
    ("node extra", _set(["nodes", 1, "colour"], "red"), "nodes[1]",
     "unknown field ‘colour’ in a node"),
    # edges
    ("edges type", _set(["edges"], "none"), "edges", 'expected a list, found "none"'),
    ("edge type", _set(["edges", 0], ["input", "c1"]), "edges[0]", "an edge must be a JSON object"),
    ("edge end", _set(["edges", 0, "from"], ["input"]), "edges[0]",
     "must each be [node id, port name]"),
    ("edge end type", _set(["edges", 0, "to"], "c1.in"), "edges[0].to", "expected a list"),
    ("edge end items", _set(["edges", 0, "to"], [1, "in"]), "edges[0]", "[node id, port name]"),
    ("edge missing", _delete(["edges", 0, "to"]), "edges[0]", "missing field ‘to’"),
    ("dangling", _set(["edges", 1, "to"], ["ghost", "in"]), "edges[1]",
     "edge refers to node ‘ghost’, which does not exist (dangling edge)"),
    ("unknown port", _set(["edges", 1, "from"], ["c1", "y"]), "edges[1]",
     "Node ‘c1’ has no output port ‘y’ (its output ports: out)"),
    ("unknown in port", _set(["edges", 1, "to"], ["u1", "x"]), "edges[1]",
     "Node ‘u1’ has no input port ‘x’ (its input ports: in)"),
    ("duplicate edge", _append(["edges"], _edge("input", "c1")), "edges[3]",
     "is already connected"),
    ("second feed", _append(["edges"], _edge("input", "u1")), "edges[3]", "already fed by ‘c1’"),
    ("cycle", _both(_append(["nodes"], _node("m", "add"), _node("r", "relu")),
                    _append(["edges"], _edge("m", "r"), _edge("r", "m"))), "edges[4]",
     "Connecting ‘r’ to ‘m’ would create a cycle"),
    ("kinds", _both(_append(["nodes"], _node("fc", "linear")),
                    _append(["edges"], _edge("c1", "fc"))),
     "edges[3]", "insert Flatten or global average pooling"),
    ("edge extra", _set(["edges", 0, "via"], []), "edges[0]", "unknown field ‘via’ in an edge"),
    # custom block definitions
    ("blocks type", _set(["blocks"], {}), "blocks", "expected a list, found {}"),
    ("block type", _set(["blocks", 0], "unit"), "blocks[0]",
     "a block definition must be a JSON object"),
    ("block extra", _set(["blocks", 0, "icon"], "x"), "blocks[0]", "unknown field ‘icon’"),
    ("block id", _set(["blocks", 0, "type"], " "), "blocks[0].type", "may not be empty"),
    ("block name", _set(["blocks", 0, "name"], 5), "blocks[0].name", "expected a string, found 5"),
    ("block text", _set(["blocks", 0, "description"], None), "blocks[0].description",
     "expected a string, found null"),
    ("block params type", _set(["blocks", 0, "params"], {}), "blocks[0].params", "expected a list"),
    ("param type", _set(["blocks", 0, "params", 0], "width"), "blocks[0].params[0]",
     'a block parameter must be a JSON object, found "width"'),
    ("block taken id", _set(["blocks", 0, "type"], "conv"), "blocks[0]", "‘conv’ already exists"),
    ("block twice", _append(["blocks"], BASE["blocks"][0]), "blocks[1]",
     "‘custom.unit’ already exists"),
    ("param kind", _set(["blocks", 0, "params", 0, "kind"], "text"), "blocks[0].params[0].kind",
     "unknown parameter kind ‘text’ (expected one of int, float, bool, choice)"),
    ("param default bound", _set(["blocks", 0, "params", 0, "default"], 0),
     "blocks[0].params[0].default", "0 is not allowed; expected an integer from 1 to 4096"),
    ("param default ref", _set(["blocks", 0, "params", 0, "default"], "$width"),
     "blocks[0].params[0].default", "a default must be a value, not a reference"),
    ("param no default", _delete(["blocks", 0, "params", 0, "default"]), "blocks[0].params[0]",
     "missing field ‘default’"),
    ("param name", _set(["blocks", 0, "params", 0, "name"], "2w"), "blocks[0].params[0].name",
     "‘2w’ cannot name a parameter"),
    ("param bounds order", _set(["blocks", 0, "params", 0, "minimum"], 5000), "blocks[0].params[0]",
     "minimum 5000 is greater than maximum 4096"),
    ("param bound type", _set(["blocks", 0, "params", 0, "maximum"], "big"),
     "blocks[0].params[0].maximum", 'expected an integer or a number, found "big"'),
    ("param bound bool", _set(["blocks", 0, "params", 0, "maximum"], True),
     "blocks[0].params[0].maximum", "found true"),
    ("param choices", _set(["blocks", 0, "params", 0], {"name": "m", "kind": "choice",
                                                        "default": "a"}),
     "blocks[0].params[0].choices", "a choice parameter needs at least one choice"),
    ("param choice kinds", _set(["blocks", 0, "params", 0], {"name": "m", "kind": "choice",
                                                             "default": "a", "choices": ["a", {}]}),
     "blocks[0].params[0].choices", "choices must be strings, numbers or true/false, found {}"),
    ("bool bounds", _set(["blocks", 0, "params", 0], {"name": "b", "kind": "bool", "default": True,
                                                      "minimum": 0}),
     "blocks[0].params[0].minimum", "a bool parameter has no minimum"),
    ("param extra", _set(["blocks", 0, "params", 0, "unit"], "px"), "blocks[0].params[0]",
     "unknown field ‘unit’ in a block parameter"),
    ("no output", _both(_delete(["blocks", 0, "nodes", 2]), _delete(["blocks", 0, "edges", 1])),
     "blocks[0]", "Block ‘Unit’ needs exactly one Output node, it has 0"),
    ("no block input", _both(_delete(["blocks", 0, "nodes", 0]),
                             _delete(["blocks", 0, "edges", 0])),
     "blocks[0]", "Block ‘Unit’ has no Input node"),
    ("undefined block ref", _set(["blocks", 0, "nodes", 1, "params", "kernel_size"], "$k"),
     "blocks[0]",
     "parameter ‘kernel_size’ refers to $k, which is not one of the block's parameters"),
    ("block body type", _set(["blocks", 0, "nodes", 1, "type"], "custom.later"),
     "blocks[0].nodes[1].type", "unknown block type ‘custom.later’"),
    ("block body dangling", _set(["blocks", 0, "edges", 0, "from"], ["ghost", "out"]),
     "blocks[0].edges[0]", "dangling edge"),
    ("block body params", _set(["blocks", 0, "nodes", 1, "params"], {"out_channels": -1}),
     "blocks[0].nodes[1].params.out_channels", "expected an integer from 1 to 4096"),
]


@pytest.mark.parametrize("mutate, where, problem", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_every_malformed_document_gives_a_project_file_error(tmp_path, mutate, where, problem):
    data = copy.deepcopy(BASE)
    replacement = mutate(data)  # None, or a whole new document
    path = write(tmp_path, data if replacement is None else replacement)
    message = load_error(path)
    assert message.startswith(f"{path}: {where}: "), message
    assert problem in message, message


def test_from_dict_and_loads_name_their_source():
    with pytest.raises(ProjectFileError, match=r"^<project>: top level: missing field ‘input’"):
        project.from_dict({"format_version": 1}, CATALOGUE)
    with pytest.raises(ProjectFileError, match=r"^the twin: top level"):
        project.from_dict([], CATALOGUE, "the twin")
    with pytest.raises(ProjectFileError, match=r"^<project>: is empty"):
        project.loads("", CATALOGUE)


def test_an_input_named_in_inside_a_block_is_not_refused_as_a_keyword(tmp_path):
    g = project.load(write(tmp_path, BASE), CATALOGUE)
    assert g.definitions["custom.unit"].spec().inputs[0].name == "in"


def test_a_node_of_a_block_defined_later_is_an_unknown_type_with_a_hint(tmp_path):
    data = copy.deepcopy(BASE)
    data["blocks"].insert(0, copy.deepcopy(BASE["blocks"][0]))
    data["blocks"][0]["type"] = "custom.outer"
    data["blocks"][0]["nodes"][1] = {"id": "conv", "type": "custom.unit", "position": [0, 0],
                                     "params": {"width": "$width"}}
    message = load_error(write(tmp_path, data))
    assert "blocks[0].nodes[1].type: node ‘conv’ has unknown block type ‘custom.unit’" in message
    assert "definition is missing" in message


def test_a_definition_can_be_added_to_a_loaded_project_and_saved(tmp_path):
    g = project.load(write(tmp_path, BASE), CATALOGUE)
    body = Graph(g)
    add(body, "in", "input"), add(body, "act", "relu"), add(body, "output", "output")
    link(body, "in", "act", "output")
    g.add_definition(BlockDefinition("custom.act", "Act", body))
    path = tmp_path / "more.rstudio.json"
    project.save(g, path)
    written = json.loads(path.read_text())["blocks"]
    assert [d["type"] for d in written] == ["custom.unit", "custom.act"]
    assert project.load(path, CATALOGUE).definitions["custom.act"].spec().title == "Act"


def test_an_empty_graph_round_trips():
    g = new_graph(channels=1, height=28, width=28, classes=10)
    again = project.loads(project.dumps(g), CATALOGUE)
    assert len(again) == 0 and again.input_spec == g.input_spec and again.training is None


def test_a_preset_network_saves_loads_and_saves_the_same_bytes(tmp_path):
    pytest.importorskip("torch")
    from resnet_studio.blocks import CATALOGUE as BLOCKS
    from resnet_studio.presets import create

    g = create("resnet20")
    first, second = tmp_path / "a.rstudio.json", tmp_path / "b.rstudio.json"
    project.save(g, first)
    loaded = project.load(first, BLOCKS)
    project.save(loaded, second)
    assert first.read_bytes() == second.read_bytes()
    assert structure(loaded) == structure(g)
