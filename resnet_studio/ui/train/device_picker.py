"""The "Train on" list of the training settings: Automatic, the current CUDA GPU, each GPU by
number, Apple MPS and the CPU.

Its entries are rebuilt when the devices become known (after torch has loaded) and keep the
choice shown. A choice this machine does not have — a project saved with ``cuda:1`` opened
where there is one GPU, or ``mps`` on Linux — stays chosen, greyed, with a tooltip saying so:
it is never silently changed to something else (training then says it is missing).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox

from .defaults import Devices

FIXED = {"auto": "Automatic", "cuda": "CUDA GPU", "mps": "Apple MPS", "cpu": "CPU"}
ABSENT = {"cuda": "PyTorch sees no CUDA GPU on this machine.",
          "mps": "Apple's Metal backend (MPS) is not available on this machine."}


def fill(box: QComboBox, devices: Devices) -> None:
    """Offer ``devices`` in ``box``, keeping its choice (a missing one greyed)."""
    key = box.currentData()
    with QSignalBlocker(box):
        box.clear()
        for fixed, title in FIXED.items():
            box.addItem(title, fixed)
            if fixed == "cuda":
                for gpu in devices.gpus:
                    box.addItem(gpu.title(), gpu.key)
                    box.setItemData(box.count() - 1, f"Train on {gpu.key}",
                                    Qt.ItemDataRole.ToolTipRole)
        present = {"cuda": devices.cuda, "mps": devices.mps}
        for name, there in present.items():
            if not there:
                _grey(box, box.findData(name), ABSENT[name] if devices.known else "")
        box.setProperty("devices", devices)
        if key is not None:
            select(box, key)
    show_tooltip(box)


def select(box: QComboBox, key: str) -> None:
    """Choose ``key``; a GPU number this machine lacks is added, greyed, and chosen."""
    index = box.findData(key)
    if index < 0 and key.startswith("cuda:"):
        devices = box.property("devices")
        known = devices is not None and devices.known
        title = f"GPU {key[5:]}" + (" (not on this machine)" if known else "")
        box.addItem(title, key)
        index = box.count() - 1
        if known:
            _grey(box, index, _missing_text(key, devices))
    if index >= 0:
        box.setCurrentIndex(index)
    show_tooltip(box)


def _missing_text(key: str, devices: Devices) -> str:
    there = ", ".join(g.title() for g in devices.gpus) or "none"
    count = len(devices.gpus)
    return (f"This project trains on {key}, which this machine does not have (its "
            f"{'GPU' if count == 1 else 'GPUs'}: {there}). Choose another device, or train "
            "it where that GPU is.")


def _grey(box: QComboBox, index: int, tooltip: str) -> None:
    item = box.model().item(index)
    item.setEnabled(False)
    if tooltip:
        item.setToolTip(tooltip)


def show_tooltip(box: QComboBox) -> None:
    """The combo's own tooltip is its chosen entry's (so a greyed choice explains itself)."""
    index = box.currentIndex()
    text = box.itemData(index, Qt.ItemDataRole.ToolTipRole) if index >= 0 else None
    box.setToolTip(text or "")
