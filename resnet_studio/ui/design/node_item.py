"""How a node looks on the canvas: a card with its name, type, key parameters and output shape.

Items only display the document and report gestures; they never change the graph. Moving an
item with the mouse moves only the picture until the view turns the finished drag into one
"Move" command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ...graph import BlockSpec, Node, PortSpec
from ..shell import theme
from ..widgets import format as fmt

if TYPE_CHECKING:
    from .edge_item import EdgeItem

INPUT, OUTPUT = "input", "output"


SMALLEST_TEXT_PT = 8.0  # the type beside a node's name; the rest is 9-10.5 pt

class PortItem(QGraphicsItem):
    """A port dot on a node's top (inputs) or bottom (outputs) edge."""

    def __init__(self, node_item: NodeItem, port: PortSpec, direction: str):
        super().__init__(node_item)
        self.node_item, self.port, self.direction = node_item, port, direction
        self.highlight: Any = None  # None, or the QColor of a link being dragged over it
        self.show_label = False
        self.setAcceptHoverEvents(True)
        kind = fmt.port_kind(port.kind)
        many = " — accepts several connections" if port.multi else ""
        self.setToolTip(f"{direction} ‘{port.name}’: {kind}{many}")
        self.setZValue(1)

    @property
    def name(self) -> str:
        return self.port.name

    def anchor(self) -> QPointF:
        """Where edges attach, in scene coordinates."""
        return self.mapToScene(QPointF(0, 0))

    def boundingRect(self) -> QRectF:
        r = theme.PORT_RADIUS + 3
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        if self.show_label:
            rect = rect.united(QRectF(r, -16, 60, 14))
        return rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = theme.PORT_RADIUS + (1.5 if self.highlight is not None else 0)
        colour = self.highlight if self.highlight is not None else theme.PORT_BORDER
        painter.setPen(QPen(colour, 1.6))
        painter.setBrush(QBrush(colour if self.highlight is not None else theme.PORT_FILL))
        if self.port.multi:
            painter.drawRoundedRect(QRectF(-r - 2, -r + 1, 2 * r + 4, 2 * r - 2), 3, 3)
        else:
            painter.drawEllipse(QPointF(0, 0), r, r)
        if self.show_label:
            painter.setFont(theme.ui_font(7.5))
            painter.setPen(theme.MUTED)
            painter.drawText(QPointF(theme.PORT_RADIUS + 3, -5), self.port.name)

    def set_highlight(self, colour: Any) -> None:
        self.highlight = colour
        self.update()


class NodeItem(QGraphicsItem):
    """One node of the graph, centred on the node's position."""

    def __init__(self, node: Node, spec: BlockSpec):
        super().__init__()
        self.node_id = node.id
        self.spec = spec
        self.edges: set[EdgeItem] = set()
        self.title = self.subtitle = self.type_title = ""
        self.shape_text = "…"  # until the first analysis (the compiler may still be loading)
        self._shape_line = ""  # the whole output shape, for the tooltip
        self.problem: str | None = None
        self.severity = ""
        self.tint: QColor | None = None  # a training view's colour for this node, or None
        self.tint_note = ""
        flags = (QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                 | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                 | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setFlags(flags)
        self.setAcceptHoverEvents(True)
        self.inputs = self._make_ports(spec.inputs, INPUT)
        self.outputs = self._make_ports(spec.outputs, OUTPUT)
        self.set_node(node)
        self.setPos(QPointF(*node.position))

    # ----- state from the document and the analysis -----------------------------------------
    def set_node(self, node: Node) -> None:
        self.node_id = node.id
        self.title = node.title
        self.type_title = self.spec.title
        self.subtitle = fmt.key_params(node.params, self.spec.key_params)
        self._update_tooltip(node.params)
        self.update()

    def set_analysis(self, out_shape: Any, problems: list[tuple[str, str]],
                     kind: str = "") -> None:
        """Show the inferred output shape (of port kind ``kind``: a segmentation head's
        "class_maps" reads as such) and the node's diagnostics (severity, message). The card
        has room for a few words; the tooltip gives the whole shape."""
        self.shape_text = fmt.short_shape(out_shape, kind) if out_shape is not None else "?"
        self._shape_line = "" if out_shape is None else f"output: {fmt.shape(out_shape, kind)}"
        self._update_tooltip(self._params)
        errors = [m for s, m in problems if s == "error"]
        messages = [m for _, m in problems]
        self.severity = "error" if errors else ("warning" if problems else "")
        self.problem = "\n".join(messages) if messages else None
        self.setToolTip(self.problem or self._params_tooltip)
        self.update()

    def set_tint(self, colour: QColor | None, note: str = "") -> None:
        """Colour the card (e.g. by the layer's gradient norm while training) with a short
        note in its bottom-right corner; ``None`` restores the normal look."""
        colour = QColor(colour) if colour is not None else None
        same = colour == self.tint if colour is not None and self.tint is not None else (
            colour is None and self.tint is None)
        if same and note == self.tint_note:
            return
        self.tint, self.tint_note = colour, note
        self.update()

    def _update_tooltip(self, params: dict[str, Any]) -> None:
        self._params = params
        lines = [f"<b>{self.title}</b> — {self.spec.title}"]
        lines += [f"{name} = {fmt.value(value)}" for name, value in params.items()]
        lines += [self._shape_line] if self._shape_line else []
        self._params_tooltip = "<br>".join(lines)
        if self.problem is None:
            self.setToolTip(self._params_tooltip)

    # ----- geometry -------------------------------------------------------------------------
    def rect(self) -> QRectF:
        w, h = theme.NODE_WIDTH, theme.NODE_HEIGHT
        return QRectF(-w / 2, -h / 2, w, h)

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-4, -10, 10, 7)  # room for the stack edge and the badge

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.rect(), theme.CORNER, theme.CORNER)
        return path

    def port(self, direction: str, name: str) -> PortItem | None:
        ports = self.inputs if direction == INPUT else self.outputs
        return ports.get(name)

    def _make_ports(self, specs: tuple[PortSpec, ...], direction: str) -> dict[str, PortItem]:
        ports = {}
        y = (-1 if direction == INPUT else 1) * theme.NODE_HEIGHT / 2
        for index, spec in enumerate(specs):
            item = PortItem(self, spec, direction)
            x = theme.NODE_WIDTH * ((index + 1) / (len(specs) + 1) - 0.5)
            item.setPos(x, y)
            item.show_label = direction == INPUT and len(specs) > 1
            ports[spec.name] = item
        return ports

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    # ----- painting ---------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect()
        if self.spec.composite:  # a stacked card: this node holds more inside
            painter.setPen(QPen(theme.NODE_BORDER, 1))
            painter.setBrush(QBrush(theme.GRID))
            painter.drawRoundedRect(rect.translated(4, 4), theme.CORNER, theme.CORNER)
        painter.setPen(self._border_pen())
        painter.setBrush(QBrush(self._fill()))
        painter.drawRoundedRect(rect, theme.CORNER, theme.CORNER)
        self._paint_accent(painter, rect)
        self._paint_text(painter, rect)
        if self.severity:
            self._paint_badge(painter, rect)

    def _fill(self) -> QColor:
        if self.tint is None:
            return theme.NODE_FILL
        # Half the tint, half white: the colour reads at a glance and the text stays legible.
        t, w = self.tint, theme.NODE_FILL
        return QColor((t.red() + w.red()) // 2, (t.green() + w.green()) // 2,
                      (t.blue() + w.blue()) // 2)

    def _border_pen(self) -> QPen:
        if self.severity == "error":
            return QPen(theme.ERROR, 2.6)
        if self.isSelected():
            return QPen(theme.SELECTED, 2.4)
        if self.severity == "warning":
            return QPen(theme.WARNING, 2.2)
        return QPen(theme.NODE_BORDER, 1.2)

    def _paint_accent(self, painter: QPainter, rect: QRectF) -> None:
        strip = QPainterPath()
        strip.addRoundedRect(QRectF(rect.left() + 1.5, rect.top() + 1.5, 9, rect.height() - 3),
                             theme.CORNER - 2, theme.CORNER - 2)
        painter.fillPath(strip, theme.accent(self.spec.category))
        if self.isSelected() and self.severity == "error":
            painter.setPen(QPen(theme.SELECTED, 1.2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-3.5, -3.5, 3.5, 3.5), theme.CORNER, theme.CORNER)

    def _paint_text(self, painter: QPainter, rect: QRectF) -> None:
        left, right = rect.left() + 17, rect.right() - 8
        kind_font, title_font = theme.ui_font(SMALLEST_TEXT_PT), theme.ui_font(10.5, bold=True)
        # The name comes first; the type (also in the tooltip) takes what is left.
        kind_wanted = QFontMetricsF(kind_font).horizontalAdvance(self.type_title) + 2
        title_wanted = QFontMetricsF(title_font).horizontalAdvance(self.title) + 2
        title_width = min(title_wanted, right - left)
        kind_width = right - left - title_width - 6
        subtitle = self.subtitle
        if kind_width >= kind_wanted:  # the whole type fits beside the name
            self._draw(painter, self.type_title, kind_font, theme.MUTED,
                       QRectF(right - kind_width, rect.top() + 5, kind_width, 18),
                       Qt.AlignmentFlag.AlignRight)
        else:  # no room beside a long name: the type opens the second line instead
            subtitle = f"{self.type_title} · {subtitle}" if subtitle else self.type_title
        shape_width = right - left
        if self.tint_note:  # the note shares the shape's row, on the right
            note_font = theme.mono_font(8.0)
            note_width = QFontMetricsF(note_font).horizontalAdvance(self.tint_note) + 4
            self._draw(painter, self.tint_note, note_font, theme.TEXT,
                       QRectF(right - note_width, rect.top() + 43, note_width, 19),
                       Qt.AlignmentFlag.AlignRight)
            shape_width -= note_width + 4
        rows = ((self.title, title_font, theme.TEXT, 4, title_width),
                (subtitle, theme.ui_font(9.0), theme.MUTED, 24, right - left),
                ("→ " + self.shape_text, theme.mono_font(9.0), self._shape_colour(), 43,
                 shape_width))
        for text, font, colour, top, width in rows:
            self._draw(painter, text, font, colour, QRectF(left, rect.top() + top, width, 19))

    @staticmethod
    def _draw(painter: QPainter, text: str, font, colour, box: QRectF,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        painter.setFont(font)
        painter.setPen(colour)
        elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, box.width())
        painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, elided)

    def _paint_badge(self, painter: QPainter, rect: QRectF) -> None:
        """A round "!" on the top-right corner: this node has a problem (hover for it)."""
        colour = theme.ERROR if self.severity == "error" else theme.WARNING
        centre = QPointF(rect.right() - 1, rect.top() + 1)
        painter.setPen(QPen(theme.NODE_FILL, 1.5))
        painter.setBrush(QBrush(colour))
        painter.drawEllipse(centre, 8, 8)
        painter.setPen(theme.NODE_FILL)
        painter.setFont(theme.ui_font(8.5, bold=True))
        painter.drawText(QRectF(centre.x() - 8, centre.y() - 8, 16, 16),
                         Qt.AlignmentFlag.AlignCenter, "!")

    def _shape_colour(self):
        return theme.ERROR if self.severity == "error" else theme.SHAPE_TEXT
