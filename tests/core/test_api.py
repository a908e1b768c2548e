"""The public Python API (resnet_studio.api, re-exported by the package)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import resnet_studio as rs
from resnet_studio.compiler import BuildError
from resnet_studio.graph import InputSpec, ParameterError, ProjectFileError
from resnet_studio.presets import PRESETS, UnknownPresetError
from resnet_studio.summary import format_table, human_count, shape_text

ROOT = Path(__file__).resolve().parents[2]
TINY = {"classes": 3, "height": 16, "width": 16}


def test_package_exports_the_api_lazily():
    code = ("import sys, resnet_studio as rs; before = 'torch' in sys.modules; "
            "rs.analyze; print(before, 'torch' in sys.modules, rs.DEFAULT_PRESET)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out == ["False", "True", "small_resnet"]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        rs.nonsense  # noqa: B018
    assert "summarize" in dir(rs)


def test_new_project_defaults_to_the_default_preset():
    graph = rs.new_project()
    assert graph.name == rs.DEFAULT_PRESET
    assert graph.input_spec == PRESETS[rs.DEFAULT_PRESET].default_input


def test_new_project_overrides_only_the_given_input_fields():
    graph = rs.new_project("resnet18", classes=7, width=48)
    assert graph.input_spec == InputSpec(channels=3, height=224, width=48, classes=7)
    assert rs.analyze(graph).output_shape() == (7,)


def test_new_project_rejects_unknown_preset_and_bad_input():
    with pytest.raises(UnknownPresetError, match="resnet18"):
        rs.new_project("resnet81")
    with pytest.raises(ParameterError, match="height"):
        rs.new_project("resnet18", height=0)


def test_save_and_load_round_trip(tmp_path):
    graph = rs.new_project("resnet20", **TINY)
    path = tmp_path / "net.rstudio.json"
    rs.save_project(graph, path)
    loaded = rs.load_project(path)
    assert loaded.input_spec == graph.input_spec
    assert [(n.id, n.type_id, n.params) for n in loaded] == \
           [(n.id, n.type_id, n.params) for n in graph]
    assert loaded.edges == graph.edges
    assert json.loads(path.read_text())["format_version"] == 1


def test_load_project_names_the_missing_file(tmp_path):
    with pytest.raises(ProjectFileError, match=r"absent\.rstudio\.json"):
        rs.load_project(tmp_path / "absent.rstudio.json")


def test_analyze_and_build_agree_on_parameters_and_output():
    graph = rs.new_project("resnet20", **TINY)
    analysis = rs.analyze(graph)
    model = rs.build_model(graph)
    assert analysis.ok
    assert analysis.total_params == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        assert model(torch.randn(2, 3, 16, 16)).shape == (2, 3)


def test_resnet18_counts_match_torchvision():
    # torchvision lists ResNet-18 at 11,689,512 parameters and 1.81 "GFLOPS" (= G MACs).
    analysis = rs.analyze(rs.new_project("resnet18"))
    assert analysis.total_params == 11_689_512
    assert 1.80e9 < analysis.total_macs < 1.83e9
    assert analysis.total_flops == 2 * analysis.total_macs


def test_build_model_zero_init_residual_zeroes_the_last_norm_of_each_block():
    graph = rs.new_project("resnet20", **TINY)  # three stages of three basic blocks
    expected = [f"layer{s}.{b}.bn2.weight" for s in (1, 2, 3) for b in (0, 1, 2)]
    assert _zero_norm_weights(rs.build_model(graph)) == []
    assert _zero_norm_weights(rs.build_model(graph, zero_init_residual=True)) == expected


def test_build_model_refuses_a_broken_graph():
    graph = rs.new_project("resnet20", **TINY)
    graph.disconnect(graph.incoming("fc")[0])
    with pytest.raises(BuildError, match="fc"):
        rs.build_model(graph)


def test_summarize_lists_every_node_and_the_totals():
    graph = rs.new_project("resnet20", **TINY)
    analysis = rs.analyze(graph)
    text = rs.summarize(graph, batch_size=4)
    for node in graph:
        assert any(line.split()[:2] == [node.id, node.type_id] for line in text.splitlines())
    assert f"{analysis.total_params:,}" in text
    assert "4×3" in text  # the output shape carries the batch size
    assert "FLOPs = 2 × MACs" in text and "GFLOPS" in text
    mib = analysis.activation_bytes(4) / 2**20
    assert f"{mib:,.2f} MiB" in text


def test_summarize_activation_memory_scales_with_the_batch():
    graph = rs.new_project("small_resnet", classes=3, height=64, width=64)
    one, eight = (_mib(rs.summarize(graph, batch_size=b)) for b in (1, 8))
    assert eight == pytest.approx(8 * one, rel=0.01)


def test_summarize_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        rs.summarize(rs.new_project("small_resnet"), batch_size=0)


def test_summarize_reports_problems():
    graph = rs.new_project("small_resnet", **TINY)
    graph.disconnect(graph.incoming("fc")[0])
    text = rs.summarize(graph)
    assert "Problems:" in text and "‘fc’" in text


def test_generate_source_defines_a_runnable_net():
    graph = rs.new_project("small_resnet", **TINY)
    namespace: dict = {}
    exec(compile(rs.generate_source(graph), "model.py", "exec"), namespace)
    net = namespace["Net"]().eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 16, 16)).shape == (1, 3)


def test_table_and_number_formatting():
    table = format_table(("a", "n"), [("x", "1"), ("long", "200")], right=(1,))
    assert table.splitlines() == ["a       n", "----  ---", "x       1", "long  200"]
    assert [human_count(v) for v in (950, 75_290, 11_689_512, 1.8e9)] == \
           ["950", "75.3 k", "11.7 M", "1.8 G"]
    assert shape_text((64, 8, 8), 2) == "2×64×8×8" and shape_text(None) == "?"


def _mib(summary: str) -> float:
    line = next(line for line in summary.splitlines() if line.startswith("Activation memory"))
    return float(line.split(":", 1)[1].split("MiB")[0].replace(",", ""))


def _zero_norm_weights(model: torch.nn.Module) -> list[str]:
    """Norm-layer scales (the only 1-D weights) that are all zero."""
    return [name for name, value in model.state_dict().items()
            if name.endswith(".weight") and value.dim() == 1 and torch.count_nonzero(value) == 0]


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    api = readme.split("\n## Python\n", 1)[1]  # the section's example, not another one
    example = api.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # it writes a project file and model.py
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["logits"].shape == (8, 10)
    assert (tmp_path / "resnet20.rstudio.json").exists() and (tmp_path / "model.py").exists()
