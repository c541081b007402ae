"""Small dialogs: the keyboard shortcut list and About.

The shortcut list is built from the window's actions themselves, so it can
never disagree with what the keys really do.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what it does, keys) for every action that has a shortcut."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        keys = [k for k in keys if k]  # a standard key the platform leaves unbound
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…").rstrip("."), ",  ".join(keys)))
    return rows


class ShortcutsDialog(QDialog):
    """Help > Keyboard Shortcuts: every action and its keys."""

    def __init__(
        self,
        actions: Iterable[QAction],
        extra: Iterable[tuple[str, str]] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(500, 740)
        self.rows = shortcut_rows(actions) + list(extra)
        table = QTableWidget(len(self.rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(24)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for r, (what, keys) in enumerate(self.rows):
            table.setItem(r, 0, QTableWidgetItem(what))
            table.setItem(r, 1, QTableWidgetItem(keys))
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)


def about_text(device: str, models: str) -> str:
    return (
        "<h3>Tinct</h3>"
        "<p>Colorizes black-and-white photos. Tinct recognises what a photo shows "
        "(a dog, a beach, a city street…) and gives it the colours it learned from "
        "colour photos of that kind of scene. Colour pins set a colour where you know it "
        "(her dress was blue).</p>"
        f"<p>Models: {models}<br>Runs on: {device or 'not loaded yet'}</p>"
    )


def about(parent: QWidget, device: str, models: str) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle("About Tinct")
    label = QLabel(about_text(device, models))
    label.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
    buttons.accepted.connect(dialog.accept)
    layout = QVBoxLayout(dialog)
    layout.addWidget(label)
    layout.addWidget(buttons)
    return dialog
