"""Repair in the app: the switch, the repaired photo, the brush, undo, Save and its sidecar."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, Qt

from core import lab
from core.hints import read_sidecar
from core.outputs import sidecar_for
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
from tests.test_gui_pins import _mouse, _rendered


def _scan(tmp_path: Path) -> Path:
    """A flat print with one bright scratch across it (rows 60..61)."""
    rng = np.random.default_rng(0)
    gray = (110 + rng.integers(0, 5, (120, 200))).astype(np.uint8)
    gray[60:62, 20:180] = 250
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), gray)
    return path


def _L(item) -> np.ndarray:
    return lab.luminance(_pixels(item.colour.full))


def test_repair_switch_brush_undo_and_save(qtbot, window, tmp_path: Path) -> None:  # noqa: F811
    [item_id] = window.add_paths([_scan(tmp_path)])
    _wait_done(qtbot, window, [item_id])
    item = window.session.items[item_id]
    panel = window.repair.panel
    assert not item.edit.repair and not panel.paint_button.isEnabled()
    assert _L(item)[60, 100] > 90  # the scratch is in the colour result

    gen = item.generation
    panel.switch.click()  # the user's click: one undo step
    assert item.edit.repair
    _rendered(qtbot, item, gen)
    assert _L(item)[60, 100] < 60  # repaired in the worker: the scratch is gone
    assert item.repair_report is not None and item.repair_report["damaged"] > 0
    assert item.detected is not None and item.repair_overlay is not None
    assert panel.paint_button.isEnabled() and "repaired" in panel.info.text()

    # The brush paints a stroke on the mask: one undo step, a re-render from the kept detection.
    panel.paint_button.setChecked(True)
    assert panel.show.isChecked() and window.canvas._tool is window.repair.canvas  # noqa: SLF001
    steps = window.history.stack.count()
    gen = item.generation
    _mouse(window.canvas, QEvent.Type.MouseButtonPress, (40, 20))
    for x in (60, 80, 100):
        _mouse(window.canvas, QEvent.Type.MouseMove, (x, 20))
    _mouse(window.canvas, QEvent.Type.MouseButtonRelease, (100, 20))
    assert window.history.stack.count() == steps + 1
    (stroke,) = item.edit.repair_strokes
    assert stroke.add and stroke.points[0] == (40.0, 20.0)
    _rendered(qtbot, item, gen)
    assert "1 brush stroke" in panel.info.text()
    # right button: a stroke that takes from the mask
    _mouse(window.canvas, QEvent.Type.MouseButtonPress, (50, 60), Qt.MouseButton.RightButton)
    _mouse(window.canvas, QEvent.Type.MouseButtonRelease, (60, 60), Qt.MouseButton.RightButton)
    assert len(item.edit.repair_strokes) == 2 and not item.edit.repair_strokes[1].add
    window.history.stack.undo()
    assert item.edit.repair_strokes == (stroke,)

    # Save writes the repaired colour and records the repair in the edit file.
    out_dir = tmp_path / "out"
    window.export.folder.setText(str(out_dir))
    qtbot.waitUntil(lambda: item.state is State.DONE, timeout=WAIT_MS)
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    written = Path(blocker.args[1])
    saved = cv2.cvtColor(cv2.imread(str(written)), cv2.COLOR_BGR2RGB)
    assert lab.luminance(saved)[60, 100] < 60
    record = read_sidecar(sidecar_for(written))
    assert record.repair and record.repair_strokes == (stroke,)
    assert cv2.imread(str(tmp_path / "scan.png"), cv2.IMREAD_GRAYSCALE)[60, 100] == 250

    # Undo all the way: repair off, the scratch is back; the brush is put away.
    gen = item.generation
    window.history.stack.undo()  # the stroke
    window.history.stack.undo()  # the switch
    assert not item.edit.repair and item.edit.repair_strokes == ()
    _rendered(qtbot, item, gen)
    qtbot.waitUntil(lambda: _L(item)[60, 100] > 90, timeout=WAIT_MS)
    assert not panel.paint_button.isChecked()

    # The edit file reopens the photo repaired, with its stroke.
    window.session.remove(item_id)
    [again] = window.add_paths([sidecar_for(written)])
    reopened = window.session.items[again]
    assert reopened.edit.repair and reopened.edit.repair_strokes == (stroke,)
