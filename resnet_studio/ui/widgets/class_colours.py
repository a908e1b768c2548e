"""The colour of each class of a dense task, shared by the Data workspace's samples and the
Train workspace's predictions so that a class looks the same in both."""

from __future__ import annotations

# Okabe & Ito, black left out (it is the outline), by class id 1, 2, …
CLASS_COLOURS = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7")


def class_hex(class_id: int) -> str:
    """``#rrggbb`` of class ``class_id`` (1…; the background, 0, has none)."""
    return CLASS_COLOURS[(class_id - 1) % len(CLASS_COLOURS)]
