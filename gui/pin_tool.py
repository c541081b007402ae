"""The colour-pin tool: click the photo to pin a colour, drag to move, right-click to remove.

A pin says "this was blue": core.pins spreads it over its region (bounded by
edges, fading with distance) on the next render, which the inference worker
does from the cached analysis. Every change goes through the undo history as
one step per photo (a whole drag is one step), so pins are kept per photo,
survive category and strength changes, and are what Save / Save All render.

:class:`PinTool` is what the canvas calls (press / move / release / paint in
widget and photo coordinates); :class:`PinPanel` holds the colour, the recent
colours, the eyedropper (take a colour from the current result) and whether
markers are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.pins import Pin
from gui.panels import section

#: A click this close (widget pixels) to a marker grabs that pin instead of adding one.
GRAB_RADIUS = 10.0
MARKER_RADIUS = 6.0
RECENT_COLOURS = 8
DEFAULT_COLOUR = (42, 63, 143)  # a dark blue: "her dress was blue"

RGB = tuple[int, int, int]


@dataclass
class _Drag:
    index: int
    start: tuple[Pin, ...]
    moved: bool = False


class PinTool(QObject):
    """Pins of the selected photo, edited with the mouse; changes go to ``apply``.

    ``pins_of()`` returns the photo's current pins; ``apply(pins, text,
    merge_key)`` records a change (one undo step; changes with the same merge
    key merge, so a drag is one step); ``result_image()`` is the current colour
    result at full resolution (for the eyedropper) or None.
    """

    changed = Signal()  # repaint the markers
    colour_changed = Signal(tuple)  # the colour new pins get (r, g, b)
    picked = Signal(tuple)  # the eyedropper took this colour

    def __init__(
        self,
        pins_of: Callable[[], tuple[Pin, ...] | None],
        apply: Callable[[tuple[Pin, ...], str, str | None], None],
        result_image: Callable[[], QImage | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pins_of = pins_of
        self._apply = apply
        self._result_image = result_image
        self.colour: RGB = DEFAULT_COLOUR
        self.recent: list[RGB] = []
        self.markers_visible = True
        self.picking = False  # the next click takes its colour from the result
        self.selected: int | None = None
        self._drag: _Drag | None = None
        self._drag_count = 0
        self._shown: int | None = None  # the photo whose pins these are (see install)

    # -- state -------------------------------------------------------------
    @property
    def pins(self) -> tuple[Pin, ...]:
        return tuple(self._pins_of() or ())

    def set_colour(self, rgb: RGB) -> None:
        """Colour for the next pin; also recolours the selected pin (one undo step)."""
        rgb = tuple(int(c) for c in rgb)  # type: ignore[assignment]
        self.colour = rgb
        if rgb in self.recent:
            self.recent.remove(rgb)
        self.recent.insert(0, rgb)
        del self.recent[RECENT_COLOURS:]
        pins = self.pins
        if self.selected is not None and self.selected < len(pins) \
                and pins[self.selected].rgb != rgb:
            new = list(pins)
            new[self.selected] = pins[self.selected].recoloured(rgb)
            self._apply(tuple(new), "Recolour pin", None)
        self.colour_changed.emit(rgb)
        self.changed.emit()

    def set_markers_visible(self, on: bool) -> None:
        self.markers_visible = on
        self.changed.emit()

    # -- editing (photo coordinates) ----------------------------------------
    def hit(self, x: float, y: float, radius: float) -> int | None:
        """The nearest pin within ``radius`` photo pixels of (x, y), or None."""
        best, best_d = None, radius
        for i, p in enumerate(self.pins):
            d = ((p.x - x) ** 2 + (p.y - y) ** 2) ** 0.5
            if d <= best_d:
                best, best_d = i, d
        return best

    def add(self, x: float, y: float) -> None:
        x, y = round(x, 2), round(y, 2)  # what a sidecar keeps: the pin reopens the same
        self._apply((*self.pins, Pin(x, y, self.colour)), "Add colour pin", None)
        self.selected = len(self.pins) - 1
        self.changed.emit()

    def remove(self, index: int) -> None:
        pins = list(self.pins)
        if 0 <= index < len(pins):
            del pins[index]
            self._apply(tuple(pins), "Remove colour pin", None)
        self.selected = None
        self.changed.emit()

    def clear(self) -> None:
        if self.pins:
            self._apply((), "Remove all colour pins", None)
        self.selected = None
        self.changed.emit()

    def pick(self, x: float, y: float) -> RGB | None:
        """The current result's colour at photo pixel (x, y) becomes the pin colour."""
        image = self._result_image()
        if image is None or image.isNull():
            return None
        px = min(image.width() - 1, max(0, int(x)))
        py = min(image.height() - 1, max(0, int(y)))
        c = image.pixelColor(px, py)
        rgb = (c.red(), c.green(), c.blue())
        self.picking = False
        self.set_colour(rgb)
        self.picked.emit(rgb)
        return rgb

    # -- the canvas's calls ------------------------------------------------
    def press(self, photo_xy: QPointF | None, button: Qt.MouseButton, scale: float) -> bool:
        """A mouse press on the canvas; True when the tool used it."""
        if photo_xy is None:
            return False
        x, y = photo_xy.x(), photo_xy.y()
        grab = self.hit(x, y, GRAB_RADIUS / max(scale, 1e-6)) if self.markers_visible else None
        if button == Qt.MouseButton.RightButton:
            if grab is None:
                return False
            self.remove(grab)
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        if self.picking:
            self.pick(x, y)
            return True
        if grab is None:
            self.add(x, y)
            grab = len(self.pins) - 1
        self.selected = grab
        self._drag_count += 1
        self._drag = _Drag(grab, self.pins)
        self.changed.emit()
        return True

    def move(self, photo_xy: QPointF | None, size: tuple[int, int] | None) -> bool:
        """Mouse moved with the button down: the grabbed pin follows (kept on the photo)."""
        if self._drag is None or photo_xy is None:
            return False
        pins = list(self.pins)
        i = self._drag.index
        if i >= len(pins):
            self._drag = None
            return False
        x, y = photo_xy.x(), photo_xy.y()
        if size is not None:
            x = min(max(x, 0.0), size[0] - 0.01)
            y = min(max(y, 0.0), size[1] - 0.01)
        pins[i] = pins[i].moved(round(x, 2), round(y, 2))
        self._drag.moved = True
        self._apply(tuple(pins), "Move colour pin", f"pin-drag-{self._drag_count}")
        self.changed.emit()
        return True

    def release(self) -> bool:
        done = self._drag is not None
        self._drag = None
        return done

    def key(self, event: QKeyEvent) -> bool:
        """Delete / Backspace removes the selected pin."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected is not None:
            self.remove(self.selected)
            return True
        return False

    def paint(self, painter: QPainter, image_rect: QRectF, size: tuple[int, int] | None) -> None:
        """Markers: a dot of the pin's colour in a white and a dark ring."""
        if not self.markers_visible or not size or size[0] == 0:
            return
        sx = image_rect.width() / size[0]
        sy = image_rect.height() / size[1]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for i, p in enumerate(self.pins):
            at = QPointF(image_rect.left() + (p.x + 0.5) * sx, image_rect.top() + (p.y + 0.5) * sy)
            r = MARKER_RADIUS + (2 if i == self.selected else 0)
            painter.setPen(QPen(QColor(20, 20, 20, 200), 3.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(at, r + 1.5, r + 1.5)
            painter.setPen(QPen(QColor("white"), 2.0))
            painter.setBrush(QColor(*p.rgb))
            painter.drawEllipse(at, r, r)
        painter.restore()


class PinPanel(QWidget):
    """The pin tool's controls: on/off, colour, recent colours, eyedropper, markers, clear."""

    active_changed = Signal(bool)

    def __init__(self, tool: PinTool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = tool
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        box, layout = section("Colour pins")  # titled and spaced like the panel's other blocks
        outer.addWidget(box)
        top = QHBoxLayout()
        self.toggle = QPushButton("Place pins")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Click the photo to pin a colour there; drag a pin to move it, "
                               "right-click or Delete to remove it")
        self.toggle.toggled.connect(self.active_changed)
        self.swatch = QToolButton()
        self.swatch.setToolTip("Colour of new pins (and of the selected pin)")
        self.swatch.setFixedSize(QSize(28, 24))
        self.swatch.clicked.connect(self.choose_colour)
        self.eyedropper = QToolButton()
        self.eyedropper.setText("Pick")
        self.eyedropper.setCheckable(True)
        self.eyedropper.setToolTip("Take the colour from the current result: click the photo")
        self.eyedropper.toggled.connect(self._set_picking)
        self.toggle.toggled.connect(lambda on: on or self.eyedropper.setChecked(False))
        top.addWidget(self.toggle, 1)
        top.addWidget(self.swatch)
        top.addWidget(self.eyedropper)
        layout.addLayout(top)
        self.recent_row = QHBoxLayout()
        self.recent_row.setSpacing(2)
        layout.addLayout(self.recent_row)
        bottom = QHBoxLayout()
        self.show_markers = QCheckBox("Show pins")
        self.show_markers.setChecked(True)
        self.show_markers.toggled.connect(tool.set_markers_visible)
        self.clear_button = QPushButton("Remove all")
        self.clear_button.clicked.connect(tool.clear)
        self.count = QLabel()
        bottom.addWidget(self.show_markers)
        bottom.addWidget(self.count)
        bottom.addStretch(1)
        bottom.addWidget(self.clear_button)
        layout.addLayout(bottom)
        self._recent_buttons: list[QToolButton] = []
        tool.colour_changed.connect(lambda _rgb: self.refresh())
        tool.picked.connect(lambda _rgb: self.eyedropper.setChecked(False))
        tool.changed.connect(self.refresh)
        self.refresh()

    @property
    def active(self) -> bool:
        return self.toggle.isChecked()

    def choose_colour(self) -> None:
        c = QColorDialog.getColor(QColor(*self.tool.colour), self, "Pin colour")
        if c.isValid():
            self.tool.set_colour((c.red(), c.green(), c.blue()))

    def _set_picking(self, on: bool) -> None:
        """Pick routes the next click to the tool (pin mode on for it) and, once done or
        cancelled, puts pin mode back as it was: the click after a Pick drops no pin."""
        self.tool.picking = on
        if on:
            self._pins_before_pick = self.toggle.isChecked()
            self.toggle.setChecked(True)
        elif not getattr(self, "_pins_before_pick", True):
            self.toggle.setChecked(False)
        self.tool.changed.emit()  # the pointer shows the mode

    def refresh(self) -> None:
        self.swatch.setStyleSheet(_swatch_style(self.tool.colour))
        while len(self._recent_buttons) < len(self.tool.recent):
            b = QToolButton()
            b.setFixedSize(QSize(18, 18))
            b.clicked.connect(lambda _=False, b=b: self.tool.set_colour(b.property("rgb")))
            self.recent_row.addWidget(b)
            self._recent_buttons.append(b)
        for b, rgb in zip(self._recent_buttons, self.tool.recent):
            b.setProperty("rgb", rgb)
            b.setStyleSheet(_swatch_style(rgb))
            b.setToolTip("#{:02x}{:02x}{:02x}".format(*rgb))
        n = len(self.tool.pins)
        self.count.setText(f"{n} pin{'s' if n != 1 else ''}" if n else "")
        self.clear_button.setEnabled(n > 0)


def _swatch_style(rgb: RGB) -> str:
    return "QToolButton {{ background: #{:02x}{:02x}{:02x}; border: 1px solid #555; }}".format(
        *rgb)


class CanvasPins(QObject):
    """Adapts a :class:`PinTool` to the canvas's tool protocol (``canvas.set_tool``).

    The canvas hands the tool left-button presses; right-click (remove) and
    Delete (remove the selected pin, before the window's "close photo"
    shortcut sees it) come through an event filter, so the canvas needs no
    pin-specific code.
    """

    def __init__(self, tool: PinTool, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.tool = tool
        self.canvas = canvas
        tool.changed.connect(canvas.update)
        tool.changed.connect(self._refresh_cursor)
        canvas.installEventFilter(self)

    def cursor(self) -> Qt.CursorShape:
        """Pick: a pointing hand (the click takes a colour); pins: a crosshair (it pins)."""
        return (Qt.CursorShape.PointingHandCursor if self.tool.picking
                else Qt.CursorShape.CrossCursor)

    def _refresh_cursor(self) -> None:
        if getattr(self.canvas, "_tool", None) is self:
            self.canvas.refresh_cursor()

    def _size(self) -> tuple[int, int] | None:
        return self.canvas._size()  # noqa: SLF001 - the canvas's photo size

    # the canvas's tool protocol
    def press(self, pos: QPointF, photo_xy: QPointF | None) -> bool:
        self.canvas.setFocus(Qt.FocusReason.MouseFocusReason)  # Delete comes to the filter
        return self.tool.press(photo_xy, Qt.MouseButton.LeftButton, self.canvas.scale)

    def move(self, pos: QPointF, photo_xy: QPointF | None) -> None:
        self.tool.move(self.canvas.photo_point(pos), self._size())

    def release(self, pos: QPointF, photo_xy: QPointF | None) -> None:
        self.tool.release()

    def paint(self, painter: QPainter) -> None:
        self.tool.paint(painter, self.canvas.image_rect(), self._size())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if getattr(self.canvas, "_tool", None) is not self:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.RightButton:
            pos = event.position()
            return self.tool.press(self.canvas.to_photo(pos), Qt.MouseButton.RightButton,
                                   self.canvas.scale)
        deleting = kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and \
            event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and \
            self.tool.selected is not None and self.tool.markers_visible
        if deleting and kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key comes to us as a KeyPress, not to "close photo"
            return True
        if deleting:
            return self.tool.key(event)
        return False


@dataclass
class PinControls:
    """The pin tool as installed in a window: the tool, its canvas adapter, its panel."""

    tool: PinTool
    canvas: CanvasPins
    panel: PinPanel


def install(window: object) -> PinControls:
    """Give a MainWindow colour pins: the photo on screen's pins, edited through its undo
    history (``window.history.change``); the panel goes where the window puts it.

    Needs of the window: ``current_item()`` (a PhotoItem with ``.id``, ``.edit.pins``
    and ``.colour`` frames), ``history`` (gui.history.History), ``canvas``, ``session``.
    """

    def pins_of() -> tuple[Pin, ...] | None:
        item = window.current_item()
        return None if item is None else tuple(item.edit.pins)

    def apply(pins: tuple[Pin, ...], text: str, merge_key: str | None) -> None:
        item = window.current_item()
        if item is not None:
            window.history.change([item.id], text, merge_key, pins=tuple(pins))

    def result_image() -> QImage | None:
        item = window.current_item()
        return item.colour.full if item is not None and item.colour is not None else None

    tool = PinTool(pins_of, apply, result_image, window)
    adapter = CanvasPins(tool, window.canvas)
    panel = PinPanel(tool)

    def set_active(on: bool) -> None:
        window.canvas.set_tool(adapter if on else None)

    def selection_may_have_changed(*_args: object) -> None:
        current = window.session.selected
        if tool._shown != current:  # noqa: SLF001 - another photo: its pins, none selected
            tool._shown = current  # noqa: SLF001
            tool.selected = None
        tool.changed.emit()

    panel.active_changed.connect(set_active)
    window.history.applied.connect(selection_may_have_changed)
    window.session.item_changed.connect(selection_may_have_changed)
    return PinControls(tool, adapter, panel)


def open_edits(window: object, paths: list[Path]) -> tuple[list[Path], list[int]]:
    """Reopen saved edits: each ``*.tinct.json`` among ``paths`` opens its input photo with
    the category, strength, routing and pins it was saved with.

    Returns the other paths (for the usual opening) and the photos opened from edit files.
    A sidecar that cannot be read is said in the status bar, not opened.
    """
    from core.hints import SIDECAR_SUFFIX, HintsError, read_sidecar
    from gui.history import Edit

    rest: list[Path] = []
    opened: list[int] = []
    for p in paths:
        if not p.name.endswith(SIDECAR_SUFFIX):
            rest.append(p)
            continue
        try:
            record = read_sidecar(p)
        except HintsError as exc:
            window.session.message.emit(f"Not opened: {exc}")
            continue
        source = Path(record.input)
        if not source.is_absolute():
            source = p.parent / source
        ids = window.session.add_paths([source])
        known = [i for i in window.session.order if window.session.items[i].path == source]
        for item_id in ids or known[:1]:
            window.session.apply_edit(item_id, Edit(record.category, record.strength,
                                                    record.routing, tuple(record.pins),
                                                    record.repair,
                                                    tuple(record.repair_strokes)))
            opened.append(item_id)
    return rest, opened


def restore_sidecars(window: object, ids: list[int]) -> list[int]:
    """Photos just opened that have an edit file (``core.hints.find_sidecar``: they are a
    pinned output, or the input of one) get its pins and settings back, as one undo
    step each, and the status bar says so.

    What a user expects: the CLI wrote the pins beside the output so the edit can be
    changed later, and opening the photo is how one goes back to it; Undo drops
    them again. Returns the photos restored.
    """
    from core.hints import find_sidecar

    restored: list[int] = []
    last = ""
    for item_id in ids:
        item = window.session.items.get(item_id)
        if item is None or item.edit.pins or item.edit.repair:
            continue
        found = find_sidecar(item.path)
        if found is None:
            continue
        path, record = found
        changed = window.history.change(
            [item_id], f"Restore edit from {path.name}", category=record.category,
            strength=record.strength, routing=record.routing, pins=tuple(record.pins),
            repair=record.repair, repair_strokes=tuple(record.repair_strokes))
        if changed:
            restored.append(item_id)
            n = len(record.pins)
            last = (f"{item.path.name}: restored {n} colour pin{'s' if n != 1 else ''}"
                    f"{' and its repair' if record.repair else ''} "
                    f"from {path.name} (Undo removes them)")
    if len(restored) > 1:
        window.session.message.emit(f"Restored the saved edits of {len(restored)} photos "
                                    f"from their .tinct.json files (Undo removes them)")
    elif restored:
        window.session.message.emit(last)
    return restored
