"""The architecture document: nodes, ids, parameters, connections, events, order."""

from __future__ import annotations

import keyword
import math
import subprocess
import sys

import pytest
from graph_fakes import Recorder, add, chain_graph, new_graph, snapshot

from resnet_studio.graph import (
    CycleError,
    DuplicateEdgeError,
    DuplicateNodeError,
    Edge,
    GraphError,
    IncompatiblePortsError,
    InputSpec,
    InvalidNodeIdError,
    InvalidPositionError,
    ParameterError,
    PortAlreadyConnectedError,
    UnknownBlockTypeError,
    UnknownEdgeError,
    UnknownNodeError,
    UnknownPortError,
    events,
)


def test_graph_package_imports_neither_torch_nor_qt():
    code = ("import sys, resnet_studio.graph, resnet_studio.graph.project; "
            "bad = [m for m in sys.modules "
            "if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# ----- adding nodes and their ids --------------------------------------------------------------
def test_add_node_fills_defaults_and_stores_a_float_position():
    g = new_graph()
    node = g.add_node("conv", {"out_channels": 16}, (3, -2), "c1", "first conv")
    assert g.node("c1") is node
    assert node.params == {"out_channels": 16, "kernel_size": 3, "padding": 1, "bias": True}
    assert node.position == (3.0, -2.0) and all(type(v) is float for v in node.position)
    assert node.title == "first conv" and g.add_node("relu").title == "relu"


def test_add_node_refuses_an_unknown_type():
    g = new_graph()
    with pytest.raises(UnknownBlockTypeError, match="unknown block type ‘conv3d’"):
        g.add_node("conv3d")
    assert len(g) == 0


def test_generated_ids_count_up_from_the_type_name():
    g = new_graph()
    ids = [g.add_node("conv").id for _ in range(3)]
    assert ids == ["conv", "conv1", "conv2"]
    g.remove_node("conv1")
    assert g.add_node("conv").id == "conv1"  # the lowest free number


def test_generated_ids_are_unique_valid_identifiers_even_next_to_taken_names():
    g = new_graph()
    for taken in ("relu1", "relu3", "conv_1"):
        add(g, taken, "relu")
    made = [g.add_node(t).id for t in ("relu", "conv", "relu", "relu", "conv") * 5]
    assert len(set(made) | {"relu1", "relu3", "conv_1"}) == len(made) + 3
    for node_id in made:
        assert node_id.isidentifier() and not keyword.iskeyword(node_id)
        new_graph().add_node("relu", node_id=node_id)  # accepted as an explicit id too


@pytest.mark.parametrize("base, expected", [
    ("conv", "conv"), ("my block", "my_block"), ("2x", "n_2x"), ("", "node"), ("_x", "n__x"),
    ("train", "train1"), ("forward", "forward1"), ("class", "class1"), ("a.b-c", "a_b_c"),
])
def test_new_id_turns_any_base_into_a_valid_free_id(base, expected):
    assert new_graph().new_id(base) == expected


@pytest.mark.parametrize("bad", ["", "1conv", "_conv", "a-b", "a b", "conv\n", "é", "a.b", 3, 1.5])
def test_ids_that_are_not_identifiers_are_refused(bad):
    g = new_graph()
    with pytest.raises(InvalidNodeIdError, match="letters, digits and underscores"):
        g.add_node("relu", node_id=bad)
    assert len(g) == 0


@pytest.mark.parametrize("reserved", ["forward", "training", "state_dict", "parameters", "to",
                                      "eval", "cuda", "modules"])
def test_ids_that_would_shadow_a_module_attribute_are_refused(reserved):
    with pytest.raises(InvalidNodeIdError, match="reserved by PyTorch modules"):
        new_graph().add_node("relu", node_id=reserved)


@pytest.mark.parametrize("word", ["class", "if", "None", "lambda", "in"])
def test_python_keywords_are_refused_except_as_an_input_node(word):
    g = new_graph()
    with pytest.raises(InvalidNodeIdError, match="Python keyword"):
        g.add_node("relu", node_id=word)
    assert g.add_node("input", node_id=word).id == word  # a block's input port may be ‘in’


def test_check_new_id_answers_without_adding_anything():
    g = chain_graph("conv")
    g.check_new_id("fresh")
    g.check_new_id("in", "input")
    with pytest.raises(DuplicateNodeError):
        g.check_new_id("n0")
    with pytest.raises(InvalidNodeIdError, match="Python keyword"):
        g.check_new_id("in")
    with pytest.raises(InvalidNodeIdError, match="reserved"):
        g.check_new_id("state_dict", "input")
    assert list(g.nodes) == ["input", "n0", "output"]


def test_duplicate_ids_are_refused_without_change_or_event():
    g = new_graph()
    add(g, "c1", "conv", {"out_channels": 4})
    recorder = Recorder(g)
    with pytest.raises(DuplicateNodeError, match="‘c1’ already exists"):
        g.add_node("relu", node_id="c1")
    assert g.node("c1").type_id == "conv" and len(g) == 1 and recorder.events == []


def test_invalid_parameters_refuse_the_node():
    g = new_graph()
    with pytest.raises(ParameterError, match="Conv ‘c1’, parameter ‘kernel_size’"):
        g.add_node("conv", {"kernel_size": 0}, node_id="c1")
    assert "c1" not in g.nodes


# ----- removing, renaming, moving, labels ------------------------------------------------------
def test_remove_node_removes_its_edges_first_with_their_events():
    g = chain_graph("conv", "relu")
    recorder = Recorder(g)
    removed = g.remove_node("n0")
    assert removed.id == "n0" and "n0" not in g.nodes
    assert recorder.kinds() == ["EdgeRemoved", "EdgeRemoved", "NodeRemoved"]
    assert {e.edge for e in recorder.events[:2]} == {Edge("input", "out", "n0", "in"),
                                                     Edge("n0", "out", "n1", "in")}
    for shot in recorder.snapshots[:2]:
        assert "n0" in shot["nodes"]  # the node outlives its edges
    assert recorder.snapshots[2]["edges"] == [Edge("n1", "out", "output", "in")]


def test_removing_an_unknown_node_is_a_typed_error():
    with pytest.raises(UnknownNodeError, match="There is no node ‘ghost’"):
        new_graph().remove_node("ghost")
    assert issubclass(UnknownNodeError, KeyError)
    assert str(UnknownNodeError("x")) == "There is no node ‘x’ in this network."


def test_rename_keeps_the_node_order_and_rewrites_its_edges():
    g = chain_graph("conv", "relu")
    recorder = Recorder(g)
    g.rename_node("n0", "stem")
    assert list(g.nodes) == ["input", "stem", "n1", "output"]
    assert g.node("stem").id == "stem"
    assert g.incoming("stem") == [Edge("input", "out", "stem", "in")]
    assert g.outgoing("stem") == [Edge("stem", "out", "n1", "in")]
    assert recorder.events == [events.NodeRenamed("n0", "stem")]
    assert "stem" in recorder.snapshots[0]["nodes"] and "n0" not in recorder.snapshots[0]["nodes"]


def test_rename_refuses_bad_or_taken_ids_and_ignores_the_same_id():
    g = chain_graph("conv", "relu")
    recorder = Recorder(g)
    before = snapshot(g)
    with pytest.raises(DuplicateNodeError):
        g.rename_node("n0", "n1")
    with pytest.raises(InvalidNodeIdError):
        g.rename_node("n0", "9lives")
    with pytest.raises(UnknownNodeError):
        g.rename_node("ghost", "spirit")
    g.rename_node("n0", "n0")
    assert snapshot(g) == before and recorder.events == []


def test_move_emits_old_and_new_positions_only_when_it_moves():
    g = chain_graph("conv")
    recorder = Recorder(g)
    g.move_node("n0", (10, 20.5))
    g.move_node("n0", (10.0, 20.5))
    assert recorder.events == [events.NodeMoved("n0", (0.0, 100.0), (10.0, 20.5))]
    assert recorder.snapshots[0]["nodes"]["n0"][2] == (10.0, 20.5)


@pytest.mark.parametrize("position", [(math.nan, 0.0), (0.0, math.inf), (True, 0.0), ("1", 2),
                                      (1.0,), (1.0, 2.0, 3.0), None, (10 ** 400, 0)])
def test_positions_must_be_two_finite_numbers(position):
    g = chain_graph("conv")
    with pytest.raises(InvalidPositionError, match="‘n0’: position"):
        g.move_node("n0", position)
    with pytest.raises(InvalidPositionError):
        g.add_node("relu", position=position)
    assert g.node("n0").position == (0.0, 100.0) and len(g) == 3


def test_labels_change_with_one_event_and_none_when_equal():
    g = chain_graph("conv")
    recorder = Recorder(g)
    g.set_label("n0", "Stem ⚙")
    g.set_label("n0", "Stem ⚙")
    assert recorder.events == [events.LabelChanged("n0", "", "Stem ⚙")]
    assert g.node("n0").title == "Stem ⚙"


# ----- parameters ------------------------------------------------------------------------------
def test_set_params_validates_each_kind_and_reports_old_and_new():
    g = chain_graph("conv", "dropout", "pool", "gate")
    recorder = Recorder(g)
    g.set_params("n0", {"padding": "same", "bias": False})
    g.set_params("n1", {"p": 1})
    g.set_params("n2", {"mode": "avg"})
    g.set_params("n3", {"k": "auto"})
    assert g.node("n0").params["padding"] == "same" and g.node("n0").params["bias"] is False
    assert g.node("n1").params["p"] == 1.0 and type(g.node("n1").params["p"]) is float
    first = recorder.events[0]
    assert isinstance(first, events.ParamsChanged)
    assert first.old["padding"] == 1 and first.new["padding"] == "same"
    assert recorder.snapshots[0]["nodes"]["n0"][1]["padding"] == "same"
    assert recorder.kinds() == ["ParamsChanged"] * 4


@pytest.mark.parametrize("node, updates, expected", [
    ("n0", {"kernel_size": 32}, "an integer from 1 to 31"),
    ("n0", {"padding": "valid"}, "an integer from 0 to 31 or 'same'"),
    ("n0", {"out_channels": 2.5}, "an integer from 1 to 4096"),
    ("n0", {"bias": 1}, "true or false"),
    ("n1", {"p": 1.5}, "a number from 0 to 1"),
    ("n1", {"p": "half"}, "a number from 0 to 1"),
    ("n2", {"mode": "min"}, "one of 'max', 'avg'"),
    ("n2", {"size": 0}, "an integer from 1 to ∞"),
    ("n3", {"k": True}, "one of 1, 2, 'auto'"),
])
def test_set_params_refuses_bad_values_stating_the_bounds(node, updates, expected):
    g = chain_graph("conv", "dropout", "pool", "gate")
    with pytest.raises(ParameterError) as info:
        g.set_params(node, updates)
    assert expected in str(info.value)
    assert f"‘{node}’, parameter ‘{next(iter(updates))}’" in str(info.value)


def test_set_params_is_all_or_nothing_and_silent_when_nothing_changes():
    g = chain_graph("conv")
    recorder = Recorder(g)
    before = dict(g.node("n0").params)
    with pytest.raises(ParameterError):
        g.set_params("n0", {"out_channels": 32, "kernel_size": 0})
    g.set_params("n0", {"kernel_size": 3.0})  # the same value as a float
    g.set_params("n0", {})
    assert g.node("n0").params == before and recorder.events == []


def test_set_params_refuses_unknown_names_and_lists_the_known_ones():
    g = chain_graph("conv")
    with pytest.raises(ParameterError) as info:
        g.set_params("n0", {"stride": 2})
    assert "parameter ‘stride’" in str(info.value)
    assert "it has: out_channels, kernel_size, padding, bias" in str(info.value)


def test_parameters_may_refer_to_the_input_specification():
    g = chain_graph("flatten", "linear")
    g.set_params("n1", {"out_features": "$classes"})
    assert g.node("n1").params["out_features"] == "$classes"
    assert InputSpec(1, 28, 28, 10).env() == {"channels": 1, "height": 28, "width": 28,
                                              "classes": 10}


def test_input_spec_changes_emit_once_and_bad_specs_are_refused():
    g = new_graph()
    recorder = Recorder(g)
    g.set_input_spec(InputSpec(1, 28, 28, 10))
    g.set_input_spec(InputSpec(1, 28, 28, 10))
    assert recorder.events == [events.InputSpecChanged(InputSpec(), InputSpec(1, 28, 28, 10))]
    assert recorder.snapshots[0]["input"] == InputSpec(1, 28, 28, 10)
    for bad in (InputSpec(classes=0), InputSpec(height=True), InputSpec(width=2.5),
                InputSpec(channels=100_001)):
        with pytest.raises(ParameterError, match="expected an integer from 1 to 100000"):
            g.set_input_spec(bad)
    assert g.input_spec == InputSpec(1, 28, 28, 10) and len(recorder.events) == 1


# ----- connections -----------------------------------------------------------------------------
def test_connect_adds_one_edge_and_one_event_after_it():
    g = new_graph()
    add(g, "input", "input"), add(g, "c", "conv")
    recorder = Recorder(g)
    edge = g.connect("input", "out", "c", "in")
    assert edge == Edge("input", "out", "c", "in") and g.edges == [edge]
    assert recorder.events == [events.EdgeAdded(edge)]
    assert recorder.snapshots[0]["edges"] == [edge]
    assert str(edge) == "input.out → c.in"


def test_connecting_an_unknown_node_names_it():
    g = chain_graph("conv")
    with pytest.raises(UnknownNodeError, match="‘ghost’"):
        g.connect("ghost", "out", "n0", "in")
    with pytest.raises(UnknownNodeError, match="‘ghost’"):
        g.check_connect("n0", "out", "ghost", "in")


def test_unknown_ports_are_named_with_the_ports_that_exist():
    g = new_graph()
    add(g, "c", "conv"), add(g, "s", "sub"), add(g, "o", "output")
    with pytest.raises(UnknownPortError) as info:
        g.connect("c", "in", "s", "a")
    assert str(info.value) == "Node ‘c’ has no output port ‘in’ (its output ports: out)."
    with pytest.raises(UnknownPortError, match=r"no input port ‘c’ \(its input ports: a, b\)"):
        g.connect("c", "out", "s", "c")
    with pytest.raises(UnknownPortError, match=r"no output port ‘out’ \(its output ports: none\)"):
        g.connect("o", "out", "c", "in")


def test_a_single_input_port_takes_one_edge_and_the_message_suggests_a_merge():
    g = new_graph()
    add(g, "a", "relu"), add(g, "b", "relu"), add(g, "c", "relu")
    g.connect("a", "out", "c", "in")
    with pytest.raises(PortAlreadyConnectedError) as info:
        g.connect("b", "out", "c", "in")
    assert "Input ‘in’ of ‘c’ is already fed by ‘a’" in str(info.value)
    assert "Add or Concat" in str(info.value)


def test_the_same_edge_twice_is_a_duplicate_even_on_a_multi_input_port():
    g = new_graph()
    add(g, "a", "relu"), add(g, "sum", "add"), add(g, "c", "relu")
    g.connect("a", "out", "sum", "in")
    with pytest.raises(DuplicateEdgeError, match=r"‘a\.out’ is already connected to ‘sum\.in’"):
        g.connect("a", "out", "sum", "in")
    g.connect("a", "out", "c", "in")
    with pytest.raises(DuplicateEdgeError):
        g.connect("a", "out", "c", "in")
    assert len(g.edges) == 2


def test_one_output_may_feed_both_ports_of_a_two_input_node():
    g = new_graph()
    add(g, "a", "relu"), add(g, "s", "sub")
    g.connect("a", "out", "s", "a")
    g.connect("a", "out", "s", "b")
    assert [e.dst_port for e in g.incoming("s")] == ["a", "b"]


def test_self_loops_are_cycles():
    g = new_graph()
    add(g, "a", "relu")
    with pytest.raises(CycleError, match="‘a’ cannot feed itself"):
        g.connect("a", "out", "a", "in")
    assert g.edges == []


def test_long_cycles_are_refused_naming_both_ends():
    g = chain_graph("add", *["relu"] * 30)  # n0 is an Add, so it could take a second input
    with pytest.raises(CycleError) as info:
        g.connect("n30", "out", "n0", "in")
    assert ("Connecting ‘n30’ to ‘n0’ would create a cycle: ‘n0’ already feeds ‘n30’"
            in str(info.value))
    assert (info.value.src, info.value.dst) == ("n30", "n0")
    assert len(g.incoming("n0")) == 1


def test_two_node_cycles_are_refused():
    g = new_graph()
    add(g, "a", "add"), add(g, "b", "add")
    g.connect("a", "out", "b", "in")
    with pytest.raises(CycleError, match="‘a’ already feeds ‘b’"):
        g.connect("b", "out", "a", "in")


def test_a_feature_map_into_a_vector_port_suggests_flatten_or_global_pooling():
    g = new_graph()
    add(g, "c", "conv"), add(g, "fc", "linear"), add(g, "f", "flatten")
    with pytest.raises(IncompatiblePortsError) as info:
        g.connect("c", "out", "fc", "in")
    message = str(info.value)
    assert "‘fc’ expects a feature vector but ‘c’ gives a feature map (C×H×W)" in message
    assert "Flatten or global average pooling" in message
    with pytest.raises(IncompatiblePortsError, match="‘c’ expects a feature map"):
        g.connect("f", "out", "c", "in")
    g.connect("c", "out", "f", "in")
    g.connect("f", "out", "fc", "in")  # the way the message suggests
    assert len(g.edges) == 2


def test_check_connect_raises_like_connect_but_changes_nothing():
    g = chain_graph("conv", "relu")
    add(g, "extra", "relu")
    recorder = Recorder(g)
    before = snapshot(g)
    g.check_connect("n1", "out", "extra", "in")
    for args in [("n1", "out", "n0", "in"), ("extra", "out", "n0", "in"),
                 ("n1", "x", "extra", "in")]:
        with pytest.raises(GraphError):
            g.check_connect(*args)
    assert snapshot(g) == before and recorder.events == []


def test_multi_input_ports_keep_edge_order_and_index_places_an_edge():
    g = new_graph()
    for name in ("a", "b", "c", "d"):
        add(g, name, "relu")
    add(g, "cat", "concat")
    g.connect("a", "out", "cat", "in")
    g.connect("b", "out", "cat", "in")
    g.connect("c", "out", "cat", "in", index=0)
    assert [e.src for e in g.incoming("cat", "in")] == ["c", "a", "b"]
    index = g.disconnect(Edge("a", "out", "cat", "in"))
    assert index == 1 and [e.src for e in g.incoming("cat")] == ["c", "b"]
    g.connect("a", "out", "cat", "in", index=index)  # undo puts it back in place
    assert [e.src for e in g.incoming("cat")] == ["c", "a", "b"]


def test_disconnect_emits_after_removing_and_refuses_unknown_edges():
    g = chain_graph("conv")
    recorder = Recorder(g)
    edge = Edge("input", "out", "n0", "in")
    assert g.disconnect(edge) == 0
    assert recorder.events == [events.EdgeRemoved(edge)]
    assert edge not in recorder.snapshots[0]["edges"]
    with pytest.raises(UnknownEdgeError, match=r"There is no connection input\.out → n0\.in"):
        g.disconnect(edge)
    assert issubclass(UnknownEdgeError, KeyError) and len(recorder.events) == 1


# ----- events ----------------------------------------------------------------------------------
MUTATIONS = [
    ("add_node", lambda g: g.add_node("relu", node_id="new"), events.NodeAdded,
     lambda s: "new" in s["nodes"]),
    ("remove_node", lambda g: g.remove_node("extra"), events.NodeRemoved,
     lambda s: "extra" not in s["nodes"]),
    ("rename_node", lambda g: g.rename_node("extra", "spare"), events.NodeRenamed,
     lambda s: "spare" in s["nodes"]),
    ("move_node", lambda g: g.move_node("extra", (1.5, 2.5)), events.NodeMoved,
     lambda s: s["nodes"]["extra"][2] == (1.5, 2.5)),
    ("set_label", lambda g: g.set_label("extra", "spare"), events.LabelChanged,
     lambda s: s["nodes"]["extra"][3] == "spare"),
    ("set_params", lambda g: g.set_params("n0", {"out_channels": 3}), events.ParamsChanged,
     lambda s: s["nodes"]["n0"][1]["out_channels"] == 3),
    ("set_input_spec", lambda g: g.set_input_spec(InputSpec(classes=3)), events.InputSpecChanged,
     lambda s: s["input"].classes == 3),
    ("connect", lambda g: g.connect("n0", "out", "extra", "in"), events.EdgeAdded,
     lambda s: Edge("n0", "out", "extra", "in") in s["edges"]),
    ("disconnect", lambda g: g.disconnect(Edge("n0", "out", "output", "in")), events.EdgeRemoved,
     lambda s: s["edges"] == [Edge("input", "out", "n0", "in")]),
]


@pytest.mark.parametrize("name, mutate, event_type, done", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mutation_emits_exactly_one_event_after_the_change(name, mutate, event_type, done):
    g = chain_graph("conv")
    add(g, "extra", "relu")
    recorder = Recorder(g)
    mutate(g)
    assert len(recorder.events) == 1 and isinstance(recorder.events[0], event_type)
    assert done(recorder.snapshots[0]), "the listener saw the document before the change"


def test_listeners_run_in_order_and_can_unsubscribe():
    g = new_graph()
    seen = []
    first, second = (lambda e: seen.append(("first", e))), (lambda e: seen.append(("second", e)))
    g.events.subscribe(first)
    g.events.subscribe(second)
    g.add_node("relu", node_id="a")
    g.events.unsubscribe(first)
    g.add_node("relu", node_id="b")
    assert seen == [("first", events.NodeAdded("a")), ("second", events.NodeAdded("a")),
                    ("second", events.NodeAdded("b"))]


# ----- order and reachability ------------------------------------------------------------------
def test_topological_order_breaks_ties_by_insertion_order():
    g = new_graph()
    for name in ("a", "b", "c", "d"):
        add(g, name, "relu")
    g.connect("a", "out", "d", "in")
    g.connect("b", "out", "c", "in")
    # First-in-first-out would give a, b, d, c; the order the nodes were added is kept.
    assert g.topological_order() == ["a", "b", "c", "d"]


def test_topological_order_puts_every_node_after_its_inputs_and_is_stable():
    g = new_graph()
    for name in ("sum", "x", "branch", "input"):
        add(g, name, "add" if name == "sum" else "relu")
    g.connect("input", "out", "x", "in")
    g.connect("x", "out", "branch", "in")
    g.connect("branch", "out", "sum", "in")
    g.connect("x", "out", "sum", "in")
    order = g.topological_order()
    assert order == ["input", "x", "branch", "sum"]
    assert all(order.index(e.src) < order.index(e.dst) for e in g.edges)
    assert g.topological_order() == order


def test_topological_order_reports_a_cycle_already_in_the_edges():
    g = chain_graph("relu", "relu", "relu")
    g.edges.append(Edge("n2", "out", "n0", "in"))  # bypassing connect, as a damaged file could
    with pytest.raises(CycleError, match="contains a cycle: n0 → n1 → n2 → n0"):
        g.topological_order()


def test_reaches_follows_directed_paths_only():
    g = chain_graph("relu", "relu")
    add(g, "lone", "relu")
    assert g.reaches("input", "output") and g.reaches("n0", "n0")
    assert not g.reaches("output", "input") and not g.reaches("input", "lone")


def test_copy_is_independent_and_silent():
    g = chain_graph("conv")
    recorder = Recorder(g)
    twin = g.copy()
    twin.set_params("n0", {"out_channels": 1})
    twin.remove_node("input")
    assert g.node("n0").params["out_channels"] == 8 and "input" in g.nodes
    assert len(g.edges) == 2 and recorder.events == []
