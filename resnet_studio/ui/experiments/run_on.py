"""The study form's "Run on" field: this machine, or a Ray cluster at an address.

The field only holds the choice; ``worker.make_executor`` turns a cluster address into the
executor that runs the study there (``study.cluster.RayTune``), on the study's own thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

HERE, CLUSTER = "here", "cluster"
DEFAULT_ADDRESS = "auto"


class RunOnField(QWidget):
    """A choice (This machine | Ray cluster at) and the cluster's address, which is editable
    only while the cluster is chosen. ``changed`` is emitted on any change of either."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox(self)
        self.choice.addItem("This machine", HERE)
        self.choice.addItem("Ray cluster at", CLUSTER)
        self.choice.setToolTip("Where the runs train: in this app (one after another, or in "
                               "processes of their own with Run at once), or as a Ray Tune "
                               "experiment on a running Ray cluster; there Run at once caps "
                               "the runs training together.")
        self.address = QLineEdit(DEFAULT_ADDRESS, self)
        self.address.setToolTip("auto (the cluster this machine belongs to), HOST:PORT of its "
                                "head, ray://HOST:PORT (Ray Client), or local (start one "
                                "here). The study folder must be on storage every node sees "
                                "at the same path.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        layout.addWidget(self.address, 1)
        self.choice.currentIndexChanged.connect(self._chosen)
        self.address.textChanged.connect(self.changed)
        self._chosen()

    def _chosen(self) -> None:
        self.address.setEnabled(self.choice.currentData() == CLUSTER)
        self.changed.emit()

    def cluster(self) -> str | None:
        """The cluster's address as typed (stripped), or None to train on this machine."""
        if self.choice.currentData() != CLUSTER:
            return None
        return self.address.text().strip()

    def set_cluster(self, address: str | None) -> None:
        """Choose the cluster at ``address``, or this machine for None."""
        if address is not None:
            self.address.setText(address)
        self.choice.setCurrentIndex(self.choice.findData(HERE if address is None else CLUSTER))
