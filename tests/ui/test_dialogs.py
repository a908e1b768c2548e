"""The preset gallery and the make-block dialog, driven without running them modally."""

from __future__ import annotations

from PySide6.QtCore import Qt
from ui_helpers import small_graph

from resnet_studio import presets
from resnet_studio.compiler.structure import exposable
from resnet_studio.ui.widgets.dialogs import EMPTY_PROJECT, MakeBlockDialog, PresetGallery


def test_gallery_lists_every_preset_with_its_description(qtbot):
    gallery = PresetGallery(presets.PRESETS, presets.DEFAULT_PRESET)
    qtbot.addWidget(gallery)
    assert gallery.chosen() == presets.DEFAULT_PRESET
    small = presets.PRESETS[presets.DEFAULT_PRESET]
    assert small.title in gallery.details.text()
    assert small.description[:40] in gallery.details.text()
    names = [gallery.list.item(i).data(Qt.ItemDataRole.UserRole + 1)
             for i in range(gallery.list.count())]
    assert names[0] == EMPTY_PROJECT  # the blank project comes first
    assert [n for n in names[1:] if n] == list(presets.PRESETS)
    row = names.index("resnet50")
    gallery.list.setCurrentRow(row)
    assert gallery.chosen() == "resnet50"
    assert "ResNet-50" in gallery.details.text()


def test_family_headers_cannot_be_chosen(qtbot):
    gallery = PresetGallery(presets.PRESETS)
    qtbot.addWidget(gallery)
    header = gallery.list.item(1)  # item 0 is the empty project, then the first family
    assert not header.flags() & Qt.ItemFlag.ItemIsSelectable
    gallery.list.setCurrentItem(header)
    assert gallery.chosen() is None


def test_make_block_dialog_binds_ticked_parameters_by_name(qtbot):
    graph = small_graph()
    rows = exposable(graph, ["conv1", "fc"])
    assert ("conv1", "out_channels", 8) in rows
    assert not [r for r in rows if r[0] == "fc" and r[1] == "out_features"]  # a $reference
    dialog = MakeBlockDialog(rows)
    qtbot.addWidget(dialog)
    dialog.name.setText("  Head ")
    for r, (node_id, param, _) in enumerate(rows):
        if (node_id, param) in {("conv1", "out_channels"), ("conv1", "kernel_size")}:
            dialog.table.item(r, 0).setCheckState(Qt.CheckState.Checked)
        if param == "kernel_size":
            dialog.table.item(r, 2).setText("k")
    assert dialog.answer() == ("Head", {"out_channels": [("conv1", "out_channels")],
                                        "k": [("conv1", "kernel_size")]})
