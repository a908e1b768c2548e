"""Depth as He et al. count it, from each node's own layers: every preset counts the depth its
name gives and rebuilds itself at that depth, every residual block counts its branch, and
what cannot be counted says so instead of being guessed."""

from __future__ import annotations

import re

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.blocks import CATALOGUE, BlockType, Call, Catalogue
from resnet_studio.blocks.specs import int_param, spec
from resnet_studio.compiler import Analyzer
from resnet_studio.compiler.structure import expand_node, subgraph_for
from resnet_studio.graph import Graph, InputSpec, collapse
from resnet_studio.graph.project import from_dict, to_dict
from resnet_studio.presets import PRESETS, create
from resnet_studio.study import derive
from resnet_studio.study.kinds import plan_degradation
from resnet_studio.study.plan import StudyError

ANALYZER = Analyzer()  # one cache for the module: identical blocks are analysed once
STAGED = sorted(n for n in PRESETS if create(n).nodes_of_type("stage"))
# The depth in a preset's name: resnet20 → 20, res2net50_26w_4s → 50, seresnext50_32x4d → 50.
NAME_DEPTH = re.compile(r"^(?:res2net|[a-z_]+?)(\d+)")
# Zagoruyko & Komodakis name WRN-28 by all its convolutions, the three 1×1 projection
# shortcuts included and the classifier not (depth 6n + 4); He et al.'s count of the same
# network is its stem, 24 block convolutions and the classifier.
COUNTED_OTHERWISE = {"wide_resnet28_10": 1 + 6 * 4 + 1}
# The network's layout at its own depth, where the family's table says it.
LAYOUTS = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3],
           "resnet34": [3, 4, 6, 3], "seresnext50_32x4d": [3, 4, 6, 3],
           "res2net50_26w_4s": [3, 4, 6, 3], "resnet50d": [3, 4, 6, 3],
           "convnext_tiny": [3, 3, 9, 3]}


def params(graph: Graph) -> int:
    return ANALYZER.analyze(graph).total_params


def blocks(graph: Graph) -> list[int]:
    return [s.params["blocks"] for s in graph.nodes_of_type("stage")]


def test_every_staged_preset_is_covered():
    assert {"resnet20", "resnet50", "resnet20d", "resnet50d", "res2net20", "seresnet20b",
            "seresnext50_32x4d", "res2net50_26w_4s", "convnext_tiny", "small_resnet"} <= \
        set(STAGED)
    assert not create("mnist_small_resnet").nodes_of_type("stage")


@pytest.mark.parametrize("name", STAGED)
def test_preset_has_its_named_depth_and_rebuilds_itself_at_it(name):
    graph = create(name)
    found = NAME_DEPTH.match(name)
    depth = derive.depth(graph)
    if name in COUNTED_OTHERWISE:
        assert depth == COUNTED_OTHERWISE[name] and int(found.group(1)) == 28
    elif found:
        assert depth == int(found.group(1))
    rebuilt = derive.with_depth(graph, depth)
    assert to_dict(rebuilt)["nodes"] == to_dict(graph)["nodes"]
    assert params(rebuilt) == params(graph)
    assert blocks(rebuilt) == LAYOUTS.get(name, blocks(graph))


@pytest.mark.parametrize("name, depth, count", [
    ("seresnet20b", 20, 242_834), ("res2net20", 20, 218_012), ("resnet20d", 20, 277_146),
    ("resnet50", 50, 25_557_032), ("seresnext50_32x4d", 50, 27_559_896),
    ("res2net50_26w_4s", 50, 25_699_120), ("resnet50d", 50, 25_576_264)])
def test_degradation_plan_at_the_presets_depth_is_the_preset(name, depth, count):
    study = plan_degradation(create(name), budget(), depths=(depth,))
    residual, plain = (from_dict(r.graph, CATALOGUE, r.name) for r in study.runs)
    assert params(residual) == count == params(create(name))
    assert derive.depth(plain) == depth
    assert {s.params["shortcut"] for s in plain.nodes_of_type("stage")} == {"none"}


def test_resnet50_reaches_the_deeper_torchvision_resnets_and_resnet18_resnet34():
    deeper = derive.with_depth(create("resnet50"), 101)
    assert blocks(deeper) == [3, 4, 23, 3] and params(deeper) == params(create("resnet101"))
    assert to_dict(derive.with_depth(create("resnet18"), 34))["nodes"] == \
        to_dict(create("resnet34"))["nodes"]
    # No table row for 26: the same number of blocks in every stage, as before.
    assert blocks(derive.with_depth(create("resnet50"), 26)) == [2, 2, 2, 2]


def test_reachable_depths_hold_the_equal_layouts_and_the_named_ones():
    assert derive.reachable_depths(create("resnet50")) == \
        (2, 12, [14, 26, 38, 50, 62, 74, 101, 152])
    # ResNet-101's 3-4-23-3 of basic blocks is no ResNet-101: not offered to ResNet-18.
    assert derive.reachable_depths(create("resnet18")) == (2, 8, [10, 18, 26, 34, 42, 50])
    assert derive.reachable_depths(create("seresnet20b")) == (2, 9, [11, 20, 29, 38, 47, 56])
    fixed, step, depths = derive.reachable_depths(create("convnext_tiny"))
    assert (fixed, step) == (5, 12) and {59, 113} <= set(depths)
    for depth in (17, 113):
        assert derive.depth(derive.with_depth(create("convnext_tiny"), depth)) == depth


def test_an_unreachable_depth_lists_the_family_layouts():
    with pytest.raises(StudyError, match=r"depth 34 cannot be reached: with 4 stage\(s\) this "
                       r"network has depth 2 \+ 12·n \(14, 26, 38, …\), or with its family's "
                       r"stage layouts 50 \(3-4-6-3\), 101 \(3-4-23-3\), 152 \(3-8-36-3\)\."):
        derive.with_depth(create("resnet50"), 34)
    with pytest.raises(StudyError, match=r"depth 19 cannot be reached.*2 \+ 6·n \(8, 14, 20, …\)"
                       r"\.$"):
        derive.with_depth(create("resnet20d"), 19)


def test_with_depth_refuses_a_network_it_did_not_build_to_depth(monkeypatch):
    monkeypatch.setattr(derive, "depth", lambda graph: 7)
    with pytest.raises(StudyError, match="depth 20 was planned as 3-3-3 blocks per stage, but "
                       "that network has depth 7"):
        derive.with_depth(create("resnet20"), 20)


# ----- each block counted from its layers -----------------------------------------------------
BRANCH_DEPTH = {"basicblock": 2, "bottleneck": 3, "sebottleneck": 3, "res2net": 3,
                "preactblock": 2, "sebasicblock": 2, "scaledresidual": 2, "resnormblock": 2,
                "fusionblock": 2, "convnextblock": 3, "cnblock": 3, "simpleresidual": 2}


def test_every_residual_block_type_has_a_counted_depth_here():
    assert set(BRANCH_DEPTH) == set(derive.residual_types(create("resnet20")))


@pytest.mark.parametrize("block", sorted(BRANCH_DEPTH))
@pytest.mark.parametrize("shortcut", ["auto", "none"])
def test_a_block_counts_its_residual_branch_in_first_and_later_blocks(block, shortcut):
    graph = _one_stage(block, 3, shortcut)
    assert derive.depth(graph) == 2 + 3 * BRANCH_DEPTH[block]


def _one_stage(block: str, count: int, shortcut: str) -> Graph:
    """A 16-channel convolution, one stage of ``count`` blocks (the first at stride 2 with a
    projection, for the blocks that can change shape), pooling and the classifier."""
    keeps = block in ("convnextblock", "cnblock", "simpleresidual")  # channels and size kept
    g = Graph(CATALOGUE, InputSpec(channels=3, height=8, width=8, classes=4), name="one stage")
    chain = [("input", "input", {}), ("conv1", "conv2d", {"out_channels": 16, "bias": False}),
             ("layer1", "stage", {"block": block, "blocks": count, "planes": 16 if keeps else 8,
                                  "stride": 1 if keeps else 2, "shortcut": shortcut}),
             ("pool", "adaptiveavgpool2d", {"output_size": 1}), ("flatten", "flatten", {}),
             ("fc", "linear", {"out_features": "$classes"}), ("output", "output", {})]
    for (previous, _, _), (node_id, type_id, values) in zip([(None, 0, 0)] + chain, chain):
        g.add_node(type_id, values, node_id=node_id)
        if previous is not None:
            g.connect(previous, "out", node_id, "in")
    assert ANALYZER.analyze(g).ok, ANALYZER.analyze(g).diagnostics
    return g


def test_expanding_blocks_into_their_layers_keeps_the_depth():
    graph = create("resnet20")
    for node_id in ("layer1", "layer1_0", "layer2", "layer2_0"):
        expand_node(graph, node_id, subgraph_for(graph, node_id, ANALYZER.analyze(graph)))
    assert graph.nodes_of_type("add") and graph.nodes_of_type("zeropadshortcut")
    assert graph.node("layer1_1").type_id == "basicblock"
    assert derive.depth(graph) == 20


def test_a_custom_block_is_counted_from_its_body():
    graph = staged_graph(blocks=1)
    before = derive.depth(graph)
    collapse(graph, ["conv1", "bn1", "relu", "layer1"], "Front")
    assert [n.type_id for n in graph].count("stage") == 1
    assert derive.depth(graph) == before == 2 + 4


def test_the_deep_stem_counts_as_the_stem_layer_it_replaces():
    assert derive.depth(create("resnet20d")) == derive.depth(create("resnet20")) == 20
    # ResNet-RS's strided convolution stands in for the max pool: the stem stays one layer.
    assert create("resnetrs50").node("maxpool").type_id == "convbnrelu"
    assert derive.depth(create("resnetrs50")) == 50


def test_a_layer_of_an_unknown_kind_is_not_guessed(monkeypatch):
    catalogue = Catalogue()
    for block in CATALOGUE:
        catalogue.register(block)
    catalogue.register(_mystery_block())
    monkeypatch.setattr("resnet_studio.compiler.resolve.CATALOGUE", catalogue)
    graph = from_dict(to_dict(staged_graph()), catalogue, "mystery")
    graph.add_node("mystery", {"channels": 8}, node_id="attend")
    graph.disconnect(graph.incoming("pool")[0])
    graph.connect("layer2", "out", "attend", "in")
    graph.connect("attend", "out", "pool", "in")
    with pytest.raises(StudyError, match="Mystery ‘attend’ cannot be counted: layers of the "
                       "category ‘Attention’"):
        derive.depth(graph)
    assert derive.reachable_depths(graph) == (0, 0, [])


def _mystery_block() -> BlockType:
    from torch import nn

    return BlockType(spec("mystery", "Mystery", "Attention", "A layer of a new kind.",
                          int_param("channels", 8, 1, 64)),
                     lambda p, s: Call(nn.Conv2d, (s[0][0], p["channels"], 1)))


def test_a_network_with_an_error_names_the_node_and_offers_no_depths():
    graph = staged_graph()
    graph.set_params("layer2", {"block": "convnextblock", "shortcut": "identity"})
    with pytest.raises(StudyError, match=r"‘tiny’: the depth of Stage ‘layer2’ cannot be "
                       r"counted: .*keep the channel count"):
        derive.depth(graph)
    assert derive.reachable_depths(graph) == (0, 0, [])


def test_plain_twin_keeps_the_depth_and_drops_every_skip():
    for name in ("resnet20", "res2net20", "seresnet20b", "resnet20d", "convnext_tiny"):
        graph = create(name)
        plain = derive.twin(graph)
        assert derive.depth(plain) == derive.depth(graph)
        assert {s.params["shortcut"] for s in plain.nodes_of_type("stage")} == {"none"}
        assert not plain.nodes_of_type("add")


def test_input_spec_does_not_change_the_depth():
    graph = PRESETS["resnet50"].create(InputSpec(3, 64, 64, classes=7))
    assert derive.depth(graph) == 50
