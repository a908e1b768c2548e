"""The block palette: every block type by category, searchable, dragged onto the canvas.

A drag carries only the block type id (``interactions.BLOCK_MIME``); the palette lists the
catalogue and the project's own custom blocks, and refreshes when those change.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QModelIndex, QRect, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ...graph import BlockSpec, Graph, events
from ..shell import theme
from .interactions import BLOCK_MIME, block_mime

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 2
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 4


class BlockModel(QStandardItemModel):
    """Categories with their blocks; a block item's drag data is its type id."""

    def mimeTypes(self) -> list[str]:
        return [BLOCK_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        type_ids = [i.data(TYPE_ROLE) for i in indexes if i.data(TYPE_ROLE)]
        return block_mime(type_ids[0]) if type_ids else QMimeData()

    def fill(self, specs: list[BlockSpec]) -> None:
        self.clear()
        categories: dict[str, QStandardItem] = {}
        for spec in specs:
            parent = categories.get(spec.category)
            if parent is None:
                parent = categories[spec.category] = _category_item(spec.category)
                self.appendRow(parent)
            parent.appendRow(_block_item(spec))


def block_specs(graph: Graph) -> list[BlockSpec]:
    """The blocks the palette lists: the catalogue, then the project's custom blocks."""
    specs = [block.spec for block in graph.lookup]
    return specs + [definition.spec() for definition in graph.definitions.values()]


def _category_item(name: str) -> QStandardItem:
    item = QStandardItem(name)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    item.setData(name, CATEGORY_ROLE)
    item.setData("", SEARCH_ROLE)
    return item


def _block_item(spec: BlockSpec) -> QStandardItem:
    item = QStandardItem(spec.title)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                  | Qt.ItemFlag.ItemIsDragEnabled)
    item.setData(spec.type_id, TYPE_ROLE)
    item.setData(spec.description, DESCRIPTION_ROLE)
    item.setData(spec.category, CATEGORY_ROLE)
    item.setData(f"{spec.title} {spec.type_id} {spec.description}", SEARCH_ROLE)
    item.setToolTip(f"<b>{spec.title}</b> <i>({spec.type_id})</i><br>{spec.description}"
                    "<br><br>Drag onto the canvas, or double-click to add.")
    return item


class BlockDelegate(QStyledItemDelegate):
    """Blocks as two lines: the title, and the short description in grey."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        if index.data(TYPE_ROLE) is None:
            return QSize(base.width(), base.height() + 8)
        return QSize(base.width(), int(option.fontMetrics.height() * 2.3) + 6)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if index.data(TYPE_ROLE) is None:
            self._paint_category(painter, option, index)
            return
        self.initStyleOption(option, index)
        option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        rect = option.rect.adjusted(6, 3, -4, -3)
        painter.save()
        painter.fillRect(QRect(rect.left(), rect.top() + 3, 3, rect.height() - 6),
                         theme.accent(index.data(CATEGORY_ROLE)))
        text_rect = rect.adjusted(10, 0, 0, 0)
        line = option.fontMetrics.height()
        painter.setFont(theme.ui_font(option.font.pointSizeF(), bold=True))
        painter.setPen(option.palette.color(option.palette.ColorRole.Text))
        left = Qt.AlignmentFlag.AlignLeft
        painter.drawText(text_rect.adjusted(0, 0, 0, -line), left, index.data())
        painter.setFont(theme.ui_font(option.font.pointSizeF() * 0.9))
        painter.setPen(QColor(theme.MUTED))
        description = option.fontMetrics.elidedText(index.data(DESCRIPTION_ROLE) or "",
                                                     Qt.TextElideMode.ElideRight,
                                                     text_rect.width())
        painter.drawText(text_rect.adjusted(0, line + 1, 0, 0), left, description)
        painter.restore()

    def _paint_category(self, painter: QPainter, option: QStyleOptionViewItem,
                        index: QModelIndex) -> None:
        painter.save()
        painter.setFont(theme.ui_font(option.font.pointSizeF(), bold=True))
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(option.rect.adjusted(4, 0, 0, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         index.data().upper())
        painter.restore()


class BlockPalette(QWidget):
    """Search box over a tree of block types. ``block_activated`` on double-click."""

    block_activated = Signal(str)

    def __init__(self, graph: Graph, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self.model = BlockModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit(self, placeholderText="Search blocks…", clearButtonEnabled=True)
        self.tree = self._make_tree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self._filter)
        self.tree.doubleClicked.connect(self._activated)
        graph.events.subscribe(self._on_graph_event)
        self.refresh()

    def _make_tree(self) -> QTreeView:
        tree = QTreeView(self)
        tree.setModel(self.proxy)
        tree.setHeaderHidden(True)
        tree.setItemDelegate(BlockDelegate(tree))
        tree.setDragEnabled(True)
        tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tree.setIndentation(8)
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(False)
        return tree

    def close_palette(self) -> None:
        self.graph.events.unsubscribe(self._on_graph_event)

    def refresh(self) -> None:
        """Re-read the catalogue and the project's custom blocks."""
        self.model.fill(block_specs(self.graph))
        self.tree.expandAll()

    def type_ids(self) -> list[str]:
        """The block type ids currently listed (after the search filter), top to bottom."""
        ids = []
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            ids += [self.proxy.index(r, 0, parent).data(TYPE_ROLE)
                    for r in range(self.proxy.rowCount(parent))]
        return ids

    def index_of(self, type_id: str) -> QModelIndex:
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            for r in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(r, 0, parent)
                if index.data(TYPE_ROLE) == type_id:
                    return index
        return QModelIndex()

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.tree.expandAll()

    def _activated(self, index: QModelIndex) -> None:
        type_id = index.data(TYPE_ROLE)
        if type_id:
            self.block_activated.emit(type_id)

    def _on_graph_event(self, event: object) -> None:
        if isinstance(event, events.DefinitionsChanged):
            self.refresh()
