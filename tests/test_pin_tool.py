"""The GUI's colour-pin tool: add, move, delete, recolour, eyedropper, undo (pytest-qt)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QUndoCommand, QUndoStack

from core.pins import Pin
from gui.pin_tool import DEFAULT_COLOUR, PinPanel, PinTool

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton


class _Change(QUndoCommand):
    """A pins change of one photo; changes with the same merge key merge (a drag)."""

    def __init__(self, store: dict, new: tuple, text: str, key: str | None) -> None:
        super().__init__(text)
        self.store, self.old, self.new, self.key = store, store["pins"], new, key

    def id(self) -> int:  # noqa: A003 - Qt API
        return hash(self.key) & 0x7FFFFFFF if self.key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, _Change) or other.key != self.key:
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.store["pins"] = self.new

    def undo(self) -> None:
        self.store["pins"] = self.old


@pytest.fixture
def setup(qtbot):
    store: dict = {"pins": ()}
    stack = QUndoStack()
    image = QImage(100, 80, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 200, 30))
    tool = PinTool(lambda: store["pins"],
                   lambda pins, text, key: stack.push(_Change(store, pins, text, key)),
                   lambda: image)
    return tool, store, stack


def test_click_adds_a_pin_with_the_current_colour(setup) -> None:
    tool, store, stack = setup
    assert tool.press(QPointF(10, 20), LEFT, scale=1.0)
    tool.release()
    assert store["pins"] == (Pin(10, 20, DEFAULT_COLOUR),)
    assert stack.count() == 1 and stack.undoText() == "Add colour pin"
    stack.undo()
    assert store["pins"] == ()


def test_drag_moves_a_pin_in_one_undo_step(setup) -> None:
    tool, store, stack = setup
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    tool.press(QPointF(12, 21), LEFT, 1.0)  # grabs the pin (within the grab radius)
    for x in (20, 30, 40):
        tool.move(QPointF(x, 25), (100, 80))
    tool.move(QPointF(500, -5), (100, 80))  # dragged off the photo: kept on its edge
    tool.release()
    (pin,) = store["pins"]
    assert pin.x == pytest.approx(100 - 0.01) and pin.y == 0.0
    assert stack.count() == 2  # add + one move
    stack.undo()
    assert store["pins"] == (Pin(10, 20, DEFAULT_COLOUR),)
    stack.redo()
    assert store["pins"][0].x == pytest.approx(100 - 0.01)


def test_two_drags_are_two_steps(setup) -> None:
    tool, store, stack = setup
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    for to in (30, 60):
        tool.press(QPointF(store["pins"][0].x, 20), LEFT, 1.0)
        tool.move(QPointF(to, 20), (100, 80))
        tool.release()
    assert stack.count() == 3
    stack.undo()
    assert store["pins"][0].x == 30


def test_right_click_and_delete_remove_pins(setup, qtbot) -> None:
    tool, store, stack = setup
    for x in (10, 50):
        tool.press(QPointF(x, 20), LEFT, 1.0)
        tool.release()
    assert not tool.press(QPointF(80, 70), RIGHT, 1.0)  # nothing there: not used
    assert tool.press(QPointF(11, 20), RIGHT, 1.0)
    assert [p.x for p in store["pins"]] == [50]
    tool.press(QPointF(50, 20), LEFT, 1.0)  # select it
    tool.release()
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    assert tool.key(event)
    assert store["pins"] == ()
    stack.undo()
    stack.undo()
    assert len(store["pins"]) == 2


def test_grab_radius_follows_the_zoom(setup) -> None:
    tool, store, _ = setup
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    tool.press(QPointF(16, 20), LEFT, scale=4.0)  # 6 photo px = 24 screen px: a new pin
    tool.release()
    assert len(store["pins"]) == 2


def test_colour_recent_colours_and_recolouring_the_selected_pin(setup) -> None:
    tool, store, stack = setup
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    tool.set_colour((200, 0, 0))
    assert store["pins"][0].rgb == (200, 0, 0) and stack.undoText() == "Recolour pin"
    tool.selected = None
    tool.set_colour((0, 0, 200))
    tool.set_colour((200, 0, 0))
    assert tool.recent == [(200, 0, 0), (0, 0, 200)]
    assert store["pins"][0].rgb == (200, 0, 0)


def test_eyedropper_takes_the_result_colour(setup) -> None:
    tool, store, stack = setup
    tool.picking = True
    assert tool.press(QPointF(5, 5), LEFT, 1.0)
    assert tool.colour == (10, 200, 30) and not tool.picking
    assert store["pins"] == ()  # picking adds no pin
    tool.press(QPointF(5, 5), LEFT, 1.0)
    assert store["pins"][0].rgb == (10, 200, 30)


def test_hidden_markers_are_not_grabbed_or_painted(setup) -> None:
    tool, store, _ = setup
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    tool.set_markers_visible(False)
    image = QImage(100, 80, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    p = QPainter(image)
    tool.paint(p, QRectF(0, 0, 100, 80), (100, 80))
    p.end()
    assert image.pixelColor(10, 20) == QColor("black")
    tool.set_markers_visible(True)
    p = QPainter(image)
    tool.paint(p, QRectF(0, 0, 100, 80), (100, 80))
    p.end()
    assert image.pixelColor(10, 20) == QColor(*DEFAULT_COLOUR)


def test_panel_shows_the_count_and_clears(setup, qtbot) -> None:
    tool, store, stack = setup
    panel = PinPanel(tool)
    qtbot.addWidget(panel)
    tool.press(QPointF(10, 20), LEFT, 1.0)
    tool.release()
    assert panel.count.text() == "1 pin"
    panel.clear_button.click()
    assert store["pins"] == () and panel.count.text() == ""
    stack.undo()
    assert len(store["pins"]) == 1
    panel.show_markers.setChecked(False)
    assert not tool.markers_visible
