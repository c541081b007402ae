"""The strip of open photos along the bottom, each with a badge for its state.

With a folder of scans open the strip is the overview: which photos are
still queued, which one is being worked on, which are done and which
failed (the tooltip says why). Selecting a thumbnail shows that photo.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QIcon,
    QImage,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from gui import icons, theme

ID_ROLE = Qt.ItemDataRole.UserRole
THUMB_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2

CELL = QSize(118, 112)
STRIP_HEIGHT = CELL.height() + 18

_BADGE = {
    "queued": theme.MUTED,
    "working": theme.WORKING,
    "done": theme.OK,
    "failed": theme.FAILED,
}


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a thumbnail, its name and a state badge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return CELL

    def paint(
        self,
        p: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        cell = QRectF(option.rect).adjusted(5, 6, -5, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        frame = QRectF(cell.left(), cell.top(), cell.width(), cell.height() - 20)

        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.BASE if not hovered else theme.RAISED)
        p.drawRoundedRect(frame, 6, 6)
        thumb = index.data(THUMB_ROLE)
        if isinstance(thumb, QImage) and not thumb.isNull():
            target = _fit(QSize(thumb.width(), thumb.height()), frame.adjusted(3, 3, -3, -3))
            clip = QPainterPath()
            clip.addRoundedRect(target, 4, 4)
            p.setClipPath(clip)
            p.drawImage(target, thumb)
            p.setClipping(False)
        else:  # not decoded yet (or unreadable): a faint photo glyph
            glyph = icons.icon("open").pixmap(28, 28, QIcon.Mode.Disabled)
            p.drawPixmap(int(frame.center().x() - 14), int(frame.center().y() - 14), glyph)
        if selected:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(theme.ACCENT, 2))
            p.drawRoundedRect(frame.adjusted(1, 1, -1, -1), 6, 6)

        state = str(index.data(STATE_ROLE) or "queued")
        _badge(p, QPointF(frame.right() - 11, frame.bottom() - 11), state)

        font = QFont(option.font)
        font.setPointSizeF(font.pointSizeF() * 0.88)
        p.setFont(font)
        p.setPen(theme.TEXT if selected else theme.MUTED)
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        text_rect = QRectF(cell.left(), frame.bottom() + 3, cell.width(), 16)
        elided = p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, int(cell.width()))
        p.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided)
        p.restore()


def _fit(size: QSize, box: QRectF) -> QRectF:
    """The largest rect of ``size``'s aspect ratio centred in ``box``."""
    if size.width() <= 0 or size.height() <= 0:
        return box
    k = min(box.width() / size.width(), box.height() / size.height())
    w, h = size.width() * k, size.height() * k
    return QRectF(box.center().x() - w / 2, box.center().y() - h / 2, w, h)


def _badge(p: QPainter, centre: QPointF, state: str) -> None:
    """A round state badge: clock (queued), dots (working), tick (done), ! (failed)."""
    color = _BADGE.get(state, theme.MUTED)
    p.setPen(QPen(QColor(20, 20, 22), 2))
    p.setBrush(color)
    p.drawEllipse(centre, 8.5, 8.5)
    pen = QPen(QColor("#ffffff") if state != "queued" else QColor("#1b1b1c"), 1.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    x, y = centre.x(), centre.y()
    if state == "done":
        p.drawLine(QPointF(x - 4, y + 0.2), QPointF(x - 1.2, y + 3))
        p.drawLine(QPointF(x - 1.2, y + 3), QPointF(x + 4, y - 3))
    elif state == "failed":
        p.drawLine(QPointF(x, y - 4), QPointF(x, y + 1))
        p.drawPoint(QPointF(x, y + 4))
    elif state == "working":
        for dx in (-3.5, 0.0, 3.5):
            p.drawPoint(QPointF(x + dx, y))
    else:
        p.drawLine(QPointF(x, y), QPointF(x, y - 4))
        p.drawLine(QPointF(x, y), QPointF(x + 3, y + 1.5))


class ThumbnailStrip(QListWidget):
    """A horizontal list of the open photos; emits the id of the one picked."""

    photo_selected = Signal(int)
    selection_changed = Signal()  # Ctrl/Shift-click: the photos a panel change applies to
    files_dropped = Signal(list)
    remove_requested = Signal(list)  # ids to close, as one step
    retry_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumbnails")
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(ThumbnailDelegate(self))
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setDragEnabled(False)
        self.setFixedHeight(STRIP_HEIGHT)
        self.setSpacing(0)
        self._items: dict[int, QListWidgetItem] = {}
        self.currentItemChanged.connect(self._on_current)
        self.itemSelectionChanged.connect(self.selection_changed)

    # -- content -------------------------------------------------------------
    def add(self, item_id: int, name: str, row: int | None = None) -> None:
        """Add a photo's tile, at the end or at ``row`` (a closed photo opened again)."""
        item = QListWidgetItem(name)
        item.setData(ID_ROLE, item_id)
        item.setData(STATE_ROLE, "queued")
        item.setToolTip(f"{name} — queued")
        self._items[item_id] = item
        if row is None:
            self.addItem(item)
        else:
            self.insertItem(row, item)

    def update_item(self, item_id: int, thumb: QImage | None, state: str, tooltip: str) -> None:
        item = self._items.get(item_id)
        if item is None:
            return
        if thumb is not None and item.data(THUMB_ROLE) is not thumb:
            item.setData(THUMB_ROLE, thumb)
        item.setData(STATE_ROLE, state)
        item.setToolTip(tooltip)

    def remove(self, item_id: int) -> None:
        item = self._items.pop(item_id, None)
        if item is not None:
            self.takeItem(self.row(item))

    def select(self, item_id: int | None) -> None:
        """Highlight a photo without emitting photo_selected (the caller already knows)."""
        self.blockSignals(True)
        try:
            item = self._items.get(item_id) if item_id is not None else None
            if item is None:
                self.clearSelection()
                self.setCurrentItem(None)
            elif item is not self.currentItem() or not item.isSelected():
                # Part of a multi-selection (Ctrl-click): keep it; otherwise select just it.
                keep = item.isSelected() and len(self.selectedItems()) > 1
                flag = (QItemSelectionModel.SelectionFlag.NoUpdate if keep
                        else QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.setCurrentItem(item, flag)
            if item is not None:
                self.scrollToItem(item)
        finally:
            self.blockSignals(False)
        self.viewport().update()

    def selected_ids(self) -> list[int]:
        """The selected photos, in strip order."""
        return [int(self.item(r).data(ID_ROLE)) for r in range(self.count())
                if self.item(r).isSelected()]

    def select_ids(self, ids: list[int]) -> None:
        """Select several photos (what Ctrl-clicking them does); the current one stays."""
        for item_id in ids:
            item = self._items.get(item_id)
            if item is not None:
                item.setSelected(True)

    def ids(self) -> list[int]:
        return [int(self.item(r).data(ID_ROLE)) for r in range(self.count())]

    def state_of(self, item_id: int) -> str:
        item = self._items.get(item_id)
        return str(item.data(STATE_ROLE)) if item is not None else ""

    def tooltip_of(self, item_id: int) -> str:
        item = self._items.get(item_id)
        return item.toolTip() if item is not None else ""

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.photo_selected.emit(int(current.data(ID_ROLE)))

    def _current_id(self) -> int | None:
        item = self.currentItem()
        return int(item.data(ID_ROLE)) if item is not None else None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        if self.count() == 0:  # say what the empty band is for
            p = QPainter(self.viewport())
            p.setPen(theme.MUTED.darker(130))
            p.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter,
                       "Open photos appear here, with their progress")
            p.end()

    # -- interaction ---------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            current = self._current_id()
            chosen = self.selected_ids() if current in self.selected_ids() else []
            ids = chosen or ([current] if current is not None else [])
            if ids:
                self.remove_requested.emit(ids)
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        item = self.itemAt(event.pos())
        if item is None:
            return
        item_id = int(item.data(ID_ROLE))
        menu = QMenu(self)
        if item.data(STATE_ROLE) == "failed":
            menu.addAction("Try Again", lambda: self.retry_requested.emit(item_id))
        menu.addAction("Remove from List", lambda: self.remove_requested.emit([item_id]))
        menu.exec(event.globalPos())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
