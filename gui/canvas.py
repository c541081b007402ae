"""The before/after canvas: the photo with a draggable split, zoom and pan.

Left of the divider is the original scan, right of it the colour result, so
the two are compared on the same pixels. Painting only ever draws the
visible part of a ready-made image (a preview when zoomed out, the full
resolution when zoomed in), so a 12 MP photo pans as smoothly as a small one.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import icons, theme
from gui.imaging import Frames
from gui.zoom_control import ZoomControl

#: Blank border around a fitted photo, in pixels.
FIT_MARGIN = 18
#: How close (pixels) the mouse must be to grab the divider.
GRAB_DISTANCE = 12
MIN_SCALE, MAX_SCALE = 0.02, 16.0
WHEEL_STEP = 1.2
#: Gap between the zoom control and the canvas' corner.
CONTROL_MARGIN = 12


class CompareCanvas(QWidget):
    """Shows one photo: original, colour, or both split by a draggable divider."""

    files_dropped = Signal(list)  # local paths (files and folders)
    image_dropped = Signal(QImage)  # image data without a file (e.g. from a browser)
    view_changed = Signal()  # zoom or fit changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(360, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._original: Frames | None = None
        self._colour: Frames | None = None
        self._split = 0.5  # divider position across the visible photo, 0..1
        self._split_enabled = True
        self._show_original = False
        self._fit = True
        self._scale = 1.0
        self._offset = QPointF()
        self._drag: str | None = None  # "split" | "pan"
        self._drag_origin = QPointF()
        self._split_grab = 0.0  # pointer x - divider x when a divider drag began
        self._offset_origin = QPointF()
        self._drop_hover = False
        self._status = ""
        self._busy = False
        self._error = ""
        self._placeholder = ""
        self._placeholder_warn = False
        self._placeholder_busy = False
        self._spin = 0
        self._spinner = QTimer(self)
        self._spinner.setInterval(80)
        self._spinner.timeout.connect(self._tick)
        self._tool: object | None = None  # e.g. issue 10's pin tool (see set_tool)
        #: things painted over the photo whatever the tool (``paint(painter)``), e.g.
        #: issue 23's view of the repaired pixels
        self.overlays: list[object] = []
        #: What the last paint showed ("empty", "error", "status", "photo") and which
        #: corner labels: the tests read what a user would see.
        self.painted = ""
        self.painted_labels: list[str] = []
        self.zoom_control = ZoomControl(self)
        self.zoom_control.fit_requested.connect(self.fit)
        self.zoom_control.zoom_requested.connect(
            lambda s: self.zoom_to(s / self.devicePixelRatioF())
        )
        self.zoom_control.step_requested.connect(lambda f: self.zoom_by(f))
        self.view_changed.connect(self._sync_zoom_control)
        self._sync_zoom_control()

    # -- content -----------------------------------------------------------
    def set_photo(
        self, original: Frames | None, colour: Frames | None, same_photo: bool = False
    ) -> None:
        """Show a photo; ``same_photo`` keeps zoom and pan (a re-render of the one shown)."""
        before = self._size()
        self._original = original
        self._colour = colour
        if not same_photo or self._size() != before:
            self._fit = True
        self._relayout()
        self.update()
        self.view_changed.emit()

    def clear(self) -> None:
        self._original = self._colour = None
        self._error = ""
        self.set_status("")
        self.update()
        self.view_changed.emit()

    # -- tools (issue 10's colour pins) ---------------------------------------
    def set_tool(self, tool: object | None) -> None:
        """Hand mouse presses on the photo to ``tool`` (None: compare/pan as usual).

        A tool has ``press(pos, photo_xy) -> bool``, ``move(pos, photo_xy)``,
        ``release(pos, photo_xy)`` and ``paint(painter)``; press returning False
        lets the canvas handle the click itself.
        """
        self._tool = tool
        self.refresh_cursor()
        self.update()

    def refresh_cursor(self) -> None:
        """The cursor for the current tool (a pin tool's crosshair), before any move."""
        shape = getattr(self._tool, "cursor", lambda: None)()
        if shape is not None:
            self.setCursor(shape)
        else:
            self.unsetCursor()

    def to_photo(self, pos: QPointF) -> QPointF | None:
        """The photo pixel under a widget point, or None off the photo."""
        size = self._size()
        if size is None:
            return None
        point = self.photo_point(pos)
        if 0 <= point.x() < size[0] and 0 <= point.y() < size[1]:
            return point
        return None

    def photo_point(self, pos: QPointF) -> QPointF:
        """Photo coordinates of a widget point, also off the photo (a drag past its edge)."""
        return (pos - self._offset) / max(self._scale, 1e-6)

    def from_photo(self, point: QPointF) -> QPointF:
        """Where a photo pixel is drawn, in widget coordinates."""
        return self._offset + point * self._scale

    @property
    def drop_hover(self) -> bool:
        """Something droppable is being dragged over the canvas."""
        return self._drop_hover

    def _sync_zoom_control(self) -> None:
        control = self.zoom_control
        control.setVisible(self.has_photo)
        control.set_zoom(self.scale, self._fit)
        control.adjustSize()
        control.move(self.width() - control.width() - CONTROL_MARGIN,
                     self.height() - control.height() - CONTROL_MARGIN)

    def set_status(self, text: str, busy: bool = False) -> None:
        """A small pill over the photo ("Colorizing…"), with a spinner while busy."""
        self._status = text
        self._busy = busy and bool(text)
        self._sync_spinner()
        self.update()

    def set_error(self, text: str) -> None:
        """Why this photo has no result (shown over the original, or alone)."""
        self._error = text
        self.update()

    def set_placeholder(self, text: str, warn: bool = False, busy: bool = False) -> None:
        """The line under the empty drop zone: model loading, or how to get models."""
        self._placeholder = text
        self._placeholder_warn = warn
        self._placeholder_busy = busy
        self._sync_spinner()
        self.update()

    def _sync_spinner(self) -> None:
        if self._busy or self._placeholder_busy:
            if not self._spinner.isActive():
                self._spinner.start()
        else:
            self._spinner.stop()

    @property
    def has_photo(self) -> bool:
        return self._original is not None or self._colour is not None

    @property
    def has_colour(self) -> bool:
        return self._colour is not None

    @property
    def status(self) -> str:
        return self._status

    @property
    def error(self) -> str:
        return self._error

    @property
    def placeholder(self) -> str:
        return self._placeholder

    # -- compare -------------------------------------------------------------
    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        self._split = min(1.0, max(0.0, fraction))
        self.update()

    @property
    def split_enabled(self) -> bool:
        return self._split_enabled

    def set_split_enabled(self, on: bool) -> None:
        self._split_enabled = on
        self.update()

    @property
    def showing_original(self) -> bool:
        return self._show_original

    def set_show_original(self, on: bool) -> None:
        self._show_original = on
        self.update()

    def toggle_original(self) -> None:
        """Flip between the original and the colour version (the B key)."""
        self.set_show_original(not self._show_original)

    # -- zoom ----------------------------------------------------------------
    @property
    def scale(self) -> float:
        """Screen pixels per photo pixel (device pixels: 1.0 is 100%)."""
        return self._scale * self.devicePixelRatioF()

    @property
    def is_fit(self) -> bool:
        return self._fit

    def fit(self) -> None:
        self._fit = True
        self._relayout()
        self.update()
        self.view_changed.emit()

    def zoom_100(self) -> None:
        self.zoom_to(1.0 / self.devicePixelRatioF())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.zoom_to(self._scale * factor, anchor)

    def zoom_to(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the photo point under ``anchor`` (default: the centre) in place."""
        if not self.has_photo:
            return
        scale = min(MAX_SCALE, max(MIN_SCALE, scale))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        point = (anchor - self._offset) / self._scale
        self._fit = False
        self._scale = scale
        self._offset = anchor - point * scale
        self._clamp()
        self.update()
        self.view_changed.emit()

    def _size(self) -> tuple[int, int] | None:
        frames = self._original or self._colour
        return (frames.width, frames.height) if frames is not None else None

    def _band(self) -> float:
        """The strip along the bottom that the zoom control floats in: a fitted photo stays
        above it (at 900x600 the control covered the photo's corner)."""
        return float(self.zoom_control.sizeHint().height() + 2 * CONTROL_MARGIN)

    def _fit_scale(self) -> float:
        size = self._size()
        if size is None:
            return 1.0
        w = max(1.0, self.width() - 2 * FIT_MARGIN)
        h = max(1.0, self.height() - FIT_MARGIN - max(FIT_MARGIN, self._band()))
        return min(w / size[0], h / size[1])

    def _relayout(self) -> None:
        if self._fit:
            self._scale = self._fit_scale()
        self._clamp()

    def _clamp(self) -> None:
        """Centre an axis the photo does not fill; otherwise keep the photo on screen."""
        size = self._size()
        if size is None:
            return
        x, y = self._offset.x(), self._offset.y()
        w, h = size[0] * self._scale, size[1] * self._scale
        x = (self.width() - w) / 2 if w <= self.width() else min(0.0, max(self.width() - w, x))
        room = self.height() - self._band()  # above the zoom control, when the photo fits
        if h <= room:
            y = (room - h) / 2 + min(FIT_MARGIN, self._band()) / 2
        elif h <= self.height():
            y = (self.height() - h) / 2
        else:
            y = min(0.0, max(self.height() - h, y))
        self._offset = QPointF(x, y)

    def _pannable(self) -> bool:
        size = self._size()
        if size is None:
            return False
        return size[0] * self._scale > self.width() + 0.5 or size[1] * self._scale > (
            self.height() + 0.5
        )

    def image_rect(self) -> QRectF:
        """Where the whole photo lies in widget coordinates (may reach off screen)."""
        size = self._size() or (0, 0)
        return QRectF(self._offset, QSizeF(size[0] * self._scale, size[1] * self._scale))

    def visible_rect(self) -> QRectF:
        return self.image_rect().intersected(QRectF(self.rect()))

    def split_x(self) -> float:
        vis = self.visible_rect()
        return vis.left() + self._split * vis.width()

    def _splitting(self) -> bool:
        return self._split_enabled and self._colour is not None and not self._show_original

    # -- events --------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        self._relayout()
        super().resizeEvent(event)
        self.view_changed.emit()  # a fitted photo's scale changed with the window

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or not self.has_photo:
            return super().mousePressEvent(event)
        pos = event.position()
        if self._tool is not None and self._tool.press(pos, self.to_photo(pos)):
            self._drag = "tool"
            event.accept()
            return
        near_divider = abs(pos.x() - self.split_x()) <= GRAB_DISTANCE
        if self._splitting() and (near_divider or not self._pannable()):
            # The divider follows the drag from where it is: a click alone never makes it
            # jump to the pointer (it did, anywhere on the photo).
            self._drag = "split"
            self._split_grab = pos.x() - self.split_x()
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self._pannable():
            self._drag = "pan"
            self._drag_origin = pos
            self._offset_origin = QPointF(self._offset)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag == "tool":
            self._tool.move(pos, self.to_photo(pos))
        elif self._drag == "split":
            self._move_split(pos.x() - self._split_grab)
        elif self._drag == "pan":
            self._offset = self._offset_origin + (pos - self._drag_origin)
            self._clamp()
            self.update()
        else:
            self._update_cursor(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag == "tool" and self._tool is not None:
            self._tool.release(event.position(), self.to_photo(event.position()))
        self._drag = None
        self._update_cursor(event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Double-click: 100% at that point, or back to fit."""
        if not self.has_photo:
            return
        if self._fit:
            self.zoom_to(1.0 / self.devicePixelRatioF(), event.position())
        else:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps and self.has_photo:
            self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def _move_split(self, x: float) -> None:
        vis = self.visible_rect()
        if vis.width() > 0:
            self.set_split((x - vis.left()) / vis.width())

    def _update_cursor(self, pos: QPointF) -> None:
        shape = getattr(self._tool, "cursor", lambda: None)()
        if shape is not None:  # a tool's mode shows on the pointer (pins, Pick)
            self.setCursor(shape)
        elif self._splitting() and abs(pos.x() - self.split_x()) <= GRAB_DISTANCE:
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self._pannable():
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.unsetCursor()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if any(u.isLocalFile() for u in mime.urls()) or mime.hasImage():
            self._drop_hover = True
            event.acceptProposedAction()
            self.update()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._drop_hover = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._drop_hover = False
        self.update()
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        elif mime.hasImage():
            event.acceptProposedAction()
            self.image_dropped.emit(QImage(mime.imageData()))
        else:
            event.ignore()

    def _tick(self) -> None:
        """Advance the spinner, repainting only the strip it sits in."""
        self._spin = (self._spin + 1) % 12
        if self.has_photo and not self._drop_hover:
            self.update(0, self.height() - 140, self.width(), 140)
        else:
            self.update()

    # -- painting ----------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), theme.CANVAS)
        self.painted_labels = []
        if not self.has_photo:
            if self._error:  # a photo that could not be opened: say why, not "drop here"
                self.painted = "error"
                self._paint_message(p, self._error, theme.FAILED)
            elif self._status:  # a photo still decoding ("Opening…")
                self.painted = "status"
                self._paint_status(p, centred=True)
            else:
                self.painted = "empty"
                self._paint_empty(p)
            p.end()
            return
        self.painted = "photo"
        vis = self.visible_rect()
        smooth = not (abs(self.scale - 1.0) < 1e-3 or self.scale >= 2.0)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        if self._splitting():
            x = self.split_x()
            left = QRectF(vis.left(), vis.top(), x - vis.left(), vis.height())
            right = QRectF(x, vis.top(), vis.right() - x, vis.height())
            if self._original is not None:
                self._draw(p, self._original, left)
            self._draw(p, self._colour, right)
            self._corner_label(p, "Before", left, right_side=False)
            self._corner_label(p, "After", right, right_side=True)
            self._paint_divider(p, vis, x)
        else:
            shown = self._colour
            label = "Colour" if self._split_enabled is False and shown is not None else ""
            if self._show_original or shown is None:
                shown = self._original or self._colour
                label = "Original" if self._colour is not None else ""
            self._draw(p, shown, vis)
            if label:
                self._corner_label(p, label, vis, right_side=False)
        for overlay in self.overlays:
            overlay.paint(p)
        if self._tool is not None:
            self._tool.paint(p)
        if self._error:
            self._paint_message(p, self._error, theme.FAILED)
        elif self._status:
            self._paint_status(p)
        if self._drop_hover:
            self._paint_drop_hint(p)
        p.end()

    def _paint_drop_hint(self, p: QPainter) -> None:
        """Dragging files over an open photo: say that dropping opens (and shows) them."""
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(20, 20, 22, 150))
        zone = QRectF(self.rect()).adjusted(16, 16, -16, -16)
        pen = QPen(theme.ACCENT, 2, Qt.PenStyle.DashLine)
        pen.setDashPattern([5, 4])
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(zone, 16, 16)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setWeight(QFont.Weight.DemiBold)
        p.setFont(font)
        p.setPen(theme.TEXT)
        p.drawText(zone, Qt.AlignmentFlag.AlignCenter, "Drop to open these photos")
        p.restore()

    def _draw(self, p: QPainter, frames: Frames | None, target: QRectF) -> None:
        """Paint the part of ``frames`` that falls in ``target`` (widget coordinates)."""
        if frames is None or target.width() <= 0 or target.height() <= 0:
            return
        image = frames.for_scale(self.scale)
        k = image.width() / frames.width
        source = QRectF(
            (target.left() - self._offset.x()) / self._scale * k,
            (target.top() - self._offset.y()) / self._scale * k,
            target.width() / self._scale * k,
            target.height() / self._scale * k,
        )
        p.drawImage(target, image, source)

    def _paint_divider(self, p: QPainter, vis: QRectF, x: float) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(0, 0, 0, 90), 3))
        p.drawLine(QPointF(x, vis.top()), QPointF(x, vis.bottom()))
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
        p.drawLine(QPointF(x, vis.top()), QPointF(x, vis.bottom()))
        centre = QPointF(x, vis.center().y())
        p.setBrush(QColor(30, 30, 32, 210))
        p.drawEllipse(centre, 15, 15)
        p.setBrush(QColor(255, 255, 255, 230))
        p.setPen(Qt.PenStyle.NoPen)
        for direction in (-1, 1):
            tri = QPainterPath(QPointF(x + direction * 9, centre.y()))
            tri.lineTo(x + direction * 3.5, centre.y() - 5)
            tri.lineTo(x + direction * 3.5, centre.y() + 5)
            tri.closeSubpath()
            p.drawPath(tri)
        p.restore()

    def _corner_label(self, p: QPainter, text: str, area: QRectF, right_side: bool) -> None:
        """Label a side of the split in its top corner; left out where it would not fit
        (a clipped sliver of a pill at the edge reads as a glitch)."""
        if area.width() < self.pill_width(text) + 20:
            return
        self.painted_labels.append(text)
        p.save()
        p.setClipRect(area)
        if right_side:
            self._pill(p, text, QPointF(area.right() - 10, area.top() + 10),
                       Qt.AlignmentFlag.AlignRight)
        else:
            self._pill(p, text, QPointF(area.left() + 10, area.top() + 10),
                       Qt.AlignmentFlag.AlignLeft)
        p.restore()

    def _pill_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.92)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def pill_width(self, text: str) -> float:
        from PySide6.QtGui import QFontMetricsF

        return QFontMetricsF(self._pill_font()).horizontalAdvance(text) + 18

    def _pill(self, p: QPainter, text: str, at: QPointF, align: Qt.AlignmentFlag) -> QRectF:
        """A small rounded label; ``at`` is its top-left (or top-right when right-aligned)."""
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self._pill_font())
        metrics = p.fontMetrics()
        w = self.pill_width(text)
        h = metrics.height() + 8
        x = at.x() - w if align == Qt.AlignmentFlag.AlignRight else at.x()
        rect = QRectF(x, at.y(), w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 22, 170))
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(theme.TEXT)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()
        return rect

    def _paint_status(self, p: QPainter, centred: bool = False) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = p.fontMetrics()
        spinner = 22 if self._busy else 0
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        room = max(120, min(self.width() - 60, 640) - 32 - spinner)
        text = metrics.boundingRect(0, 0, room, 400, flags, self._status)
        w = text.width() + 32 + spinner
        h = text.height() + 16
        above = self.zoom_control.height() + CONTROL_MARGIN if self.zoom_control.isVisible() else 0
        top = (self.height() - h) / 2 if centred else self.height() - h - 24 - above
        rect = QRectF((self.width() - w) / 2, top, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 22, 200))
        p.drawRoundedRect(rect, h / 2, h / 2)
        if self._busy:
            self._paint_spinner(p, QPointF(rect.left() + 22, rect.center().y()), 7)
        p.setPen(theme.TEXT)
        p.drawText(rect.adjusted(16 + spinner, 0, -16, 0), flags, self._status)
        p.restore()

    def _paint_spinner(self, p: QPainter, centre: QPointF, radius: float) -> None:
        for i in range(12):
            angle = math.radians(i * 30)
            alpha = 40 + int(215 * ((i - self._spin) % 12) / 11)
            pen = QPen(QColor(255, 255, 255, alpha), 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            dx, dy = math.cos(angle), math.sin(angle)
            p.drawLine(
                QPointF(centre.x() + dx * radius * 0.5, centre.y() + dy * radius * 0.5),
                QPointF(centre.x() + dx * radius, centre.y() + dy * radius),
            )

    def _paint_message(self, p: QPainter, text: str, color: QColor) -> None:
        """A centred card with a message (a photo that failed)."""
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = min(560, self.width() - 60)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        bound = p.fontMetrics().boundingRect(0, 0, width - 40, 1000, flags, text)
        rect = QRectF(0, 0, width, bound.height() + 36)
        rect.moveCenter(QPointF(self.width() / 2, self.height() / 2))
        p.setBrush(QColor(24, 24, 26, 230))
        p.setPen(QPen(color, 1.2))
        p.drawRoundedRect(rect, 10, 10)
        p.setPen(theme.TEXT)
        p.drawText(rect.adjusted(20, 18, -20, -18), flags, text)
        p.restore()

    def _paint_empty(self, p: QPainter) -> None:
        """The inviting drop zone shown before any photo is open."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w = min(540.0, self.width() - 64.0)
        h = min(250.0, self.height() - 120.0)
        zone = QRectF(0, 0, w, max(h, 150.0))
        zone.moveCenter(QPointF(self.width() / 2, self.height() / 2 - 24))
        border = theme.ACCENT if self._drop_hover else theme.BORDER.lighter(130)
        pen = QPen(border, 2, Qt.PenStyle.DashLine)
        pen.setDashPattern([5, 4])
        p.setPen(pen)
        p.setBrush(QColor(255, 255, 255, 10) if self._drop_hover else Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(zone, 16, 16)

        icon = icons.icon("open").pixmap(56, 56)
        p.drawPixmap(int(zone.center().x() - 28), int(zone.top() + zone.height() * 0.16), icon)
        title = QFont(self.font())
        title.setPointSizeF(self.font().pointSizeF() * 1.45)
        title.setWeight(QFont.Weight.DemiBold)
        p.setFont(title)
        p.setPen(theme.TEXT)
        y = zone.top() + zone.height() * 0.16 + 66
        p.drawText(QRectF(zone.left(), y, zone.width(), 30), Qt.AlignmentFlag.AlignCenter,
                   "Drop black-and-white photos here")
        p.setFont(self.font())
        p.setPen(theme.MUTED)
        p.drawText(QRectF(zone.left(), y + 32, zone.width(), 22), Qt.AlignmentFlag.AlignCenter,
                   "Single photos or whole folders: JPEG, PNG, TIFF, WebP, HEIC")
        p.drawText(QRectF(zone.left(), y + 56, zone.width(), 22), Qt.AlignmentFlag.AlignCenter,
                   "Ctrl+O  open     Ctrl+Shift+O  folder     Ctrl+V  paste")
        if self._placeholder:
            flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
            flags |= Qt.TextFlag.TextWordWrap
            p.setPen(theme.WARNING if self._placeholder_warn else theme.MUTED)
            area = QRectF(zone.left() - 20, zone.bottom() + 18, zone.width() + 40, 90)
            if self._placeholder_busy:
                self._paint_spinner(p, QPointF(zone.center().x(), zone.bottom() + 14), 6)
                area.translate(0, 14)
                p.setPen(theme.MUTED)
            p.drawText(area, flags, self._placeholder)
