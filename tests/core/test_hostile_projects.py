"""Project files that are well formed but hostile: too big to build, names and descriptions
full of control characters, text that UTF-8 cannot store. Each is refused with one clear line
or shown harmlessly; none reaches an allocator, a terminal or a generated file raw."""

from __future__ import annotations

import copy
import json

import pytest
from malformed_kinds import BASE

from resnet_studio.api import analyze, load_project, save_project
from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.compiler import BuildError, build, generate_source
from resnet_studio.graph import Graph, InputSpec, ProjectFileError
from resnet_studio.summary import format_summary

HOSTILE = "red \x1b[31mALERT\x1b[0m\x00nul\x07bell\r\nline \u202eevil"


def huge_stage() -> Graph:
    """A stage of 128 basic blocks of 65,536 planes: within every parameter's bounds, about
    10 T parameters (40 TB of float32 weights), for the synthetic set's 3×32×32 images."""
    g = Graph(CATALOGUE, InputSpec(3, 32, 32, 10))
    g.add_node("input")
    steps = [("stage", {"block": "basicblock", "blocks": 128, "planes": 65536}),
             ("adaptiveavgpool2d", {}), ("flatten", {}), ("linear", {"out_features": "$classes"})]
    prev = "input"
    for type_id, params in steps:
        prev = g.connect(prev, "out", g.add_node(type_id, params).id, "in").dst
    g.connect(prev, "out", g.add_node("output").id, "in")
    return g


def test_a_network_too_big_for_memory_is_refused_before_building():
    analysis = analyze(huge_stage())
    assert analysis.ok and analysis.total_params > 10 ** 12
    with pytest.raises(BuildError, match=r"parameters \([\d,.]+ GiB as float32\), more than"):
        build(huge_stage(), analysis)


def test_the_memory_limit_is_the_callers_to_set():
    g = Graph(CATALOGUE, InputSpec(3, 8, 8, 10))
    g.add_node("input")
    g.connect("input", "out", g.add_node("flatten").id, "in")
    g.connect("flatten", "out", g.add_node("linear", {"out_features": 10}).id, "in")
    g.connect("linear", "out", g.add_node("output").id, "in")
    weights = (3 * 8 * 8 * 10 + 10) * 4
    assert build(g, max_param_bytes=weights) is not None
    with pytest.raises(BuildError, match="1,930 parameters"):
        build(g, max_param_bytes=weights - 1)


def test_training_a_network_too_big_fails_with_one_line(tmp_path, capsys):
    path = tmp_path / "huge.rstudio.json"
    save_project(huge_stage(), path)
    code = main(["train", str(path), "--epochs", "1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2, err  # the engine ends the run as failed; ``train`` reports that as 2
    assert "GiB as float32" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "last.pt").exists()


def hostile_project(tmp_path):
    data = copy.deepcopy(BASE)
    data["name"] = HOSTILE
    data["blocks"][0]["name"] = HOSTILE
    data["blocks"][0]["description"] = HOSTILE + ' """ end \\'
    data["nodes"][1]["label"] = HOSTILE
    path = tmp_path / "hostile.rstudio.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_project(path)


def test_control_characters_in_names_cannot_break_generated_source(tmp_path):
    source = generate_source(hostile_project(tmp_path))
    compile(source, "model.py", "exec")  # parses: nothing ended a string or a line early
    assert "\x00" not in source and "\x1b" not in source and "\r" not in source
    assert "\\x1b[31mALERT" in source and "\\u202eevil" in source


def test_summary_shows_control_characters_instead_of_obeying_them(tmp_path):
    graph = hostile_project(tmp_path)
    text = format_summary(graph, analyze(graph))
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text
    assert "red \\x1b[31mALERT\\x1b[0m\\x00nul\\x07bell\\r\\nline \\u202eevil" in text


def test_validate_and_summary_print_no_raw_escape(tmp_path, capsys):
    graph = hostile_project(tmp_path)
    graph.definitions["unit"].graph.set_params("conv", {"out_channels": 3})
    graph.set_params("block", {"width": 2})
    path = tmp_path / "saved.rstudio.json"
    save_project(graph, path)
    for command in ("validate", "summary"):
        main([command, str(path)])
        out, err = capsys.readouterr()
        assert "\x1b" not in out + err and "\x00" not in out + err, command


def test_a_name_utf8_cannot_store_is_refused_on_save(tmp_path):
    graph = load_project_of(BASE, tmp_path)
    graph.name = "bad \ud800 name"
    with pytest.raises(ProjectFileError, match=r"lone surrogate \(\\ud800\)"):
        save_project(graph, tmp_path / "out.rstudio.json")
    assert not (tmp_path / "out.rstudio.json").exists()


def load_project_of(data, tmp_path):
    path = tmp_path / "base.rstudio.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_project(path)
