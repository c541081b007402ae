"""Repair in the app (issue 23): a switch per photo, the repaired pixels shown, a brush.

"Repair damage" repairs the photo's lightness before it is coloured
(:mod:`core.repair`: scratches, cracks, dust, tears, stains, fading), in the
inference worker, never on the GUI thread. "Show repaired areas" paints what
was repaired over the photo; the brush adds to that mask (left button) or takes
from it (with "Erase", or the right button). The switch and each brush stroke
are one undo step each (they are fields of the photo's ``Edit``), are what Save
renders, and go into the photo's sidecar like its colour pins.

:class:`RepairBrush` is what the canvas calls (press / move / release / paint);
:class:`RepairOverlay` paints the mask whatever the tool; :class:`RepairPanel`
holds the switch, the view toggle, the brush and its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from core.repair import Stroke
from gui.panels import section

#: brush radius in screen pixels (the stroke is stored in photo pixels)
DEFAULT_RADIUS = 8
MAX_RADIUS = 60


class RepairBrush(QObject):
    """Brush strokes on the selected photo's repair mask; a finished stroke goes to ``apply``.

    ``apply(stroke)`` records it (one undo step); the stroke's radius is the
    brush's screen radius over the canvas scale, so the brush covers what the
    user sees under it at any zoom.
    """

    changed = Signal()

    def __init__(self, apply: Callable[[Stroke], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.apply = apply
        self.radius = float(DEFAULT_RADIUS)  # screen pixels
        self.erase = False
        self._points: list[tuple[float, float]] = []
        self._adding = True
        self._scale = 1.0

    @property
    def drawing(self) -> bool:
        return bool(self._points)

    def press(self, photo_xy: QPointF | None, button: Qt.MouseButton, scale: float) -> bool:
        if photo_xy is None:
            return False
        self._scale = max(scale, 1e-6)
        self._adding = not self.erase and button != Qt.MouseButton.RightButton
        self._points = [(photo_xy.x(), photo_xy.y())]
        self.changed.emit()
        return True

    def move(self, photo_xy: QPointF | None) -> None:
        if self._points and photo_xy is not None:
            self._points.append((photo_xy.x(), photo_xy.y()))
            self.changed.emit()

    def release(self) -> Stroke | None:
        if not self._points:
            return None
        # rounded as the sidecar stores it, so a saved and reopened edit is the same edit
        stroke = Stroke(self._adding, round(self.radius / self._scale, 2),
                        tuple((round(x, 1), round(y, 1)) for x, y in self._points))
        self._points = []
        self.apply(stroke)
        self.changed.emit()
        return stroke

    def paint(self, painter: QPainter, image_rect: QRectF, scale: float) -> None:
        """The stroke being drawn, as it will cover the photo."""
        if not self._points:
            return
        colour = QColor(230, 0, 230, 140) if self._adding else QColor(0, 200, 255, 140)
        pen = QPen(colour, 2 * self.radius, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        painter.save()
        painter.setPen(pen)
        pts = [image_rect.topLeft() + QPointF(x, y) * scale for x, y in self._points]
        if len(pts) == 1:
            painter.drawPoint(pts[0])
        for a, b in zip(pts, pts[1:]):
            painter.drawLine(a, b)
        painter.restore()


class CanvasBrush(QObject):
    """Adapts a :class:`RepairBrush` to the canvas's tool protocol (``canvas.set_tool``);
    the right button (erase) comes through an event filter."""

    def __init__(self, brush: RepairBrush, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.brush = brush
        self.canvas = canvas
        brush.changed.connect(canvas.update)
        canvas.installEventFilter(self)

    def press(self, pos: QPointF, photo_xy: QPointF | None) -> bool:
        return self.brush.press(photo_xy, Qt.MouseButton.LeftButton, self.canvas.scale)

    def move(self, pos: QPointF, photo_xy: QPointF | None) -> None:
        self.brush.move(self.canvas.photo_point(pos))

    def release(self, pos: QPointF, photo_xy: QPointF | None) -> None:
        self.brush.release()

    def paint(self, painter: QPainter) -> None:
        self.brush.paint(painter, self.canvas.image_rect(), self.canvas.scale)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if getattr(self.canvas, "_tool", None) is not self:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.RightButton:
            pos = event.position()
            if self.brush.press(self.canvas.to_photo(pos), Qt.MouseButton.RightButton,
                                self.canvas.scale):
                self.canvas._drag = "tool"  # noqa: SLF001 - the canvas sends moves to its tool
                return True
        return False


class RepairOverlay:
    """Paints the shown photo's repaired pixels over it (when asked to)."""

    def __init__(self, image_of: Callable[[], QImage | None], canvas: QWidget) -> None:
        self.image_of = image_of
        self.canvas = canvas
        self.visible = False

    def paint(self, painter: QPainter) -> None:
        image = self.image_of() if self.visible else None
        if image is None or image.isNull():
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.canvas.image_rect(), image)
        painter.restore()


class RepairPanel(QWidget):
    """The Repair block of the side panel."""

    repair_toggled = Signal(bool)  # the user switched repair for the selected photos
    brush_toggled = Signal(bool)
    overlay_toggled = Signal(bool)

    def __init__(self, brush: RepairBrush, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.brush = brush
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        box, layout = section("Repair")
        outer.addWidget(box)
        self.switch = QCheckBox("Repair damage first")
        self.switch.setToolTip("Find and fill scratches, cracks, dust, tears and stains, and "
                               "restore faded tones, before it is colorized (the original file is "
                               "never changed)")
        self.switch.clicked.connect(self.repair_toggled)  # the user's clicks, not refresh()
        layout.addWidget(self.switch)
        row = QHBoxLayout()
        self.show = QCheckBox("Show repaired areas")
        self.show.toggled.connect(self.overlay_toggled)
        row.addWidget(self.show)
        row.addStretch(1)
        layout.addLayout(row)
        tools = QHBoxLayout()
        self.paint_button = QPushButton("Brush")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Paint over damage the repair missed (right button or "
                                     "Erase: take back what it should not have repaired)")
        self.paint_button.toggled.connect(self.brush_toggled)
        self.erase = QCheckBox("Erase")
        self.erase.toggled.connect(lambda on: setattr(brush, "erase", on))
        self.size = QSlider(Qt.Orientation.Horizontal)
        self.size.setRange(2, MAX_RADIUS)
        self.size.setValue(DEFAULT_RADIUS)
        self.size.setToolTip("Brush size")
        self.size.valueChanged.connect(lambda v: setattr(brush, "radius", float(v)))
        tools.addWidget(self.paint_button)
        tools.addWidget(self.erase)
        tools.addWidget(self.size, 1)
        layout.addLayout(tools)
        self.info = QLabel()
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)

    def refresh(self, on: bool | None, report: dict | None, strokes: int) -> None:
        """Show the selected photo's state (None: no photo)."""
        self.switch.setEnabled(on is not None)
        self.switch.setChecked(bool(on))
        for w in (self.paint_button, self.erase, self.size, self.show):
            w.setEnabled(bool(on))
        if not on:
            self.info.setText("")
            return
        if report is None:
            self.info.setText("Repairing…")
            return
        parts = [f"{100 * report.get('damaged', 0):.1f}% of the photo repaired"]
        if report.get("tone", {}).get("faded"):
            parts.append("faded tones restored")
        if strokes:
            parts.append(f"{strokes} brush stroke{'s' if strokes != 1 else ''}")
        self.info.setText("; ".join(parts))


@dataclass
class RepairControls:
    """The repair controls as installed in a window."""

    brush: RepairBrush
    canvas: CanvasBrush
    overlay: RepairOverlay
    panel: RepairPanel


def install(window: object) -> RepairControls:
    """Give a MainWindow the Repair block: the switch applies to the selected photos
    (``window.selected_ids()``), strokes to the photo on screen, both through its undo
    history (``window.history.change``)."""

    def apply(stroke: Stroke) -> None:
        item = window.current_item()
        if item is not None and item.edit.repair:
            window.history.change([item.id], "Repair brush", None,
                                  repair_strokes=(*item.edit.repair_strokes, stroke))

    def overlay_image() -> QImage | None:
        item = window.current_item()
        return item.repair_overlay if item is not None and item.edit.repair else None

    brush = RepairBrush(apply, window)
    adapter = CanvasBrush(brush, window.canvas)
    overlay = RepairOverlay(overlay_image, window.canvas)
    window.canvas.overlays.append(overlay)
    panel = RepairPanel(brush)

    def toggled(on: bool) -> None:
        ids = window.selected_ids()
        if ids:
            window.history.change(ids, "Repair on" if on else "Repair off", None, repair=on)

    def set_brush(on: bool) -> None:
        if on:
            window.pins.panel.toggle.setChecked(False)  # one tool on the canvas at a time
            panel.show.setChecked(True)  # painting blind helps nobody
        window.canvas.set_tool(adapter if on else None)

    def pins_active(on: bool) -> None:
        if on:
            panel.paint_button.setChecked(False)

    def show(on: bool) -> None:
        overlay.visible = on
        window.canvas.update()

    def refresh(*_args: object) -> None:
        item = window.current_item()
        if item is None:
            panel.refresh(None, None, 0)
        else:
            panel.refresh(item.edit.repair, item.repair_report, len(item.edit.repair_strokes))
            if not item.edit.repair and panel.paint_button.isChecked():
                panel.paint_button.setChecked(False)
        window.canvas.update()

    panel.repair_toggled.connect(toggled)
    panel.brush_toggled.connect(set_brush)
    panel.overlay_toggled.connect(show)
    window.pins.panel.active_changed.connect(pins_active)
    window.history.applied.connect(refresh)
    window.session.item_changed.connect(refresh)
    refresh()
    return RepairControls(brush, adapter, overlay, panel)
