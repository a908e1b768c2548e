"""The canvas view: zoom and pan, and the dispatch of mouse gestures to interaction objects."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsView, QLabel, QWidget

from .document import Document
from .edge_item import EdgeItem
from .interactions import (
    DropInteraction,
    Interaction,
    MoveInteraction,
    NewLinkInteraction,
    PanInteraction,
    RubberBandInteraction,
)
from .node_item import SMALLEST_TEXT_PT, NodeItem, PortItem
from .scene import GraphScene

MIN_SCALE, MAX_SCALE = 0.1, 4.0
MIN_TEXT_PX = 9.0  # Fit never shrinks a node's text below this on screen
ZOOM_STEP = 1.25
REFIT_SLACK = 30  # px of viewport change that do not fit again (scroll bars coming and going)
SCENE_MARGIN = 1500.0
TOAST_MS = 4000


class Toast(QLabel):
    """A short message shown near the cursor (why a connection was refused), then hidden."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setMaximumWidth(420)
        self.setStyleSheet("QLabel { background: rgba(40, 44, 52, 235); color: white; "
                           "border-radius: 6px; padding: 7px 10px; }")
        self.hide()
        self._timer = QTimer(self, singleShot=True, interval=TOAST_MS)
        self._timer.timeout.connect(self.hide)

    def show_message(self, text: str, near: QPoint) -> None:
        self.setText(text)
        self.adjustSize()
        area = self.parentWidget().rect()
        x = min(max(4, near.x() + 16), max(4, area.width() - self.width() - 4))
        y = min(max(4, near.y() + 16), max(4, area.height() - self.height() - 4))
        self.move(x, y)
        self.show()
        self.raise_()
        self._timer.start()


class CanvasView(QGraphicsView):
    """Shows a GraphScene. Mouse gestures become Interaction objects; refusals are shown
    near the cursor and announced through ``refused`` (the window's status bar)."""

    refused = Signal(str)
    context_menu_requested = Signal(QPoint)  # viewport coordinates of a right-click

    def __init__(self, document: Document, scene: GraphScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.document = document
        self.interaction: Interaction | None = None
        self.drop_handler = DropInteraction(self)
        self.toast = Toast(self.viewport())
        self._space_held = False
        self._fit_pending = False
        self._fitted = False  # the view shows a fit the user has not zoomed or scrolled since
        self._fitting = False
        self._fit_size = self.viewport().size()
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.actionTriggered.connect(self.user_scrolled)  # drags, clicks, the wheel
        self._rect_timer = QTimer(self, singleShot=True, interval=0)
        self._rect_timer.timeout.connect(self.update_scene_rect)
        scene.changed.connect(self._on_scene_changed)

    def _on_scene_changed(self, regions: list) -> None:
        self._rect_timer.start()

    def scene(self) -> GraphScene:  # typed for readers: always our GraphScene
        return super().scene()

    def refuse(self, message: str, view_pos: QPoint) -> None:
        self.toast.show_message(message, view_pos)
        self.refused.emit(message)

    # ----- zoom and framing -------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        self._fitted = False
        target = min(max(self.zoom() * factor, MIN_SCALE), MAX_SCALE)
        self.scale(target / self.zoom(), target / self.zoom())

    def zoom_in(self) -> None:
        self._zoom_centred(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_centred(1 / ZOOM_STEP)

    def _zoom_centred(self, factor: float) -> None:
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(factor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def fit(self) -> None:
        """Show the whole network, as large as the canvas allows up to 100 %, but never so
        small that node text is under ``MIN_TEXT_PX`` on screen: a network too big for that
        is shown from its top-left (the Input) and the rest is a scroll away.

        The fit follows the viewport while the user leaves it alone: a dock that opens or a
        window that is resized after a fit fits again, so no node is left cut off."""
        rect = self.scene().nodes_rect()
        if not self.isVisible():  # the viewport has no real size yet: fit once it has
            self._fit_pending = True
            return
        if rect.isEmpty():
            return
        self._fitting = True
        rect = rect.adjusted(-30, -30, 30, 30)
        self.resetTransform()
        view = self.viewport().rect()
        scale = min(view.width() / rect.width(), view.height() / rect.height(), 1.0)
        scale = max(scale, min(self.legible_zoom(), 1.0), MIN_SCALE)
        self.scale(scale, scale)
        self.update_scene_rect()
        self.centerOn(self._start_of(rect, view.width() / scale, view.height() / scale))
        self._fitting = False
        self._fitted = True
        self._fit_size = self.viewport().size()

    @staticmethod
    def _start_of(rect: QRectF, width: float, height: float) -> QPointF:
        """The centre to show of ``rect`` in a window ``width`` × ``height`` (scene units):
        its centre along an axis it fits in, else its start (left, top)."""
        x = rect.center().x() if rect.width() <= width else rect.left() + width / 2
        y = rect.center().y() if rect.height() <= height else rect.top() + height / 2
        return QPointF(x, y)

    def text_px(self, point_size: float = SMALLEST_TEXT_PT) -> float:
        """How tall text of ``point_size`` on a node is on screen at the current zoom."""
        return point_size * self.viewport().logicalDpiY() / 72 * self.zoom()

    def legible_zoom(self) -> float:
        """The least zoom at which the smallest node text is ``MIN_TEXT_PX`` tall."""
        return MIN_TEXT_PX / (SMALLEST_TEXT_PT * self.viewport().logicalDpiY() / 72)

    def aspect(self) -> float:
        """The canvas's width over its height (auto-layout wraps a network for it)."""
        size = self.viewport().size()
        return size.width() / max(size.height(), 1)

    def showEvent(self, event) -> None:
        """A fit asked for while hidden (a workspace page sized before it shows gets no
        resize on showing) happens now."""
        super().showEvent(event)
        if self._fit_pending:
            self._fit_pending = False
            self.fit()

    def resizeEvent(self, event) -> None:
        refit = (self._fitted and self._size_changed()) or (self._fit_pending and self.isVisible())
        super().resizeEvent(event)
        if refit and self.isVisible() and not self._fitting:
            self._fit_pending = False
            self.fit()

    def _size_changed(self) -> bool:
        """More than a scroll bar's width since the fit: a fit that hides or shows a scroll
        bar must not fit again (and again)."""
        size = self.viewport().size()
        return (abs(size.width() - self._fit_size.width()) > REFIT_SLACK
                or abs(size.height() - self._fit_size.height()) > REFIT_SLACK)

    def user_scrolled(self, *args) -> None:
        """The user scrolled or panned (a scroll bar, the wheel, a drag): a later resize keeps
        their view. Scrolls Qt makes itself (a scroll bar that appears, a scene rect that
        grows) leave a fit alone."""
        if not self._fitting:
            self._fitted = False

    def is_fitted(self) -> bool:
        return self._fitted

    def centre_on_node(self, node_id: str) -> None:
        item = self.scene().node_items.get(node_id)
        if item is not None:
            self.user_scrolled()  # the user asked for this node: a resize keeps it
            self.centerOn(item)

    def update_scene_rect(self) -> None:
        """Room to scroll around the nodes (and to wherever the view is now)."""
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        nodes = self.scene().nodes_rect()
        area = nodes.united(visible) if not nodes.isEmpty() else visible
        self.setSceneRect(area.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            self.zoom_by(1.15 ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    # ----- gestures ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.cancel_interaction()
        interaction = self._interaction_for(event)
        if interaction is None or interaction.passive:
            super().mousePressEvent(event)
        self.interaction = interaction
        if interaction is not None:
            event.accept()

    def _interaction_for(self, event: QMouseEvent) -> Interaction | None:
        button, pos = event.button(), event.position().toPoint()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_held):
            return PanInteraction(self, pos)
        if button != Qt.MouseButton.LeftButton:
            return None
        item = self.itemAt(pos)
        if isinstance(item, PortItem):
            return NewLinkInteraction(self, item)
        if isinstance(item, (NodeItem, EdgeItem)):
            return MoveInteraction(self)
        additive = bool(event.modifiers() & (Qt.KeyboardModifier.ShiftModifier
                                             | Qt.KeyboardModifier.ControlModifier))
        return RubberBandInteraction(self, self.mapToScene(pos), additive)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        interaction = self.interaction
        if interaction is None or interaction.passive:
            super().mouseMoveEvent(event)
        if interaction is not None:
            pos = event.position().toPoint()
            interaction.move(self.mapToScene(pos), pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        interaction, self.interaction = self.interaction, None
        if interaction is None or interaction.passive:
            super().mouseReleaseEvent(event)
        if interaction is not None:
            pos = event.position().toPoint()
            interaction.release(self.mapToScene(pos), pos)

    def cancel_interaction(self) -> None:
        if self.interaction is not None:
            self.interaction.cancel()
            self.interaction = None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape:
            self.cancel_interaction()
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def contextMenuEvent(self, event) -> None:
        self.cancel_interaction()
        self.context_menu_requested.emit(event.pos())
        event.accept()

    # ----- drops from the palette -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.drop_handler.accepts(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        pos = event.position().toPoint()
        node_id = self.drop_handler.drop(event.mimeData(), self.mapToScene(pos), pos)
        if node_id is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.setFocus()
        else:
            event.ignore()

    def visible_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def visible_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
