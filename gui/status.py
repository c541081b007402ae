"""Status-bar pieces that must not be overwritten by the next message.

The status bar's message line is for what just happened and is replaced at
once by the next event; what the user still has to act on (photos that Esc
left uncoloured, the save in progress, the folder just written) stays in
these permanent widgets until it no longer applies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


def show_in_folder(folder: Path) -> bool:
    """Open ``folder`` in the file manager (tests replace this function)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def reveal(folder: Path, say: Callable[[str], None]) -> bool:
    """"Show in folder": open the file manager, or say where the photos are when none can
    be opened (no file manager registered: it failed without a word)."""
    if show_in_folder(folder) is not False:
        return True
    QGuiApplication.clipboard().setText(str(folder))
    say(f"No file manager could be opened. The photos are in {folder} "
        "(the path is copied, to paste in your file manager)")
    return False


def _row(parent: QWidget) -> QHBoxLayout:
    row = QHBoxLayout(parent)
    row.setContentsMargins(0, 0, 6, 0)
    row.setSpacing(6)
    return row


def _link_button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName("statusButton")
    button.setFlat(True)
    return button


class QueueNotice(QWidget):
    """"Stopped: 5 photos not colorized  [Colorize them]" after Esc, until resumed."""

    resume_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = _row(self)
        self.label = QLabel("")
        self.button = _link_button("Colorize them")
        self.button.setToolTip("Colorize the photos still waiting in the strip")
        self.button.clicked.connect(self.resume_clicked)
        row.addWidget(self.label)
        row.addWidget(self.button)
        self.hide()

    def set_count(self, waiting: int) -> None:
        self.label.setText(
            f"Stopped: {waiting} photo{'s' if waiting != 1 else ''} not colorized"
            if waiting else ""
        )
        self.setVisible(waiting > 0)


class SaveStatus(QWidget):
    """A progress bar while Save / Save All runs, then "Show in folder"."""

    message = Signal(str)  # what the status bar should say (Show in folder failed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = _row(self)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setFormat("Saving %v of %m")
        self.bar.setTextVisible(True)
        self.reveal = _link_button("Show in folder")
        self.reveal.clicked.connect(self._reveal)
        row.addWidget(self.bar)
        row.addWidget(self.reveal)
        self.folder: Path | None = None
        self.bar.hide()
        self.reveal.hide()
        self.hide()

    def set_progress(self, done: int, total: int) -> None:
        running = done < total
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.bar.setVisible(running)
        if running:
            self.reveal.hide()
        self._sync()

    def set_folder(self, folder: Path | None) -> None:
        """Offer the folder just written to (None: nothing written, nothing to show)."""
        self.folder = folder
        self.reveal.setVisible(folder is not None)
        self.reveal.setToolTip(str(folder) if folder else "")
        self._sync()

    def _sync(self) -> None:
        self.setVisible(self.bar.isVisibleTo(self) or self.reveal.isVisibleTo(self))

    def _reveal(self) -> None:
        if self.folder is not None:
            reveal(self.folder, self.message.emit)
