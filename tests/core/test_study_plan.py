"""Planning studies: derived networks, each study kind's runs, the study file."""

from __future__ import annotations

import json

import pytest
from test_study_support import budget, staged_graph

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer
from resnet_studio.graph.project import from_dict, to_dict
from resnet_studio.presets import create
from resnet_studio.study import derive
from resnet_studio.study.kinds import (
    DEFAULT_VARIANTS,
    default_variants,
    parse_values,
    plan_degradation,
    plan_sweep,
    plan_twin,
    plan_variants,
)
from resnet_studio.study.plan import RunSpec, Study, StudyError


def _graph(spec: RunSpec):
    return from_dict(spec.graph, CATALOGUE, spec.name)


# ----- derived networks -----------------------------------------------------------------------
def test_depth_counts_weighted_layers_as_he_et_al():
    assert derive.depth(create("resnet20")) == 20
    assert derive.depth(create("resnet56")) == 56
    assert derive.depth(staged_graph(blocks=2)) == 2 + 4 * 2


def test_with_depth_sets_equal_blocks_per_stage_and_keeps_the_project():
    original = create("resnet20")
    deeper = derive.with_depth(original, 44)
    assert [s.params["blocks"] for s in deeper.nodes_of_type("stage")] == [7, 7, 7]
    assert derive.depth(deeper) == 44
    assert [s.params["blocks"] for s in original.nodes_of_type("stage")] == [3, 3, 3]
    # The same network as the family description gives for that depth.
    assert to_dict(deeper)["nodes"] == to_dict(create("resnet44"))["nodes"]


def test_an_unreachable_depth_names_the_reachable_ones():
    with pytest.raises(StudyError, match=r"depth 21 cannot be reached.*2 \+ 6·n \(8, 14, 20"):
        derive.with_depth(create("resnet20"), 21)


def test_depth_of_a_network_without_stages_cannot_change():
    with pytest.raises(StudyError, match="no stage nodes"):
        derive.with_depth(create("mnist_small_resnet"), 12)
    unnamed = create("mnist_small_resnet")
    unnamed.name = ""
    with pytest.raises(StudyError, match=r"^‘the project’ has no stage nodes"):
        derive.with_depth(unnamed, 12)


def test_with_block_swaps_every_block_and_carries_widths():
    swapped = derive.with_block(create("resnet20"), "preactblock")
    stages = swapped.nodes_of_type("stage")
    assert {s.params["block"] for s in stages} == {"preactblock"}
    assert [s.params["planes"] for s in stages] == [16, 32, 64]
    # Option A is not offered by pre-activation blocks: projection shortcuts instead.
    assert {s.params["shortcut"] for s in stages} == {"auto"}
    assert Analyzer().analyze(swapped).ok


def test_with_block_on_standalone_blocks_keeps_their_channel_count():
    mnist = create("mnist_small_resnet")
    swapped = derive.with_block(mnist, "scaledresidual")
    blocks = swapped.nodes_of_type("scaledresidual")
    assert [b.params["planes"] for b in blocks] == [20, 15]
    assert not swapped.nodes_of_type("simpleresidual")


def test_with_block_keeps_a_widening_blocks_own_planes_not_its_input_width():
    from resnet_studio.graph import InputSpec
    from resnet_studio.presets.base import Chain

    chain = Chain(InputSpec(channels=3, height=8, width=8, classes=3))
    chain.add("conv1", "conv2d", out_channels=4, kernel_size=3, stride=1, padding=1, bias=False)
    chain.add("b1", "basicblock", planes=8, stride=2, shortcut="auto")  # 4 channels in, 8 out
    swapped = derive.with_block(chain.classifier(), "preactblock")
    (block,) = swapped.nodes_of_type("preactblock")
    assert (block.params["planes"], block.params["stride"]) == (8, 2)
    assert Analyzer().analyze(swapped).ok


def test_with_block_refuses_an_unknown_type_and_a_network_without_blocks():
    with pytest.raises(StudyError, match="‘conv2d’ is not a residual block type"):
        derive.with_block(create("resnet20"), "conv2d")
    with pytest.raises(StudyError, match="no residual blocks or stages"):
        derive.with_block(_no_blocks(), "basicblock")


def _no_blocks():
    g = staged_graph()
    data = to_dict(g)
    data["nodes"] = [n for n in data["nodes"] if n["type"] != "stage"]
    data["edges"] = [e for e in data["edges"] if "layer" not in e["from"][0] + e["to"][0]]
    data["edges"].append({"from": ["relu", "out"], "to": ["pool", "in"]})
    return from_dict(data, CATALOGUE, "no blocks")


def test_with_width_scales_every_width():
    wide = derive.with_width(create("resnet20"), 2)
    assert [s.params["planes"] for s in wide.nodes_of_type("stage")] == [32, 64, 128]
    assert wide.node("conv1").params["out_channels"] == 32
    with pytest.raises(StudyError, match="width factor"):
        derive.with_width(create("resnet20"), 0)


def test_twin_of_a_plain_network_is_refused():
    with pytest.raises(StudyError, match="no skip connections"):
        derive.twin(create("plain20"))


# ----- study kinds ----------------------------------------------------------------------------
def test_degradation_plans_each_depth_residual_and_plain():
    study = plan_degradation(staged_graph(), budget(), depths=(10, 6))
    assert [r.name for r in study.runs] == ["residual-6", "plain-6", "residual-10", "plain-10"]
    assert [r.values for r in study.runs[:2]] == [{"depth": 6, "skip": True},
                                                  {"depth": 6, "skip": False}]
    plain = _graph(study.runs[1])
    assert {s.params["shortcut"] for s in plain.nodes_of_type("stage")} == {"none"}
    assert derive.depth(_graph(study.runs[2])) == 10
    assert all(r.config == study.runs[0].config for r in study.runs)
    assert study.settings["depths"] == [6, 10]


def test_studies_with_plain_twins_refuse_zero_init_residual():
    for plan in (plan_degradation, plan_twin):
        with pytest.raises(StudyError, match="zero_init_residual starts every plain block"):
            plan(staged_graph(), budget(zero_init_residual=True))


def test_degradation_refuses_repeated_depths():
    with pytest.raises(StudyError, match="different depths"):
        plan_degradation(staged_graph(), budget(), depths=(6, 6))


def test_variants_plans_one_run_per_block_type():
    study = plan_variants(staged_graph(), budget(), ("basicblock", "fusionblock"), target=0.5)
    assert [r.name for r in study.runs] == ["basicblock", "fusionblock"]
    assert [r.label for r in study.runs] == ["BasicBlock", "Fusion block"]
    assert {s.params["block"] for s in _graph(study.runs[1]).nodes_of_type("stage")} == \
        {"fusionblock"}
    assert study.settings["target"] == 0.5


def test_variants_compare_against_the_projects_own_block_type():
    """The baseline is the block the project uses, wherever it stands in the list, and there
    is none when the project's block is not among the variants."""
    graph = derive.with_block(staged_graph(), "preactblock")
    listed = plan_variants(graph, budget(), ("basicblock", "preactblock", "scaledresidual"))
    assert listed.settings["baseline"] == "preactblock"
    missing = plan_variants(graph, budget(), ("basicblock", "scaledresidual"))
    assert "baseline" not in missing.settings
    assert derive.own_block_type(staged_graph()) == "basicblock"
    assert derive.own_block_type(_no_blocks()) is None


def test_the_default_variants_start_with_the_projects_own_block():
    """Unless told otherwise a variants study includes the project's block, first, so that
    it has its baseline (a simple-residual project compared to BasicBlock had none)."""
    graph = derive.with_block(staged_graph(), "res2net")
    blocks = default_variants(graph)
    assert blocks[0] == "res2net" and set(DEFAULT_VARIANTS) <= set(blocks)
    assert len(blocks) == len(set(blocks)) == len(DEFAULT_VARIANTS) + 1
    assert default_variants(staged_graph()) == DEFAULT_VARIANTS  # basicblock: listed once
    assert default_variants(_no_blocks()) == DEFAULT_VARIANTS
    assert plan_variants(graph, budget(), blocks).settings["baseline"] == "res2net"


def test_variants_refuses_a_block_type_that_does_not_fit():
    with pytest.raises(StudyError, match=r"convnextblock.*keep the channel count"):
        plan_variants(staged_graph(), budget(), ("basicblock", "convnextblock"))


def test_sweep_plans_every_combination_of_two_settings():
    study = plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.1], "width": [1.0, 2.0]})
    assert len(study.runs) == 4
    assert study.runs[0].name == "lr-0.01_width-1"
    assert [r.label for r in study.runs] == ["lr=0.01, width=1", "lr=0.01, width=2",
                                             "lr=0.1, width=1", "lr=0.1, width=2"]
    assert [r.config["lr"] for r in study.runs] == [0.01, 0.01, 0.1, 0.1]
    wide = _graph(study.runs[1])
    assert wide.node("layer2").params["planes"] == 16
    assert study.runs[3].values == {"lr": 0.1, "width": 2.0}


def test_a_sweep_past_the_run_limit_says_how_many_runs_it_would_plan():
    values = {"lr": [0.001 * (i + 1) for i in range(3000)],
              "weight_decay": [1e-6 * (i + 1) for i in range(3000)]}
    with pytest.raises(StudyError, match=r"^the sweep would plan 9,000,000 runs "
                                         r"\(3,000 × 3,000\)"):
        plan_sweep(staged_graph(), budget(), values)


def test_sweep_of_init_and_depth():
    study = plan_sweep(staged_graph(), budget(), {"init": ["default", "zero_residual"],
                                                  "depth": [6, 10]})
    assert [r.config["zero_init_residual"] for r in study.runs] == [False, False, True, True]
    assert [derive.depth(_graph(r)) for r in study.runs] == [6, 10, 6, 10]


@pytest.mark.parametrize("settings, message", [
    ({}, "one or two settings"),
    ({"lr": [0.1], "seed": [1], "epochs": [2]}, "one or two settings"),
    ({"momentum": [0.9]}, "‘momentum’ cannot be swept"),
    ({"lr": [0.1, 0.1]}, "different values for ‘lr’"),
    ({"lr": [-1.0]}, "training setting ‘lr’"),
    ({"init": ["kaiming"]}, "init ‘kaiming’ is not one of"),
])
def test_sweep_refuses_bad_settings(settings, message):
    with pytest.raises(StudyError, match=message):
        plan_sweep(staged_graph(), budget(), settings)


def test_parse_values_types_and_errors():
    assert parse_values("lr", "0.01, 0.1") == [0.01, 0.1]
    assert parse_values("depth", "20,32") == [20, 32]
    with pytest.raises(StudyError, match="list of int values for ‘depth’"):
        parse_values("depth", "20,x")


def test_twin_without_a_run_trains_both():
    study = plan_twin(staged_graph(), budget())
    assert [r.name for r in study.runs] == ["residual", "plain"]
    assert [r.existing for r in study.runs] == [None, None]
    assert "plain twin" in study.runs[1].label


def test_twin_with_an_unfinished_run_says_how_to_finish_it(tmp_path):
    (tmp_path / "graph.json").write_text(json.dumps(to_dict(staged_graph())))
    (tmp_path / "config.json").write_text(json.dumps({"config": budget().to_dict()}))
    (tmp_path / "status.json").write_text(json.dumps({"status": "stopped"}))
    with pytest.raises(StudyError, match=r"has not finished.*--resume"):
        plan_twin(staged_graph(), budget(), existing=tmp_path)
    with pytest.raises(StudyError, match=r"graph\.json is missing"):
        plan_twin(staged_graph(), budget(), existing=tmp_path / "nowhere")


# ----- the study file -------------------------------------------------------------------------
def test_study_round_trips_through_its_file(tmp_path):
    study = plan_degradation(staged_graph(), budget(), depths=(6,), project="tiny.json")
    study.save(tmp_path)
    loaded = Study.load(tmp_path)
    assert loaded.to_dict() == study.to_dict() and loaded.same_plan(study)


@pytest.mark.parametrize("text, message", [
    ("{", "cannot be read"),
    ('{"format": "other"}', "is not a ResNet Studio study file"),
    ('{"format": "resnet-studio-study", "format_version": 9}', "format_version 9"),
    (('{"format": "resnet-studio-study", "format_version": 1, "kind": "degradation", '
     '"runs": [{"name": "a/b", "label": "x", "values": {}, "graph": {}, "config": {}}]}'),
     "‘a/b’ is not a usable run name"),
    (('{"format": "resnet-studio-study", "format_version": 1, "kind": "degradation", '
     '"runs": [{"name": "a", "label": "x", "values": {}, "config": {}}]}'),
     r"runs\[0\]: field ‘graph’ is missing"),
    ('{"format": "resnet-studio-study", "format_version": 1, "kind": "magic", "runs": []}',
     "unknown study kind ‘magic’"),
])
def test_a_damaged_study_file_gives_one_clear_error(tmp_path, text, message):
    (tmp_path / "study.json").write_text(text)
    with pytest.raises(StudyError, match=message):
        Study.load(tmp_path)


def test_a_study_file_of_other_bytes_says_it_is_no_study_plan(tmp_path):
    (tmp_path / "study.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(StudyError, match=r"study\.json.*is not UTF-8 text, so it is not a "
                                         r"study plan"):
        Study.load(tmp_path)
    (tmp_path / "study.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StudyError, match="is nested too deeply to be a study plan"):
        Study.load(tmp_path)


def test_a_folder_without_a_study_says_so(tmp_path):
    with pytest.raises(StudyError, match="holds no study"):
        Study.load(tmp_path)


def test_a_run_name_keeps_safe_characters_and_falls_back_to_run():
    from resnet_studio.study.plan import slug

    assert slug("lr=0.1, seed 1") == "lr-0.1-seed-1"
    assert slug("..résumé/") == "r-sum"  # no leading dot, no trailing dash
    assert slug("€ / €") == slug("...") == "run"  # nothing usable is left
