"""Colour pins in the app: click, drag, right-click, undo, kept across category changes, saved."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core import lab
from core.hints import read_sidecar
from gui.session import State
from tests.test_gui import (  # noqa: F401 - fixtures
    WAIT_MS,
    _pixels,
    _wait_done,
    colorizer,
    model_dir,
    settings,
    window,
)


def _mouse(canvas, kind: QEvent.Type, photo_xy: tuple[float, float],
           button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    pos = canvas.from_photo(QPointF(*photo_xy))
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas, event)


def _rendered(qtbot, item, generation: int) -> None:
    qtbot.waitUntil(lambda: item.generation > generation and item.state is State.DONE,
                    timeout=WAIT_MS)


def test_pins_add_move_remove_undo_and_save(qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    gray = np.full((120, 160), 150, np.uint8)
    gray[:, 80:] = 60  # a light left half and a dark right half
    cv2.imwrite(str(tmp_path / "halves.png"), gray)
    [item_id] = window.add_paths([tmp_path / "halves.png"])
    _wait_done(qtbot, window, [item_id])
    item = window.session.items[item_id]
    canvas, tool = window.canvas, window.pins.tool
    window.pins.panel.toggle.setChecked(True)
    tool.set_colour((60, 90, 160))

    gen = item.generation
    _mouse(canvas, QEvent.Type.MouseButtonPress, (20, 60))
    _mouse(canvas, QEvent.Type.MouseButtonRelease, (20, 60))
    _rendered(qtbot, item, gen)
    (pin,) = item.edit.pins
    assert abs(pin.x - 20) < 1 and abs(pin.y - 60) < 1 and pin.rgb == (60, 90, 160)
    ab = lab.rgb_to_lab(_pixels(item.colour.full))[60, 20, 1:]
    want = lab.rgb_to_lab(np.array([[[60, 90, 160]]], np.uint8))[0, 0, 1:]
    assert np.abs(ab - want).max() < 4.0  # the photo follows the pin (off the GUI thread)

    # Drag: one undo step however many moves.
    steps = window.history.stack.count()
    _mouse(canvas, QEvent.Type.MouseButtonPress, (pin.x, pin.y))
    for x in (30, 40, 50):
        _mouse(canvas, QEvent.Type.MouseMove, (x, 50))
    _mouse(canvas, QEvent.Type.MouseButtonRelease, (50, 50))
    (moved,) = item.edit.pins
    assert abs(moved.x - 50) < 1 and abs(moved.y - 50) < 1
    assert window.history.stack.count() == steps + 1

    # Kept when the category changes; undo brings the pin back where it was.
    gen = item.generation
    window.category.choose("dog")
    _rendered(qtbot, item, gen)
    assert item.edit.pins == (moved,) and item.category == "dog"
    window.history.stack.undo()  # the category
    window.history.stack.undo()  # the drag
    assert item.edit.pins == (pin,)

    # Right-click removes it; undo again.
    _mouse(canvas, QEvent.Type.MouseButtonPress, (pin.x, pin.y), Qt.MouseButton.RightButton)
    assert item.edit.pins == ()
    window.history.stack.undo()
    assert item.edit.pins == (pin,)

    # Save writes the pinned colour and its edit file beside it.
    out_dir = tmp_path / "out"
    window.export.folder.setText(str(out_dir))
    qtbot.waitUntil(lambda: item.state is State.DONE, timeout=WAIT_MS)
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    written = Path(blocker.args[1])
    record = read_sidecar(written.with_name(written.name + ".tinct.json"))
    assert record.pins == (pin,)
    saved = cv2.cvtColor(cv2.imread(str(written)), cv2.COLOR_BGR2RGB)
    assert np.abs(lab.rgb_to_lab(saved)[60, 20, 1:] - want).max() < 6.0

    # The edit file reopens the photo with its pins (in a fresh session of the window).
    window.session.remove(item_id)
    [again] = window.add_paths([written.with_name(written.name + ".tinct.json")])
    reopened = window.session.items[again]
    assert reopened.path == tmp_path / "halves.png"
    assert reopened.edit.pins == (pin,) and reopened.category == "auto"


def test_pins_stay_with_their_photo_and_markers_hide(
        qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), np.full((60, 80), 120, np.uint8))
    ids = window.add_paths([tmp_path / "a.png", tmp_path / "b.png"])
    _wait_done(qtbot, window, ids)
    window.select(ids[0])
    window.pins.panel.toggle.setChecked(True)
    _mouse(window.canvas, QEvent.Type.MouseButtonPress, (10, 10))
    _mouse(window.canvas, QEvent.Type.MouseButtonRelease, (10, 10))
    assert len(window.session.items[ids[0]].edit.pins) == 1
    window.select(ids[1])
    assert window.pins.tool.pins == () and window.pins.panel.count.text() == ""
    window.select(ids[0])
    assert window.pins.panel.count.text() == "1 pin"
    window.pins.panel.show_markers.setChecked(False)
    _mouse(window.canvas, QEvent.Type.MouseButtonPress, (10, 10), Qt.MouseButton.RightButton)
    assert len(window.session.items[ids[0]].edit.pins) == 1  # hidden pins are not grabbed
    window.pins.panel.toggle.setChecked(False)
    assert window.canvas._tool is None  # noqa: SLF001 - the canvas pans/compares again


def test_opening_a_pinned_photo_brings_its_pins_back(qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    """The CLI wrote ``<output stem>.tinct.json`` beside a pinned output: opening the
    output, or its input when the output sits beside it, restores the edit (undoable)."""
    from core.hints import EditRecord, write_sidecar
    from core.pins import Pin

    gray = np.full((120, 160), 150, np.uint8)
    gray[:, 80:] = 60
    scan, output = tmp_path / "scan.png", tmp_path / "scan_color.png"
    cv2.imwrite(str(scan), gray)
    cv2.imwrite(str(output), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    pin = Pin(20, 60, (60, 90, 160))
    write_sidecar(tmp_path / "scan_color.tinct.json",  # as core.job writes it
                  EditRecord(str(scan.resolve()), str(output), "dog", 0.8, "soft", (pin,)))
    messages: list[str] = []
    window.session.message.connect(messages.append)

    for opened in (output, scan):  # the output (its own edit file), then the input
        [item_id] = window.add_paths([opened])
        item = window.session.items[item_id]
        assert item.edit.pins == (pin,) and item.edit.category == "dog"
        assert item.edit.strength == 0.8
        assert f"{opened.name}: restored 1 colour pin from scan_color.tinct.json" in messages[-1]
        assert window.statusBar().currentMessage() == messages[-1]
        _wait_done(qtbot, window, [item_id])
        window.history.stack.undo()  # one step: the photo as if there were no edit file
        assert item.edit.pins == () and item.edit.category == "auto"

    # A photo without an edit file opens as before, and a stale one naming another
    # photo is not taken for it.
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), gray)
    write_sidecar(tmp_path / "other.tinct.json",
                  EditRecord(str(tmp_path / "elsewhere.png"), str(tmp_path / "x.png"),
                             pins=(pin,)))
    [item_id] = window.add_paths([other])
    assert window.session.items[item_id].edit.pins == ()


def test_closing_a_photo_can_be_undone_with_its_pins(qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    """Issue 22: Delete closed a photo without a word and for good, its pins gone. It is
    one undo step now: Undo opens it again in its place, with its pins and settings."""
    from core.pins import Pin

    paths = []
    for n, value in enumerate((60, 120, 180)):
        paths.append(tmp_path / f"p{n}.png")
        cv2.imwrite(str(paths[-1]), np.full((40, 60), value, np.uint8))
    ids = window.add_paths(paths)
    _wait_done(qtbot, window, ids)
    middle = ids[1]
    pin = Pin(10, 10, (200, 40, 40))
    window.select(middle)
    window.history.change([middle], "Add pin", pins=(pin,), strength=1.4)
    messages: list[str] = []
    window.session.message.connect(messages.append)

    window.strip.setFocus()
    window.select(middle)
    qtbot.keyClick(window.strip, Qt.Key.Key_Delete)
    assert middle not in window.session.items and window.strip.ids() == [ids[0], ids[2]]
    assert "Closed p1.png (the file is not deleted)" in messages[-1] and "Undo" in messages[-1]
    assert paths[1].exists()

    window.history.stack.undo()
    assert window.session.order == ids and window.strip.ids() == ids  # back in its place
    item = window.session.items[middle]
    assert item.edit.pins == (pin,) and item.edit.strength == 1.4
    assert window.session.selected == middle
    _wait_done(qtbot, window, [middle])  # coloured again
    window.history.stack.redo()
    assert middle not in window.session.items


def test_pick_and_pin_mode_show_their_state_and_pick_gives_pin_mode_back(
        qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    """Issue 22: Pick and "Place pins" had no on-look and no pointer of their own, and a
    Pick left pin mode on, so the next click dropped a pin."""
    from gui import theme

    assert "QPushButton:checked, QToolButton:checked" in theme.STYLESHEET
    gray = np.full((120, 160), 150, np.uint8)
    cv2.imwrite(str(tmp_path / "flat.png"), gray)
    [item_id] = window.add_paths([tmp_path / "flat.png"])
    _wait_done(qtbot, window, [item_id])
    item, canvas, panel = window.session.items[item_id], window.canvas, window.pins.panel
    assert not panel.toggle.isChecked()

    panel.eyedropper.setChecked(True)  # Pick, with pin mode off
    assert canvas.cursor().shape() == Qt.CursorShape.PointingHandCursor
    _mouse(canvas, QEvent.Type.MouseButtonPress, (20, 60))
    _mouse(canvas, QEvent.Type.MouseButtonRelease, (20, 60))
    assert not panel.eyedropper.isChecked() and not panel.toggle.isChecked()  # back off
    assert window.canvas._tool is None and item.edit.pins == ()  # noqa: SLF001
    assert canvas.cursor().shape() != Qt.CursorShape.CrossCursor
    _mouse(canvas, QEvent.Type.MouseButtonPress, (30, 60))  # the next click: no pin
    _mouse(canvas, QEvent.Type.MouseButtonRelease, (30, 60))
    assert item.edit.pins == ()

    panel.toggle.setChecked(True)  # pin mode: a crosshair; a Pick keeps it on
    assert canvas.cursor().shape() == Qt.CursorShape.CrossCursor
    panel.eyedropper.setChecked(True)
    _mouse(canvas, QEvent.Type.MouseButtonPress, (20, 60))
    _mouse(canvas, QEvent.Type.MouseButtonRelease, (20, 60))
    assert panel.toggle.isChecked() and not panel.eyedropper.isChecked()
    assert item.edit.pins == () and canvas.cursor().shape() == Qt.CursorShape.CrossCursor
    panel.eyedropper.setChecked(True)  # turning pin mode off ends a Pick too
    panel.toggle.setChecked(False)
    assert not panel.eyedropper.isChecked() and not window.pins.tool.picking
