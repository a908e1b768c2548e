"""The wiring rules of head blocks: each wrong wiring is refused with one line naming the node."""

from __future__ import annotations

import pytest
from heads_graphs import backbone, detector, errors, segmenter

from resnet_studio import cli
from resnet_studio.blocks import CATALOGUE, Pyramid
from resnet_studio.compiler import Analyzer
from resnet_studio.graph import IncompatiblePortsError, InputSpec, collapse, project


def _refusals(graph) -> list[tuple[str | None, str]]:
    found = errors(Analyzer().analyze(graph))
    assert found, "the wiring was accepted"
    assert all("\n" not in message for _, message in found)
    return found


@pytest.mark.parametrize("graph", [detector(), detector("retinanet"), segmenter(),
                                   segmenter("deeplabv3_head"), segmenter(tap="layer3")])
def test_well_wired_heads_are_accepted(graph):
    assert errors(Analyzer().analyze(graph)) == []


def test_a_flattened_tensor_into_a_head_is_refused():
    graph = backbone()
    graph.add_node("adaptiveavgpool2d", {}, node_id="pool")
    graph.add_node("flatten", {}, node_id="flat")
    graph.add_node("identity", {}, node_id="same")
    graph.add_node("fcn_head", {}, node_id="seg")
    for src, dst in (("layer4", "pool"), ("pool", "flat"), ("flat", "same"), ("same", "seg"),
                     ("seg", "output")):
        graph.connect(src, "out", dst, "in")
    ((node, message),) = _refusals(graph)
    assert node == "seg" and "‘seg’" in message and "flattened 512 tensor" in message


def test_an_fpn_with_one_input_is_refused():
    ((node, message),) = _refusals(detector(taps=("layer4",)))
    assert node == "fpn" and "FPN ‘fpn’" in message and "two or more" in message


@pytest.mark.parametrize("taps", [("layer3", "layer2", "layer4"), ("layer2", "layer4"),
                                  ("layer2", "layer3", "layer3.out")])
def test_fpn_inputs_whose_strides_do_not_double_are_refused(taps):
    graph = detector(taps=tuple(t for t in taps if "." not in t))
    if "layer3.out" in taps:  # the same stride twice, through a second node
        graph.add_node("identity", {}, node_id="again")
        graph.connect("layer3", "out", "again", "in")
        graph.connect("again", "out", "fpn", "in")
    ((node, message),) = _refusals(graph)
    assert node == "fpn" and "strides doubling" in message


def test_a_detection_head_not_fed_by_an_fpn_is_refused_saying_what_it_takes():
    graph = backbone()
    graph.add_node("faster_rcnn", {}, node_id="det")
    with pytest.raises(IncompatiblePortsError, match="‘det’ expects a feature pyramid"):
        graph.connect("layer4", "out", "det", "in")
    graph.add_node("identity", {}, node_id="same")  # a port that passes anything
    graph.connect("layer4", "out", "same", "in")
    graph.connect("same", "out", "det", "in")
    graph.connect("det", "out", "output", "in")
    ((node, message),) = _refusals(graph)
    assert node == "det" and "takes the feature pyramid of an FPN" in message


def test_a_segmentation_head_fed_by_a_pyramid_is_refused():
    graph = detector()
    graph.add_node("fcn_head", {}, node_id="seg")
    with pytest.raises(IncompatiblePortsError, match="‘seg’ expects a feature map"):
        graph.connect("fpn", "out", "seg", "in")
    check = CATALOGUE.get("fcn_head").check
    pyramid = Pyramid(((256, 8, 8), (256, 4, 4)), 2)
    assert "not the pyramid of an FPN" in check({"classes": 4}, (pyramid,))


def test_a_pyramid_into_any_other_block_is_refused():
    graph = detector()
    graph.add_node("relu", {}, node_id="act")
    graph.connect("fpn", "out", "act", "in")
    found = _refusals(graph)
    assert ("act", "ReLU ‘act’: takes the pyramid of 5 maps 256×8×8, 256×4×4, 256×2×2, "
            "256×1×1, 256×1×1 of ‘fpn’, which only a detection head (Faster R-CNN, RetinaNet) "
            "takes.") in found


def test_two_task_heads_in_one_graph_are_refused():
    graph = detector()
    graph.add_node("fcn_head", {}, node_id="seg")
    graph.connect("layer4", "out", "seg", "in")
    messages = [m for _, m in _refusals(graph)]
    assert any("heads of more than one task" in m and "‘det’ (detection)" in m
               and "‘seg’ (segmentation)" in m for m in messages)
    same_task = detector()
    same_task.add_node("retinanet", {}, node_id="det2")
    same_task.connect("fpn", "out", "det2", "in")
    assert ("det2", "The network has 2 task heads (det, det2); keep one.") \
        in _refusals(same_task)


def test_a_head_whose_output_feeds_anything_else_is_refused():
    graph = segmenter()
    graph.add_node("relu", {}, node_id="act")
    graph.connect("seg", "out", "act", "in")
    found = _refusals(graph)
    assert ("seg", "FCN head ‘seg’: its output feeds ‘act’; a task head's output goes only to "
            "the Output node.") in found
    assert any(node == "act" and "task head ‘seg’" in message for node, message in found)


def test_an_output_fed_by_the_classifier_beside_a_head_is_refused():
    graph = segmenter()
    graph.disconnect(graph.incoming("output")[0])
    for node_id, type_id in (("pool", "adaptiveavgpool2d"), ("flat", "flatten")):
        graph.add_node(type_id, {}, node_id=node_id)
    graph.add_node("linear", {"out_features": "$classes"}, node_id="fc")
    for src, dst in (("layer4", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "output")):
        graph.connect(src, "out", dst, "in")
    ((node, message),) = _refusals(graph)
    assert node == "output" and "segmentation head ‘seg’" in message


def test_a_detector_needs_a_class_besides_the_background():
    graph = detector()
    graph.set_input_spec(graph.input_spec.__class__(3, 64, 64, 1))
    ((node, message),) = _refusals(graph)
    assert node == "det" and "at least 2 classes" in message


def test_a_head_inside_a_custom_block_is_refused_naming_what_it_lacks():
    graph = segmenter()
    _, node_id = collapse(graph, ["seg"], "Segmentation part", {})
    found = _refusals(graph)
    assert any(node == node_id and "needs the project's channels, height, width, classes" in m
               for node, m in found), found


def test_one_analyser_follows_the_class_count_and_size_of_the_input_spec():
    analyzer, graph = Analyzer(), segmenter()
    assert analyzer.analyze(graph).nodes["seg"].out_shape == (4, 64, 64)
    graph.set_input_spec(InputSpec(3, 64, 64, 6))  # the head's input is as before
    info = analyzer.analyze(graph).nodes["seg"]
    assert info.out_shape == (6, 64, 64) and info.op.args == (512, 6)


def test_validate_describes_a_detectors_output(tmp_path, capsys):
    path = tmp_path / "det.rstudio.json"
    project.save(detector(), path)
    assert cli.main(["validate", str(path)]) == 0
    assert "output boxes, labels, scores per image (4 classes incl. background)" in \
        capsys.readouterr().out
