"""Problems and summary: the network's totals, every diagnostic, and a per-node cost table.

Clicking a diagnostic (or a table row) asks the editor to select and centre that node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...graph import Graph
from ..widgets import format as fmt
from ..widgets.spin_boxes import IntSpinBox

if TYPE_CHECKING:  # the compiler loads torch; the editor opens before it has
    from ...compiler import Analysis

NODE_ROLE = Qt.ItemDataRole.UserRole + 1
DIAGNOSTIC_ROLE = Qt.ItemDataRole.UserRole + 2
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
COLUMNS = ("Node", "Type", "Output", "Parameters", "MACs", "Activations / image")
# A wide row of a typical network: the table is still empty when the window first sizes its
# docks, so ``preferred_width`` measures this in its place.
TYPICAL_ROW = ("downsample", "AdaptiveAvgPool2d", "2048×7×7", "2,359,296", "115.6 M",
               "784.0 KiB")
CELL_PADDING = 12  # the item delegate's text margins and the grid line, with a little air
FLOPS_NOTE = ("FLOPs = 2 × MACs (one multiply plus one add). torchvision's model tables list "
              "“GFLOPS” that are in fact MACs: compare those with the MACs here.")

TOTALS_WIDTH = 390  # the totals' column beside the problems and the table


class SummaryPanel(QWidget):
    """Shows an Analysis; ``node_activated(node_id)`` when the user picks a node's row."""

    node_activated = Signal(str)

    def __init__(self, graph: Graph, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self.analysis: Analysis | None = None
        self.batch = IntSpinBox(self, minimum=1, maximum=65536, value=32)
        self.batch.setToolTip("Batch size for the activation memory estimate.")
        self.batch.valueChanged.connect(self._on_batch_changed)
        self.totals = {key: QLabel(self) for key in ("params", "macs", "flops", "memory", "output")}
        for label in self.totals.values():
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems = QListWidget(self)
        self.problems.setWordWrap(True)
        self.problems.itemClicked.connect(self._problem_clicked)
        self.problems.itemActivated.connect(self._problem_clicked)
        self.table = self._make_table()
        self._lay_out()

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS), self)
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        # Columns are fitted once per fill (``_show_table``): ResizeToContents would re-measure
        # every row on each setItem, quadratic in the node count (30 s for 500 nodes).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        table.cellClicked.connect(self._row_clicked)
        return table

    def _lay_out(self) -> None:
        totals = QWidget(self)
        form = QFormLayout(totals)
        form.setContentsMargins(4, 2, 4, 2)
        form.addRow("Parameters", self.totals["params"])
        form.addRow("MACs", self.totals["macs"])
        flops_label = QLabel("FLOPs", totals, toolTip=FLOPS_NOTE)
        form.addRow(flops_label, self.totals["flops"])
        self.totals["flops"].setToolTip(FLOPS_NOTE)
        batch_row = QWidget(totals)
        row = QHBoxLayout(batch_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.totals["memory"], 1)
        row.addWidget(QLabel("batch", batch_row))
        row.addWidget(self.batch)
        form.addRow("Activations", batch_row)
        form.addRow("Output", self.totals["output"])
        note = QLabel("FLOPs = 2 × MACs; torchvision's “GFLOPS” are MACs.", totals, wordWrap=True)
        note.setToolTip(FLOPS_NOTE)
        note.setStyleSheet("color: #5f6b76; font-size: 8pt;")
        form.addRow(note)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.problems)
        splitter.addWidget(self.table)
        splitter.setSizes([110, 260])
        # Under the canvas the panel is wide and low: the totals beside the problems and table.
        totals.setMaximumWidth(TOTALS_WIDTH)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(totals, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(splitter, 1)

    def preferred_width(self) -> int:
        """The width that shows every column of a typical network's table without scrolling
        (the window's first layout gives the right-hand docks at least this much)."""
        table, header = self.table, self.table.horizontalHeader()
        metrics = table.fontMetrics()
        columns = sum(max(header.sectionSizeHint(c), metrics.horizontalAdvance(text)
                          + CELL_PADDING) for c, text in enumerate(TYPICAL_ROW))
        scroll_bar = table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return columns + scroll_bar + 2 * table.frameWidth()

    # ----- showing an analysis ----------------------------------------------------------------
    def show_analysis(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._show_totals()
        self._show_problems()
        self._show_table()

    def wait_for_compiler(self) -> None:
        """Say that the totals and problems come once PyTorch (the compiler) has loaded."""
        for label in self.totals.values():
            label.setText("…")
        self.problems.clear()
        item = QListWidgetItem("Shapes, costs and problems appear here once PyTorch has "
                               "loaded (a few seconds after start-up).")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.problems.addItem(item)

    def _show_totals(self) -> None:
        a = self.analysis
        if a is None:
            return
        t = self.totals
        t["params"].setText(f"{a.total_params:,}  ({fmt.count(a.total_params)})")
        t["macs"].setText(f"{fmt.count(a.total_macs)}  (= torchvision's “GFLOPS”)")
        t["flops"].setText(f"{fmt.count(a.total_flops)}  (2 × MACs)")
        batch = self.batch.value()
        t["memory"].setText(f"{fmt.bytes_text(a.activation_bytes(batch))} forward, float32")
        t["output"].setText(fmt.shape(a.output_shape(), self._output_kind()))

    def _output_kind(self) -> str:
        """The port kind feeding the Output node ("class_maps" for a segmenter)."""
        for node_id, node in self.graph.nodes.items():
            if node.type_id == "output":
                for edge in self.graph.incoming(node_id)[:1]:
                    ports = self.graph.node_spec(edge.src).outputs
                    return next((p.kind for p in ports if p.name == edge.src_port), "")
        return ""

    def _show_problems(self) -> None:
        self.problems.clear()
        style = self.style()
        for d in self.analysis.diagnostics:
            icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical
                                      if d.severity == "error"
                                      else QStyle.StandardPixmap.SP_MessageBoxWarning)
            item = QListWidgetItem(icon, d.message)
            item.setData(NODE_ROLE, d.node_id)
            item.setData(DIAGNOSTIC_ROLE, True)
            item.setToolTip(d.message)
            self.problems.addItem(item)
        if not self.analysis.diagnostics:
            item = QListWidgetItem(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
                                   "No problems: the network is complete and every shape fits.")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.problems.addItem(item)

    def _show_table(self) -> None:
        rows = [self.analysis.nodes[n] for n in self.analysis.order if n in self.analysis.nodes]
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(rows))
        for r, info in enumerate(rows):
            spec = self.graph.spec(info.type_id)
            cells = (info.node_id, spec.title if spec else info.type_id,
                     fmt.shape(info.out_shape, _kind(spec)), f"{info.params:,}",
                     fmt.count(info.macs), fmt.bytes_text(info.activation_bytes))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(RIGHT)
                if info.problem:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setData(NODE_ROLE, info.node_id)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()  # fitting undid the last column's stretch
        header.setStretchLastSection(False)
        header.setStretchLastSection(True)
        self.table.setUpdatesEnabled(True)

    # ----- picking ----------------------------------------------------------------------------
    def problem_items(self) -> list[QListWidgetItem]:
        """One item per diagnostic (not the "no problems" line)."""
        items = [self.problems.item(i) for i in range(self.problems.count())]
        return [item for item in items if item.data(DIAGNOSTIC_ROLE)]

    def _problem_clicked(self, item: QListWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id and node_id in self.graph.nodes:
            self.node_activated.emit(node_id)

    def _on_batch_changed(self, value: int) -> None:
        self._show_totals()

    def _row_clicked(self, row: int, column: int = 0) -> None:
        item = self.table.item(row, 0)
        if item is not None and item.data(NODE_ROLE) in self.graph.nodes:
            self.node_activated.emit(item.data(NODE_ROLE))


def _kind(spec) -> str:
    return spec.outputs[0].kind if spec and spec.outputs else ""
