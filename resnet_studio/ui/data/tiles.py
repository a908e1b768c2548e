"""Pictures laid out in as many columns as a width holds: the Data workspace's samples and
augmented batch wrap to the next row when the column is narrowed instead of running past
its right edge (where they were cut or needed a sideways scroll)."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QWidget


class Tiles(QWidget):
    """Holds ``tiles`` in a grid whose column count ``fit_width`` sets from a width."""

    def __init__(self, spacing: int = 6, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(spacing)
        self.tiles: list[QWidget] = []
        self.columns = 1
        self.width_px = 0

    def set_tiles(self, tiles: list[QWidget]) -> None:
        """Show ``tiles`` (in reading order) instead of the earlier ones."""
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = list(tiles)
        for tile in self.tiles:
            tile.setParent(self)
        self.columns = 0  # place them all again
        self.fit_width(self.width_px)

    def tile_width(self) -> int:
        return max((tile.sizeHint().width() for tile in self.tiles), default=0)

    def columns_for(self, width: int) -> int:
        """How many tiles side by side fit ``width`` pixels (at least one)."""
        step = self.tile_width() + self.grid.horizontalSpacing()
        if step <= 0:
            return 1
        fit = (width + self.grid.horizontalSpacing()) // step
        return max(1, min(fit, len(self.tiles)))

    def fit_width(self, width: int) -> None:
        """Lay the tiles out in as many columns as ``width`` pixels hold."""
        self.width_px = width
        columns = self.columns_for(width)
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles):
            self.grid.addWidget(tile, i // columns, i % columns)
            tile.show()
