"""Generated model.py: standalone, readable, and the same network as ``build`` gives.

Every test executes the generated text in a fresh namespace, loads the built network's
``state_dict`` into it with ``strict=True`` and compares outputs, so a source that merely looks
right but computes something else fails.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
from dataclasses import replace

import pytest
import torch
from torch import nn

from resnet_studio.blocks import CATALOGUE, BlockType, Functional
from resnet_studio.blocks.specs import spec
from resnet_studio.compiler import Analyzer, BuildError, build, generate_source
from resnet_studio.compiler.source_library import Library
from resnet_studio.compiler.source_render import SourceError
from resnet_studio.graph import Graph, InputSpec, collapse
from resnet_studio.presets import PRESETS

SPEC = InputSpec(channels=8, height=12, width=12, classes=5)
RESIDUAL, STAGES, IO = "Residual blocks", "Stages", "Input / Output"


# ----- helpers ---------------------------------------------------------------------------------
def network(*nodes, spec: InputSpec = SPEC) -> Graph:
    """input → nodes → (pooling, flatten,) linear to $classes → output.

    Each node is ``(node_id, type_id, params, sources)``; sources fill the node's input ports
    in order (all of them a multi port's edges). The last node feeds the classifier head.
    """
    g = Graph(CATALOGUE, spec, name="test")
    g.add_node("input")
    for node_id, type_id, params, sources in nodes:
        g.add_node(type_id, params, node_id=node_id)
        ports = [p.name for p in CATALOGUE.spec(type_id).inputs]
        for i, src in enumerate(sources):
            g.connect(src, "out", node_id, ports[min(i, len(ports) - 1)])
    last = nodes[-1][0]
    if nodes[-1][1] not in ("flatten", "linear"):
        g.add_node("adaptiveavgpool2d", node_id="head_pool")
        g.add_node("flatten", node_id="head_flatten")
        g.connect(last, "out", "head_pool", "in")
        g.connect("head_pool", "out", "head_flatten", "in")
        last = "head_flatten"
    g.add_node("linear", {"out_features": "$classes"}, node_id="head_fc")
    g.connect(last, "out", "head_fc", "in")
    g.add_node("output")
    g.connect("head_fc", "out", "output", "in")
    return g


def load(source: str, class_name: str = "Net") -> type[nn.Module]:
    namespace: dict = {"__name__": "generated_model"}
    exec(compile(source, "model.py", "exec"), namespace)  # the code under test
    return namespace[class_name]


def randomise(net: nn.Module) -> None:
    """Random weights and statistics: a branch initialised to (almost) nothing, such as
    LayerScale's 1e-6, must still make a difference when the two networks are compared."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            elif tensor.is_floating_point():
                tensor.normal_(0.0, 0.3)


def assert_equivalent(graph: Graph) -> str:
    """Generate, execute, load the built weights strictly, compare outputs; returns the source."""
    source = generate_source(graph)
    net = build(graph).eval()
    randomise(net)
    generated = load(source)().eval()
    generated.load_state_dict(net.state_dict(), strict=True)
    assert list(generated.state_dict()) == list(net.state_dict())
    spec = graph.input_spec
    x = torch.randn(2, spec.channels, spec.height, spec.width)
    with torch.no_grad():
        torch.testing.assert_close(generated(x), net(x))
    return source


def assert_same_initialisation(graph: Graph, zero_init_residual: bool = False,
                               source: str | None = None) -> None:
    """With the same seed, the generated class initialises exactly as ``build`` does."""
    cls = load(source or generate_source(graph))
    torch.manual_seed(0)
    built = build(graph, zero_init_residual=zero_init_residual).state_dict()
    torch.manual_seed(0)
    generated = cls(zero_init_residual=zero_init_residual).state_dict()
    assert list(built) == list(generated)
    for key in built:
        assert torch.equal(built[key], generated[key]), key


def method(source: str, class_name: str, name: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name)


def forward_statements(source: str, class_name: str = "Net") -> list[ast.stmt]:
    body = method(source, class_name, "forward").body
    assert isinstance(body[-1], ast.Return)
    return body[:-1]


def operation_count(graph: Graph) -> int:
    return sum(n.type_id not in ("input", "output") for n in graph)


def assert_only_torch_imports(source: str) -> None:
    imports = [ast.unparse(n) for n in ast.walk(ast.parse(source))
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == ["import torch", "from torch import nn"]


# ----- every primitive block -------------------------------------------------------------------
def conv(node_id: str, channels: int, source: str = "input", **params):
    return (node_id, "conv2d", {"out_channels": channels, **params}, [source])


def one(type_id: str, **params):
    return [(type_id, type_id, params, ["input"])]


PRIMITIVE_CASES = {
    "conv2d": [conv("conv", 6, kernel_size=5, stride=2, padding=2, bias=False)],
    "conv2d_same": [conv("conv", 6, kernel_size=5, padding="same", dilation=2)],
    "conv2d_groups": [conv("conv", 12, groups=4, padding=0)],
    "conv2d_depthwise": [conv("conv", 8, groups=8)],
    "batchnorm2d": one("batchnorm2d", eps=1e-3, momentum=0.2),
    "groupnorm": one("groupnorm", groups=4),
    "layernorm2d": one("layernorm2d", eps=1e-6),
    "relu": one("relu"),
    "leakyrelu": one("leakyrelu", negative_slope=0.2),
    "gelu": one("gelu"),
    "silu": one("silu"),
    "sigmoid": one("sigmoid"),
    "tanh": one("tanh"),
    "maxpool2d": one("maxpool2d", kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "avgpool2d": one("avgpool2d", kernel_size=3, stride=1, padding=1, count_include_pad=False),
    "adaptiveavgpool2d": [("pool", "adaptiveavgpool2d", {"output_size": 2}, ["input"]),
                          ("flat", "flatten", {}, ["pool"])],
    "adaptivemaxpool2d": [("pool", "adaptivemaxpool2d", {"output_size": 3}, ["input"]),
                          ("flat", "flatten", {}, ["pool"])],
    "flatten_linear": [("flat", "flatten", {}, ["input"]),
                       ("hidden", "linear", {"out_features": 20, "bias": False}, ["flat"]),
                       ("act", "relu", {}, ["hidden"]),
                       ("drop", "dropout", {"p": 0.3}, ["act"]),
                       ("fc", "linear", {"out_features": "$classes"}, ["drop"])],
    "dropout2d": one("dropout2d", p=0.4),
    "droppath": one("droppath", p=0.2),
    "identity": one("identity"),
    "add_three": [conv("a", 8), conv("b", 8), conv("c", 8),
                  ("sum", "add", {}, ["a", "b", "c"])],
    "concat": [conv("a", 4), conv("b", 6), ("cat", "concat", {}, ["a", "b", "input"])],
    "subtract": [conv("a", 8), conv("b", 8), ("diff", "subtract", {}, ["a", "b"])],
    "multiply": [conv("a", 8), conv("b", 8), ("gate", "sigmoid", {}, ["b"]),
                 ("prod", "multiply", {}, ["a", "gate"])],
    "scale": one("scale", init=0.5),
    "layerscale": one("layerscale", init=0.1),
    "zeropadshortcut": one("zeropadshortcut", out_channels=12, stride=2),
    "squeezeexcite": one("squeezeexcite", reduction=4),
    "slicechannels": one("slicechannels", start=2, channels=3),
    "deepstem": one("deepstem", first=4, second=6, out_channels=8, stride=2),
    "convbnrelu": one("convbnrelu", out_channels=6, kernel_size=5, stride=2),
}


def test_the_cases_cover_every_primitive_block_type():
    primitives = {b.type_id for b in CATALOGUE
                  if b.spec.category not in (RESIDUAL, STAGES, IO, "Heads")}  # test_source_heads
    covered = {type_id for nodes in PRIMITIVE_CASES.values() for _, type_id, _, _ in nodes}
    assert primitives - covered == set()
    residual = {case.values[0] for case in residual_cases()}
    assert {"basicblock", "bottleneck", "preactblock"} <= residual


@pytest.mark.parametrize("case", PRIMITIVE_CASES)
def test_primitive_block_source_computes_what_build_computes(case):
    graph = network(*PRIMITIVE_CASES[case])
    source = assert_equivalent(graph)
    assert_only_torch_imports(source)
    statements = forward_statements(source)
    assert len(statements) == operation_count(graph)
    assert all(isinstance(s, ast.Assign) and len(s.targets) == 1 for s in statements)


def test_operations_read_like_hand_written_pytorch():
    graph = network(*PRIMITIVE_CASES["conv2d_same"], ("act", "relu", {}, ["conv"]))
    source = generate_source(graph)
    assert 'self.conv = nn.Conv2d(8, 6, kernel_size=5, padding="same", dilation=2)' in source
    assert "        x = self.conv(x)\n        x = self.act(x)\n" in source
    assert "        x = torch.flatten(x, 1)\n" in source
    assert "self.head_pool = nn.AdaptiveAvgPool2d((1, 1))" in source
    bn = generate_source(network(*one("batchnorm2d")))
    assert "self.batchnorm2d = nn.BatchNorm2d(8)\n" in bn  # default eps and momentum left out


def test_merges_name_their_operands_in_port_order():
    source = generate_source(network(*PRIMITIVE_CASES["subtract"]))
    lines = [ast.unparse(s) for s in forward_statements(source)]
    assert lines[:3] == ["a = self.a(x)", "x = self.b(x)", "x = a - x"]
    three = generate_source(network(*PRIMITIVE_CASES["add_three"]))
    assert "x = a + b + x" in three  # c was the last use of the input, so it took over x
    cat = generate_source(network(*PRIMITIVE_CASES["concat"]))
    assert "x = torch.cat([a, b, x], dim=1)" in cat


# ----- branches and awkward names --------------------------------------------------------------
def skip_connection_graph() -> Graph:
    return network(conv("stem", 8), ("stem_relu", "relu", {}, ["stem"]),
                   conv("conv1", 8, "stem_relu", bias=False),
                   ("bn1", "batchnorm2d", {}, ["conv1"]), ("relu1", "relu", {}, ["bn1"]),
                   conv("conv2", 8, "relu1", bias=False), ("bn2", "batchnorm2d", {}, ["conv2"]),
                   ("shortcut", "identity", {}, ["stem_relu"]),
                   ("sum", "add", {}, ["bn2", "shortcut"]), ("relu2", "relu", {}, ["sum"]))


def test_skip_connection_keeps_x_on_the_main_path_and_names_the_branch():
    graph = skip_connection_graph()
    source = assert_equivalent(graph)
    lines = [ast.unparse(s) for s in forward_statements(source)]
    assert lines[:9] == [
        "x = self.stem(x)", "x = self.stem_relu(x)", "conv1 = self.conv1(x)",
        "bn1 = self.bn1(conv1)", "relu1 = self.relu1(bn1)", "conv2 = self.conv2(relu1)",
        "bn2 = self.bn2(conv2)", "shortcut = x", "x = bn2 + shortcut"]
    assert lines[9] == "x = self.relu2(x)"
    assert len(lines) == operation_count(graph)


def test_node_ids_that_clash_with_names_used_in_forward_get_another_variable():
    graph = network(conv("torch", 8), conv("nn", 8), conv("x", 8, "nn"),
                    ("self", "add", {}, ["torch", "x", "input"]))
    source = assert_equivalent(graph)
    lines = [ast.unparse(s) for s in forward_statements(source)]
    assert lines[:4] == ["torch_ = self.torch(x)", "nn_ = self.nn(x)", "x_ = self.x(nn_)",
                         "x = torch_ + x_ + x"]


def test_unused_branch_is_still_computed_as_build_computes_it():
    graph = network(conv("dead_end", 4), conv("conv", 8))
    source = assert_equivalent(graph)
    assert "dead_end = self.dead_end(x)" in source
    assert len(forward_statements(source)) == operation_count(graph)


# ----- the file as a whole ---------------------------------------------------------------------
def test_file_header_names_the_project_input_and_classes():
    source = generate_source(skip_connection_graph())
    doc = ast.get_docstring(ast.parse(source))
    assert doc.startswith('Generated by ResNet Studio from project "test".')
    assert "8×12×12 images" in doc and "5 classes" in doc
    params = sum(p.numel() for p in build(skip_connection_graph()).parameters())
    assert f"{params:,} parameters" in doc


def test_running_the_file_prints_the_output_shape():
    source = generate_source(skip_connection_graph())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "model.py", "exec"), {"__name__": "__main__"})
    assert printed.getvalue() == "(2, 5)\n"


def test_awkward_project_name_keeps_the_file_valid():
    graph = skip_connection_graph()
    graph.name = 'my """best""" net\\'
    doc = ast.get_docstring(ast.parse(generate_source(graph)))
    assert doc.startswith("Generated by ResNet Studio from project 'my \"\"\"best\"\"\" net\\\\'.")


def test_same_graph_gives_the_same_text():
    first = generate_source(skip_connection_graph())
    assert generate_source(skip_connection_graph()) == first
    graph = skip_connection_graph()
    assert generate_source(graph) == generate_source(graph) == first


def test_class_name_is_used_and_checked():
    source = generate_source(skip_connection_graph(), class_name="TinyNet")
    assert load(source, "TinyNet")().eval()(torch.randn(1, 8, 12, 12)).shape == (1, 5)
    with pytest.raises(ValueError, match="not a valid Python class name"):
        generate_source(skip_connection_graph(), class_name="2fast")
    stage = network(("layer1", "stage", {"block": "basicblock", "planes": 8}, ["input"]))
    with pytest.raises(ValueError, match="‘BasicBlock’ is also the name of a block class"):
        generate_source(stage, class_name="BasicBlock")


def test_broken_graph_raises_build_error():
    graph = network(conv("conv", 8))
    graph.set_params("head_fc", {"out_features": 3})
    with pytest.raises(BuildError, match="3 scores"):
        generate_source(graph)


def test_generated_init_matches_build_with_the_same_seed():
    graph = network(*PRIMITIVE_CASES["squeezeexcite"], ("bn", "batchnorm2d", {}, ["squeezeexcite"]),
                    ("gn", "groupnorm", {"groups": 2}, ["bn"]))
    assert_same_initialisation(graph)
    source = generate_source(graph)
    assert "        self._init_weights(zero_init_residual)\n" in source
    assert "def __init__(self, zero_init_residual=False):" in source


# ----- custom blocks ---------------------------------------------------------------------------
def residual_unit_graph() -> Graph:
    """Three uses of one custom block: two alike, one wider (so with other constructor values)."""
    nodes = []
    for i, width in enumerate((8, 8, 16)):
        src = f"r{i - 1}_relu" if i else "input"
        nodes += [conv(f"r{i}_conv", width, src, bias=False),
                  (f"r{i}_bn", "batchnorm2d", {}, [f"r{i}_conv"]),
                  (f"r{i}_proj", "zeropadshortcut", {"out_channels": width, "stride": 1}, [src]),
                  (f"r{i}_sum", "add", {}, [f"r{i}_bn", f"r{i}_proj"]),
                  (f"r{i}_relu", "relu", {}, [f"r{i}_sum"])]
    graph = network(*nodes)
    for i in range(3):
        ids = [f"r{i}_{part}" for part in ("conv", "bn", "proj", "sum", "relu")]
        exposed = {"width": [(f"r{i}_conv", "out_channels"), (f"r{i}_proj", "out_channels")]}
        definition, node_id = collapse(graph, ids, "residual unit", exposed,
                                       type_id="custom.residual_unit" if i == 0 else None)
        if i:  # use the first definition for the later selections too
            params = dict(graph.node(node_id).params)
            sources = [e.src for e in graph.incoming(node_id)]
            targets = [(e.dst, e.dst_port) for e in graph.outgoing(node_id)]
            graph.remove_node(node_id)
            graph.remove_definition(definition.type_id)
            graph.add_node("custom.residual_unit", params, node_id=f"unit{i}")
            graph.connect(sources[0], "out", f"unit{i}", "in")
            for dst, port in targets:
                graph.connect(f"unit{i}", "out", dst, port)
    return graph


def test_custom_block_becomes_one_class_per_configuration():
    graph = residual_unit_graph()
    source = assert_equivalent(graph)
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert classes == ["ZeroPadShortcut", "ResidualUnit", "ResidualUnit_2", "Net"]
    assert "self.residual_unit = ResidualUnit()" in source
    assert "self.unit1 = ResidualUnit()" in source and "self.unit2 = ResidualUnit_2()" in source
    assert 'Custom block "residual unit" (width=16) for 8×12×12 inputs.' in source
    body = [ast.unparse(s) for s in forward_statements(source, "ResidualUnit")]
    assert body == ["r0_conv = self.r0_conv(x)", "r0_bn = self.r0_bn(r0_conv)",
                    "x = self.r0_proj(x)", "x = r0_bn + x", "x = self.r0_relu(x)"]
    assert_same_initialisation(graph, source=source)


def test_custom_block_with_two_inputs_takes_two_arguments():
    graph = network(conv("a", 8), conv("b", 8), ("mix", "subtract", {}, ["a", "b"]),
                    ("act", "tanh", {}, ["mix"]))
    definition, _ = collapse(graph, ["mix", "act"], "difference")
    definition.description = 'Squashed difference of "two" paths.'
    source = assert_equivalent(graph)
    doc = ast.get_docstring(next(n for n in ast.parse(source).body
                                 if isinstance(n, ast.ClassDef) and n.name == "Difference"))
    assert doc == ('Custom block "difference" for 8×12×12, 8×12×12 inputs.\n\n'
                   'Squashed difference of "two" paths.')
    forward = ast.unparse(method(source, "Difference", "forward"))
    assert forward.startswith("def forward(self, x, in2):\n    x = x - in2\n")
    assert "x = self.difference(a, x)" in source


def test_nested_custom_blocks_are_defined_inner_first():
    graph = network(conv("c1", 8), ("r1", "relu", {}, ["c1"]), conv("c2", 8, "r1"),
                    ("r2", "relu", {}, ["c2"]))
    _, inner = collapse(graph, ["c1", "r1"], "conv relu")
    collapse(graph, [inner, "c2", "r2"], "double conv")
    source = assert_equivalent(graph)
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert classes == ["ConvRelu", "DoubleConv", "Net"]
    assert "self.conv_relu = ConvRelu()" in source
    assert_same_initialisation(graph, source=source)


# ----- residual blocks and stages --------------------------------------------------------------
def residual_cases() -> list:
    cases = []
    for block in CATALOGUE:
        if block.spec.category != RESIDUAL:
            continue
        params = {"planes": 16, "stride": 2} if block.spec.param("planes") else {}
        for shortcut in block.spec.param("shortcut").choices:
            cases.append(pytest.param(block.type_id, {**params, "shortcut": shortcut},
                                      id=f"{block.type_id}-{shortcut}"))
    return cases


@pytest.mark.parametrize("type_id, params", residual_cases())
def test_residual_block_source_computes_what_build_computes(type_id, params):
    graph = network(("block", type_id, params, ["input"]))
    source = assert_equivalent(graph)
    assert_only_torch_imports(source)
    assert_same_initialisation(graph, zero_init_residual=True, source=source)
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert len(classes) == len(set(classes))


def stage_cases() -> list:
    blocks = CATALOGUE.get("stage").spec.param("block").choices
    return [pytest.param(b, id=b) for b in blocks]


def stage_graph(block: str):
    keeps_shape = CATALOGUE.spec(block).param("planes") is None
    params = {"block": block, "blocks": 2, "planes": 8 if keeps_shape else 16,
              "stride": 1 if keeps_shape else 2}
    return network(("layer1", "stage", params, ["input"]))


@functools.cache
def stage_block_classes() -> dict[str, type]:
    """The module class of each block a stage can be made of."""
    return {b: type(build(stage_graph(b)).layer1[0])
            for b in CATALOGUE.get("stage").spec.param("block").choices}


@pytest.mark.parametrize("block", stage_cases())
def test_stage_source_computes_what_build_computes(block):
    graph = stage_graph(block)
    source = assert_equivalent(graph)
    assert_same_initialisation(graph, zero_init_residual=True, source=source)
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    used = stage_block_classes()[block]
    # Only the block class the stage uses (and the classes it derives from) is defined, not
    # every class a stage could use.
    others = {k.__name__ for k in stage_block_classes().values()} - {
        k.__name__ for k in used.__mro__}
    assert used.__name__ in classes and not others & set(classes)


def test_stage_is_a_sequential_with_one_block_per_line():
    graph = network(("layer1", "stage", {"block": "basicblock", "blocks": 3, "planes": 16,
                                         "stride": 2, "shortcut": "A"}, ["input"]))
    source = generate_source(graph)
    assert ("        self.layer1 = nn.Sequential(\n"
            '            BasicBlock(8, 16, stride=2, shortcut="A"),\n'
            '            BasicBlock(16, 16, shortcut="A"),\n'
            '            BasicBlock(16, 16, shortcut="A"),\n'
            "        )\n") in source
    names = [n.name for n in ast.parse(source).body
             if isinstance(n, (ast.ClassDef, ast.FunctionDef))]
    # Helpers come before the block that calls them.
    assert names.index("conv3x3") < names.index("BasicBlock")
    assert names.index("make_downsample") < names.index("BasicBlock")
    assert names.index("ZeroPadShortcut") < names.index("make_downsample")


# ----- presets ---------------------------------------------------------------------------------
def small_input(spec: InputSpec) -> InputSpec:
    return replace(spec, height=64, width=64) if spec.height > 64 else spec


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_source_matches_build(name):
    graph = PRESETS[name].create(small_input(PRESETS[name].default_input))
    analysis = Analyzer().analyze(graph)
    source = generate_source(graph, analysis=analysis)
    assert_only_torch_imports(source)
    assert len(forward_statements(source)) == operation_count(graph)
    net = build(graph, analysis, initialise=False).eval()
    with torch.device("meta"):  # the weights come from the built network; skip initialising
        generated = load(source)()
    generated.load_state_dict(net.state_dict(), strict=True, assign=True)
    assert list(generated.state_dict()) == list(net.state_dict())
    spec = graph.input_spec
    x = torch.randn(1, spec.channels, spec.height, spec.width)
    with torch.no_grad():
        torch.testing.assert_close(generated.eval()(x), net(x))


@pytest.mark.parametrize("zero_init_residual", [False, True])
def test_preset_initialises_like_build(zero_init_residual):
    assert_same_initialisation(PRESETS["resnet20"].create(), zero_init_residual)


# ----- copying our own code --------------------------------------------------------------------
SCALE = 2


def double(x):
    return x * SCALE


class Doubler(nn.Module):
    def forward(self, x):
        return F.relu(double(x))


F = nn.functional


class UsesMath(nn.Module):
    def forward(self, x):
        return x * ast.literal_eval("2")


def test_library_follows_helpers_constants_and_torch_aliases():
    library = Library()
    assert library.add(Doubler) == "Doubler"
    assert library.aliases() == ["F = torch.nn.functional", "SCALE = 2"]
    sources = library.sources()
    assert [s.split("(")[0] for s in sources] == ["def double", "class Doubler"]
    namespace = {"torch": torch, "nn": nn}
    exec("\n".join(library.aliases() + sources), namespace)
    assert torch.equal(namespace["Doubler"]()(torch.tensor([-1.0, 3.0])), torch.tensor([0.0, 6.0]))


def halve(x):
    return x / SCALE


def test_functional_block_brings_the_helpers_its_block_type_names(monkeypatch):
    halving = BlockType(spec("halve", "Halve", "Test", "x / 2."),
                        lambda p, s: Functional(halve, lambda a: f"halve({a[0]})"),
                        deps=(halve,))
    monkeypatch.setitem(CATALOGUE._types, "halve", halving)
    graph = network(conv("conv", 8), ("halved", "halve", {}, ["conv"]))
    source = assert_equivalent(graph)
    assert "SCALE = 2\n" in source and "def halve(x):\n    return x / SCALE\n" in source
    assert "        x = halve(x)\n" in source


def test_library_refuses_code_that_needs_more_than_torch():
    with pytest.raises(SourceError, match="UsesMath uses ‘ast’ \\(module\\)"):
        Library().add(UsesMath)
