"""The Design workspace on a dense project: a head's output reads in words on the canvas, in
tooltips, in the inspector and in the summary table, never as a tuple of shapes."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from test_canvas import drop_block
from ui_helpers import drag

from resnet_studio.compiler.task import task_of
from resnet_studio.ui.design.node_item import INPUT, OUTPUT
from resnet_studio.ui.shell.examples_menu import action_key
from resnet_studio.ui.widgets import format as fmt


def _open(window, name: str) -> None:
    window.actions[action_key(name)].trigger()
    assert window.document.current_analysis().ok


def _summary_cell(window, node_id: str) -> str:
    table = window.summary.table
    rows = [r for r in range(table.rowCount()) if table.item(r, 0).text() == node_id]
    return table.item(rows[0], 2).text()


def test_a_detectors_pyramid_and_boxes_read_in_words(window):
    _open(window, "shapes_detector")
    items = window.editor.scene.node_items
    assert items["fpn"].shape_text == "pyramid 5 × 256 ch", items["fpn"].shape_text
    assert items["detector"].shape_text == "boxes · 4 classes"
    assert items["output"].shape_text == "boxes · 4 classes"
    assert "output: pyramid of 5 maps 256×8×8, 256×4×4" in items["fpn"].toolTip()
    window.editor.select_nodes(["fpn"])
    labels = window.inspector.info_labels
    assert labels["output"].text().startswith("pyramid of 5 maps 256×8×8, 256×4×4, ")
    assert labels["inputs"].text() == "128×8×8, 256×4×4, 512×2×2"
    window.editor.select_nodes(["detector"])
    assert labels["output"].text() == "boxes, labels, scores per image (4 classes incl. " \
                                      "background)"
    assert _summary_cell(window, "fpn").startswith("pyramid of 5 maps")
    assert _summary_cell(window, "detector").startswith("boxes, labels, scores")


def test_a_segmenters_class_maps_read_as_such(window):
    _open(window, "shapes_segmenter")
    items = window.editor.scene.node_items
    head = next(n for n, node in window.document.graph.nodes.items()
                if node.type_id in ("fcn_head", "deeplabv3_head"))
    assert items[head].shape_text == "4 class maps 64×64"
    assert items["output"].shape_text == "4 class maps 64×64"
    window.editor.select_nodes([head])
    assert window.inspector.info_labels["output"].text() == "4 class maps 64×64"
    assert window.summary.totals["output"].text() == "4 class maps 64×64"
    assert items["layer4"].shape_text == "512×8×8"  # plain feature maps are unchanged


def test_head_ports_say_what_they_carry(window):
    _open(window, "shapes_detector")
    items = window.editor.scene.node_items
    assert "feature map (C×H×W) — accepts several connections" in \
        items["fpn"].port(INPUT, "in").toolTip()
    assert "feature pyramid" in items["fpn"].port(OUTPUT, "out").toolTip()
    assert "feature pyramid" in items["detector"].port(INPUT, "in").toolTip()
    assert "detections (boxes, labels, scores)" in items["detector"].port(OUTPUT, "out").toolTip()
    assert fmt.port_kind("class_maps").startswith("class maps")


def test_edge_labels_use_the_short_words(window):
    _open(window, "shapes_detector")
    labels = {(e.src, e.dst): item.label for e, item in window.editor.scene.edge_items.items()}
    assert labels[("fpn", "detector")] == "pyramid 5 × 256 ch"
    assert labels[("layer4", "fpn")] == "512×2×2"


def _port(window, node_id: str, direction: str):
    item = window.editor.scene.node_items[node_id]
    return next(iter((item.inputs if direction == INPUT else item.outputs).values())).anchor()


def _dropped(window, type_id: str, at: QPoint) -> str:
    graph = window.document.graph
    before = set(graph.nodes)
    assert drop_block(window.editor.view, type_id, at)
    (new_id,) = set(graph.nodes) - before
    return new_id


def test_a_backbone_is_wired_into_an_fpn_and_faster_rcnn_from_the_palette(window):
    _open(window, "shapes_detector")
    graph, view = window.document.graph, window.editor.view
    window.editor.select_nodes(["fpn", "detector"])
    window.actions["delete"].trigger()
    assert not {"fpn", "detector"} & set(graph.nodes)
    fpn = _dropped(window, "fpn", QPoint(60, 300))
    head = _dropped(window, "faster_rcnn", QPoint(60, 420))
    for stage in ("layer2", "layer3", "layer4"):  # the FPN's input takes several edges
        drag(view, _port(window, stage, OUTPUT), _port(window, fpn, INPUT))
    drag(view, _port(window, fpn, OUTPUT), _port(window, head, INPUT))
    drag(view, _port(window, head, OUTPUT), _port(window, "output", INPUT))
    assert [e.src for e in graph.incoming(fpn)] == ["layer2", "layer3", "layer4"]
    assert [e.src for e in graph.incoming(head)] == [fpn]
    assert [e.src for e in graph.incoming("output")] == [head]
    analysis = window.document.current_analysis()
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    items = window.editor.scene.node_items
    assert items[fpn].shape_text == "pyramid 5 × 256 ch"
    assert items["output"].shape_text == "boxes · 4 classes"
    assert task_of(graph) == "detection"


def test_a_pyramid_wired_into_a_segmentation_head_is_refused_with_the_reason(window):
    _open(window, "shapes_detector")
    view = window.editor.view
    head = _dropped(window, "fcn_head", QPoint(60, 420))
    drag(view, _port(window, "fpn", OUTPUT), _port(window, head, INPUT))
    assert window.document.graph.incoming(head) == []
    assert "feature pyramid" in view.toast.text()
