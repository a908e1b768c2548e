"""Help's windows: the guides browser, a block's help page and About. They open without
blocking (``show``), so the window stays usable beside them."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ... import __version__, guides

GUIDE_NAME_ROLE = Qt.ItemDataRole.UserRole


def _browser(parent: QWidget) -> QTextBrowser:
    browser = QTextBrowser(parent)
    browser.setOpenExternalLinks(True)
    return browser


class GuidesDialog(QDialog):
    """The README's guides (``resnet_studio.guides``): a list, and the chosen one as Markdown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("ResNet Studio Guides")
        self.list = QListWidget(self)
        for guide in guides.GUIDES:
            self.list.addItem(guide.title)
            self.list.item(self.list.count() - 1).setData(GUIDE_NAME_ROLE, guide.name)
        self.list.setFixedWidth(190)
        self.browser = _browser(self)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.browser, 1)
        self.list.currentRowChanged.connect(self._show_row)
        self.resize(960, 720)
        self.show_guide(guides.GUIDES[0].name)

    def show_guide(self, name: str) -> None:
        row = [g.name for g in guides.GUIDES].index(name)
        self.list.setCurrentRow(row)
        self._show_row(row)

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(guides.GUIDES):
            self.browser.setMarkdown(guides.read(guides.GUIDES[row].name))


class BlockHelpDialog(QDialog):
    """One block's help page (``texts.block_help_html``); reused for the next block asked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.browser = _browser(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        self.resize(620, 560)

    def show_block(self, title: str, html: str) -> None:
        self.setWindowTitle(f"{title} — Block Help")
        self.browser.setHtml(html)


def versions() -> list[tuple[str, str]]:
    """What this installation runs on, without importing torch (its metadata suffices)."""
    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"
    return [("ResNet Studio", __version__), ("Python", platform.python_version()),
            ("PyTorch", installed("torch")), ("torchvision", installed("torchvision")),
            ("PySide6", pyside_version), ("Qt", qVersion())]


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About ResNet Studio")
        rows = "".join(f"<tr><td>{name}</td><td>{value}</td></tr>" for name, value in versions())
        self.text = QLabel(
            "<h2>ResNet Studio</h2><p>Design, train and understand residual convolutional "
            "networks.</p><p>MIT licence. Block papers are linked from each block's help (F1)."
            f"</p><table cellpadding='2'>{rows}</table>", self)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.setMinimumWidth(420)
