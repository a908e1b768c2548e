"""The analysis dialogs count images in the singular at one ("1 image", never "1 images")."""

from __future__ import annotations

from ui_helpers import ScriptedPrompts

from resnet_studio.ui.analyze.dialogs import LandscapeDialog, SignalDialog


def test_the_landscape_samples_say_image_at_one(qtbot):
    dialog = LandscapeDialog(ScriptedPrompts(), None)
    qtbot.addWidget(dialog)
    box = dialog.samples
    assert box.text() == "256 images"
    box.setValue(1)
    assert box.text() == "1 image"
    box.setValue(2)
    assert box.text() == "2 images"
    box.setValue(0)
    assert box.text() == "all validation images"


def test_the_signal_batch_keeps_its_plural_above_one(qtbot):
    dialog = SignalDialog(None)
    qtbot.addWidget(dialog)
    assert dialog.batch.text().endswith(" images")
