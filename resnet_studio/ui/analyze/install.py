"""Installing Captum, the optional extra that explaining an image needs, from the app: a
dialog that says what is missing and the command that adds it, and runs that command (the
app's own Python's ``pip``) only when asked, showing its output as a terminal would."""

from __future__ import annotations

import sys

from PySide6.QtCore import QProcess
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

PACKAGE = "resnet-studio[explain]"
INSTALL_COMMAND = f"pip install '{PACKAGE}'"


def pip_arguments() -> list[str]:
    """``python -m pip install resnet-studio[explain]`` for the Python running the app, so the
    package lands in the same environment (a virtual environment's own pip)."""
    return ["-m", "pip", "install", PACKAGE]


class InstallDialog(QDialog):
    """Shows the install command; Install runs ``program arguments`` and streams its output.
    ``succeeded`` is True once the command exited with status 0."""

    def __init__(self, parent: QWidget | None = None, program: str = sys.executable,
                 arguments: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Explaining an image needs Captum")
        self.setMinimumSize(620, 360)
        self.program, self.arguments = program, arguments or pip_arguments()
        self.succeeded = False
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        intro = QLabel(
            "Explain an Image uses Captum, an optional extra of ResNet Studio. Install it "
            f"with:<br><code>{INSTALL_COMMAND}</code><br>Press Install to run this now with "
            f"the app's Python (<code>{self.program} {' '.join(self.arguments)}</code>); then "
            "restart the app.", wordWrap=True)
        self.output = QPlainTextEdit(readOnly=True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("pip's output appears here.")
        self.install_button = QPushButton("Install")
        self.install_button.clicked.connect(self.install)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.output, 1)
        layout.addWidget(buttons)

    def install(self) -> None:
        self.install_button.setEnabled(False)
        self.output.appendPlainText(f"$ {self.program} {' '.join(self.arguments)}")
        self.process.start(self.program, self.arguments)

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        self.output.appendPlainText(text.rstrip("\n"))

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.succeeded = code == 0 and status == QProcess.ExitStatus.NormalExit
        self.output.appendPlainText(
            "Installed. Restart ResNet Studio to explain images." if self.succeeded else
            f"The command failed (exit status {code}); see its output above.")
        self.install_button.setEnabled(not self.succeeded)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.output.appendPlainText(f"Could not start {self.program}.")
            self.install_button.setEnabled(True)

    def done(self, result: int) -> None:
        """Closing the dialog stops a command still running (no process is left behind)."""
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(3000)
        super().done(result)
