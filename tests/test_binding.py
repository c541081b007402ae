"""The Qt binding keeps CPython's reference counts (issue 20).

PySide6 6.12.0 took one reference from ``None`` on every Qt call that returns
nothing; on Python < 3.12 ``None`` is not immortal, so after a few thousand
paint calls its count reached zero and CPython aborted ("none_dealloc"). The
app died within seconds of painting a spinner. This canary calls thousands of
void painter, widget and label setters and checks that ``None`` lost nothing.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

#: Rounds of seven void calls: the broken binding loses one reference per call,
#: 1,400 in all, well short of the ~10,000 references a test process holds, so
#: the test fails cleanly instead of aborting the whole run.
ROUNDS = 200
VOID_CALLS = 7 * ROUNDS
#: Slack for references other objects take or drop meanwhile (a healthy binding
#: moves the count by a few either way; the broken one by one per call).
SLACK = VOID_CALLS // 4

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="None is immortal on Python 3.12+ (PEP 683): its count cannot fall",
)


def test_void_qt_calls_keep_nones_references(qtbot) -> None:
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    widget, label = QWidget(), QLabel()
    qtbot.addWidget(widget)
    qtbot.addWidget(label)
    pen, brush, font = QPen(QColor(10, 20, 30)), QBrush(QColor(1, 2, 3)), QFont()
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for k in range(ROUNDS):
            painter.setPen(pen)
            painter.setBrush(brush)
            painter.setFont(font)
            painter.drawLine(QPointF(0, 0), QPointF(k % 32, 31))
            painter.drawRect(QRectF(1, 1, 8, 8))
            widget.setMinimumWidth(k % 50)
            label.setText("x" if k % 2 else "y")
        after = sys.getrefcount(None)
    finally:
        painter.end()
    assert after >= before - SLACK, (
        f"None lost {before - after} references over {VOID_CALLS} void Qt calls: "
        "this Qt binding will crash the app on Python < 3.12 (see constraints.txt)"
    )
