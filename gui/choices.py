"""The scene (category) picker shared by the Colour panel and the batch dialog.

Scenes without any model are listed, dimmed, with the reason as tooltip:
clicking one keeps the list open and says why, instead of closing it as if
something had been chosen. The words are a photographer's, not the model
store's ("general colours", not "universal model").
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QBrush, QMouseEvent, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QToolTip, QWidget

from core.categories import CATEGORIES
from gui import theme


def title(name: str) -> str:
    """A category as people read it ("dog" -> "Dog")."""
    return name[:1].upper() + name[1:]


#: core's category status -> (suffix in the list, tooltip).
STATUS_WORDS = {
    "own model": ("", "Colours learned from {cat} photos."),
    "universal model": ("  (general colours)",
                        "No {cat} photos to learn from yet: Tinct's general colours are used."),
    "no model yet": ("  (not available)",
                     "Not available yet: no {cat} photos to learn from and no general colours "
                     "to stand in, so it cannot be chosen."),
}
#: Dimmed text of a scene that cannot be chosen (the style sheet alone does not reach
#: the popup's items on every platform style).
DISABLED = theme.MUTED.darker(150)


class CategoryCombo(QComboBox):
    """Auto plus every scene; ``set_status`` dims the scenes that cannot be chosen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem("Auto", "auto")
        self.setItemData(0, "Let Tinct recognise the scene.", Qt.ItemDataRole.ToolTipRole)
        for cat in CATEGORIES:
            self.addItem(title(cat), cat)
        self.setMaxVisibleItems(len(CATEGORIES) + 1)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(6)
        self.view().viewport().installEventFilter(self)

    def set_status(self, status: dict[str, str]) -> None:
        """Enable scenes that have colours; dim the others and say why in the tooltip."""
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        for row in range(1, self.count()):
            cat = str(self.itemData(row))
            state = status.get(cat, "no model yet")
            suffix, tip = STATUS_WORDS.get(state, ("", state))
            item = model.item(row)
            usable = state != "no model yet"
            item.setEnabled(usable)
            item.setText(title(cat) + suffix)
            item.setToolTip(tip.format(cat=cat))
            item.setForeground(QBrush() if usable else QBrush(DISABLED))

    def is_enabled(self, category: str) -> bool:
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        row = self.findData(category)
        return row >= 0 and model.item(row).isEnabled()

    def tooltip(self, category: str) -> str:
        return str(self.itemData(self.findData(category), Qt.ItemDataRole.ToolTipRole) or "")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """A click on a scene that cannot be chosen: keep the list open, show why."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                            QEvent.Type.MouseButtonDblClick) and isinstance(event, QMouseEvent):
            index = self.view().indexAt(event.position().toPoint())
            if index.isValid() and not index.flags() & Qt.ItemFlag.ItemIsEnabled:
                if event.type() == QEvent.Type.MouseButtonRelease:
                    QToolTip.showText(event.globalPosition().toPoint(),
                                      self.tooltip(str(index.data(Qt.ItemDataRole.UserRole))),
                                      self.view())
                return True
        return super().eventFilter(watched, event)
