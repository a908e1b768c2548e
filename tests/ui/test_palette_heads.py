"""The palette's Heads category: listed after the backbone blocks with an accent of its own,
found by searching, and a head dropped from it becomes a node of the project."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from test_canvas import drop_block

from resnet_studio.blocks import CATALOGUE
from resnet_studio.graph import Graph
from resnet_studio.ui.design.palette import BlockPalette
from resnet_studio.ui.shell import theme

HEADS = ["fpn", "faster_rcnn", "retinanet", "fcn_head", "deeplabv3_head"]


def _palette(qtbot) -> BlockPalette:
    palette = BlockPalette(Graph(CATALOGUE))
    qtbot.addWidget(palette)
    return palette


def _categories(palette: BlockPalette) -> list[str]:
    proxy = palette.proxy
    return [proxy.index(row, 0).data() for row in range(proxy.rowCount())]


def test_the_heads_are_a_category_after_the_backbone_blocks(qtbot):
    palette = _palette(qtbot)
    categories = _categories(palette)
    assert categories[-1] == "Heads" and categories.index("Stages") < categories.index("Heads")
    assert palette.type_ids()[-len(HEADS):] == HEADS
    colours = {theme.accent(c).name() for c in categories if c != "Heads"}
    assert theme.accent("Heads").name() not in colours | {theme.DEFAULT_ACCENT}


def test_searching_head_lists_every_head_and_nothing_else(qtbot):
    palette = _palette(qtbot)
    palette.search.setText("head")
    assert palette.type_ids() == HEADS and _categories(palette) == ["Heads"]
    palette.search.setText("pyramid")
    assert set(palette.type_ids()) >= {"fpn", "deeplabv3_head"}


def test_a_head_dropped_from_the_palette_becomes_a_node(window):
    view, graph = window.editor.view, window.document.graph
    before = set(graph.nodes)
    assert drop_block(view, "fpn", QPoint(320, 260))
    (new_id,) = set(graph.nodes) - before
    assert graph.node(new_id).type_id == "fpn"
    assert graph.node(new_id).params == {"out_channels": 256}
