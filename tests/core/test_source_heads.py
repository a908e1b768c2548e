"""model.py of a detector or segmenter (compiler.source_heads): standalone torch + torchvision
code whose ``Net`` has compiler.build's state-dict keys and computes the same outputs."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest
import torch
from heads_graphs import detector, segmenter

from resnet_studio.compiler import build, generate_source


def _retinanet():
    """RetinaNet, keeping detections down to 0.001: an untrained one scores about 0.01 (the
    prior of its classification head), below the default threshold of 0.05."""
    graph = detector("retinanet")
    graph.set_params("det", {"score_thresh": 0.001})
    return graph


GRAPHS = {"faster_rcnn": lambda: detector(), "retinanet": _retinanet,
          "fcn_head": lambda: segmenter(), "deeplabv3_head": lambda: segmenter("deeplabv3_head")}


def _run(source: str, name: str = "model") -> dict:
    namespace = {"__name__": name}
    exec(compile(source, "model.py", "exec"), namespace)
    return namespace


def _images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def pair(request):
    torch.manual_seed(0)
    graph = GRAPHS[request.param]()
    return request.param, graph, build(graph).eval(), generate_source(graph)


def test_the_file_needs_only_torch_and_torchvision(pair):
    _, _, _, source = pair
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert roots <= {"torch", "torchvision", "collections"}
    assert max(len(line) for line in source.splitlines()) <= 100


def test_net_loads_builds_state_dict_and_computes_the_same(pair):
    head, _, built, source = pair
    net = _run(source)["Net"]().eval()
    assert list(net.state_dict()) == list(built.state_dict())
    net.load_state_dict(built.state_dict(), strict=True)
    x = _images()
    with torch.no_grad():
        got, want = net(x), built(x)
    if head in ("fcn_head", "deeplabv3_head"):
        assert torch.allclose(got["out"], want["out"], atol=1e-6)
        return
    assert len(got) == len(want) == 2
    for mine, theirs in zip(got, want):
        assert len(theirs["scores"]) > 0
        for key in ("boxes", "labels", "scores"):
            assert torch.allclose(mine[key].float(), theirs[key].float(), atol=1e-5), key


def test_the_net_is_torchvisions_model_class(pair):
    _head, _, built, source = pair
    net_class = _run(source)["Net"]
    assert type(built).__mro__[2] in net_class.__mro__  # GraphFasterRCNN → FasterRCNN
    assert f"class Net({type(built).__mro__[2].__name__}):" in source


def test_running_the_file_prints_the_outputs_shapes(pair):
    head, _graph, _, source = pair
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        _run(source, "__main__")
    lines = printed.getvalue().splitlines()
    if head in ("fcn_head", "deeplabv3_head"):
        assert lines == ["(2, 4, 64, 64)"]
    else:
        assert len(lines) == 2 and all(line.startswith("{'boxes': (") for line in lines)


def test_the_detector_file_spells_out_its_head():
    source = generate_source(detector())
    assert "fpn = FeaturePyramidNetwork([128, 256, 512], 256, extra_blocks=MaxPoolLevels(2))" \
        in source
    assert "backbone = BackboneWithFPN(Backbone(zero_init_residual), fpn, 256)" in source
    assert 'box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2)' \
        in source
    assert "((8,), (16,), (32,), (64,), (128,))" in source
    assert "box_head=TwoMLPHead(12544, 128)" in source
    assert "box_predictor=FastRCNNPredictor(128, 4)" in source  # 4 classes
