"""A short tour of the window's workspaces: a few pages with Back and Next, shown once on the
first start (``show_tour_once``) and again from Help → Tour of the Workspaces.

The pages are one data structure, ``TOUR``, so the text has one place to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

SEEN_KEY = "help/tour_seen"
BODY_WIDTH = 500  # pixels: the text's width, so that every page wraps alike


@dataclass(frozen=True)
class TourPage:
    title: str
    text: str


TOUR = (
    TourPage("Welcome to ResNet Studio",
             "Design a residual network, train it on your GPU or CPU, compare it with its plain "
             "twin and see why skip connections work. The window has five workspaces, one for "
             "each part of that work; the mode bar switches between them (Ctrl+1 … Ctrl+5)."),
    TourPage("Design",
             "Drag blocks from the palette onto the canvas and connect their ports. Every node "
             "shows its output shape; the inspector edits the selected node, the summary lists "
             "parameters, MACs and problems, and model.py shows the PyTorch code. Press F1 on a "
             "block for its documentation and paper."),
    TourPage("Data",
             "Choose what the network learns from: the built-in synthetic set, a known dataset "
             "or a folder of images with one sub-folder per class. See real samples with their "
             "labels, the class counts, the input the network will see and the augmentation."),
    TourPage("Train",
             "Set the recipe (optimiser, learning rate, schedule, epochs) and press F5. Loss, "
             "accuracy, learning rate and every layer's gradient norm stream in live; the runs "
             "table keeps each run, to compare or to resume. Ctrl+F5 trains the plain twin too."),
    TourPage("Experiments",
             "Studies train several runs for you: the network at several depths with and "
             "without skip connections, its blocks swapped for other types, or a sweep of "
             "settings. Their charts and tables compare the runs with error bars over seeds."),
    TourPage("Analyze",
             "Four analyses explain what a network does: signal propagation at initialisation, "
             "a lesion study, the loss landscape and explaining one image (Grad-CAM, "
             "Integrated Gradients). Each shows its figures at full size for a run you pick."),
    TourPage("Getting help",
             "Help → Guides holds the README's guides, offline. Help → Keyboard Shortcuts lists "
             "every shortcut of the window. This tour stays in the Help menu."),
)


class TourDialog(QDialog):
    """The tour's pages, one at a time; Next on the last page closes it."""

    def __init__(self, parent: QWidget | None = None, pages: tuple[TourPage, ...] = TOUR):
        super().__init__(parent)
        self.setWindowTitle("Tour of ResNet Studio")
        self.pages, self.index = pages, 0
        self.heading = QLabel(self)
        self.heading.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.body = QLabel(self, wordWrap=True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.counter = QLabel(self)
        self.back = QPushButton("Back", self)
        self.next = QPushButton("Next", self, default=True)
        self.back.clicked.connect(lambda: self.show_page(self.index - 1))
        self.next.clicked.connect(self._forward)
        self._lay_out()
        self.body.setFixedWidth(BODY_WIDTH)
        self.body.setMinimumHeight(self._tallest_text())
        self.show_page(0)
        self.adjustSize()

    def _tallest_text(self) -> int:
        """The height of the longest page's text at the body's width: the dialog keeps one
        size through the tour, with no empty band under a short page."""
        metrics = self.body.fontMetrics()
        flags = int(Qt.TextFlag.TextWordWrap)
        return max(metrics.boundingRect(0, 0, BODY_WIDTH, 10_000, flags, page.text).height()
                   for page in self.pages)

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        buttons.addWidget(self.back)
        buttons.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.body, 1)
        layout.addLayout(buttons)

    def show_page(self, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        page = self.pages[self.index]
        self.heading.setText(page.title)
        self.body.setText(page.text)
        self.counter.setText(f"{self.index + 1} of {len(self.pages)}")
        self.back.setEnabled(self.index > 0)
        self.next.setText("Done" if self.index == len(self.pages) - 1 else "Next")

    def _forward(self) -> None:
        if self.index == len(self.pages) - 1:
            self.accept()
        else:
            self.show_page(self.index + 1)


def show_tour_once(parent: QWidget, settings: QSettings) -> TourDialog | None:
    """Open the tour (without blocking) unless these settings say it was shown before, or
    the window has closed meanwhile (Ctrl-C before the first paint's callbacks ran)."""
    if settings.value(SEEN_KEY, False, type=bool) or (parent is not None
                                                       and not parent.isVisible()):
        return None
    settings.setValue(SEEN_KEY, True)
    dialog = TourDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
