"""Toolbar icons drawn with QPainter: crisp at any DPI, one consistent line style.

Qt's standard icons differ per platform and look out of place on a dark
theme; drawing a dozen simple glyphs keeps the app self-contained (no icon
fonts, no files to ship) and lets disabled icons fade with the palette.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QConicalGradient,
    QFont,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)

from gui import theme

#: Icons are drawn on a 24x24 grid and rendered at this pixel size.
_PX = 64
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def _pen(p: QPainter, color: QColor, width: float = 1.7) -> None:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)


def _photo(p: QPainter, c: QColor) -> None:
    p.drawRoundedRect(QRectF(3, 5, 18, 14), 2, 2)
    path = QPainterPath(QPointF(4, 17))
    path.lineTo(9, 11)
    path.lineTo(13, 15)
    path.lineTo(15.5, 12.5)
    path.lineTo(20, 17)
    p.drawPath(path)
    p.drawEllipse(QPointF(15.5, 8.8), 1.4, 1.4)


def _folder(p: QPainter, c: QColor) -> None:
    path = QPainterPath(QPointF(3, 18.5))
    path.lineTo(3, 6)
    path.lineTo(9, 6)
    path.lineTo(11, 8)
    path.lineTo(21, 8)
    path.lineTo(21, 18.5)
    path.closeSubpath()
    p.drawPath(path)
    p.drawLine(QPointF(3, 11), QPointF(21, 11))


def _paste(p: QPainter, c: QColor) -> None:
    p.drawRoundedRect(QRectF(5, 5, 14, 16), 2, 2)
    p.drawRoundedRect(QRectF(9, 3, 6, 4), 1, 1)
    p.drawLine(QPointF(8.5, 12), QPointF(15.5, 12))
    p.drawLine(QPointF(8.5, 15.5), QPointF(13.5, 15.5))


def _tray(p: QPainter, y: float) -> None:
    path = QPainterPath(QPointF(4, y))
    path.lineTo(4, y + 4)
    path.lineTo(20, y + 4)
    path.lineTo(20, y)
    p.drawPath(path)


def _save(p: QPainter, c: QColor) -> None:
    _tray(p, 15)
    p.drawLine(QPointF(12, 3.5), QPointF(12, 15))
    p.drawLine(QPointF(7.5, 10.5), QPointF(12, 15))
    p.drawLine(QPointF(16.5, 10.5), QPointF(12, 15))


def _save_all(p: QPainter, c: QColor) -> None:
    _tray(p, 15)
    for x in (9, 15):
        p.drawLine(QPointF(x, 4), QPointF(x, 13.5))
        p.drawLine(QPointF(x - 3, 10.5), QPointF(x, 13.5))
        p.drawLine(QPointF(x + 3, 10.5), QPointF(x, 13.5))


def _batch(p: QPainter, c: QColor) -> None:
    p.drawRoundedRect(QRectF(7, 3.5, 13, 10), 1.5, 1.5)
    path = QPainterPath(QPointF(4.5, 7))
    path.lineTo(4.5, 16.5)
    path.lineTo(16.5, 16.5)
    p.drawPath(path)
    path = QPainterPath(QPointF(2, 10))
    path.lineTo(2, 20)
    path.lineTo(13, 20)
    p.drawPath(path)
    p.setBrush(c)
    tri = QPainterPath(QPointF(12, 6))
    tri.lineTo(16, 8.5)
    tri.lineTo(12, 11)
    tri.closeSubpath()
    p.drawPath(tri)


def _fit(p: QPainter, c: QColor) -> None:
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        x0, y0 = 12 - 8 * sx, 12 - 8 * sy
        p.drawLine(QPointF(x0, y0), QPointF(x0 + 4.5 * sx, y0))
        p.drawLine(QPointF(x0, y0), QPointF(x0, y0 + 4.5 * sy))
    p.drawRect(QRectF(8.5, 8.5, 7, 7))


def _zoom100(p: QPainter, c: QColor) -> None:
    font = QFont()
    font.setPixelSize(10)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, 24, 24), Qt.AlignmentFlag.AlignCenter, "1:1")
    p.drawRoundedRect(QRectF(2.5, 5, 19, 14), 2.5, 2.5)


def _compare(p: QPainter, c: QColor) -> None:
    p.drawRoundedRect(QRectF(3, 5, 18, 14), 2, 2)
    p.setBrush(QBrush(c))
    p.drawRect(QRectF(3.5, 5.5, 8.5, 13))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawLine(QPointF(12, 2.5), QPointF(12, 21.5))


def _cancel(p: QPainter, c: QColor) -> None:
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5)
    p.drawLine(QPointF(9, 9), QPointF(15, 15))
    p.drawLine(QPointF(15, 9), QPointF(9, 15))


def _help(p: QPainter, c: QColor) -> None:
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5)
    path = QPainterPath(QPointF(9.5, 9.8))
    path.cubicTo(9.5, 6.5, 14.5, 6.5, 14.5, 9.8)
    path.cubicTo(14.5, 11.8, 12, 11.8, 12, 14)
    p.drawPath(path)
    p.drawPoint(QPointF(12, 17))


def _remove(p: QPainter, c: QColor) -> None:
    p.drawLine(QPointF(5, 7), QPointF(19, 7))
    p.drawLine(QPointF(10, 7), QPointF(10, 4.5))
    p.drawLine(QPointF(10, 4.5), QPointF(14, 4.5))
    p.drawLine(QPointF(14, 4.5), QPointF(14, 7))
    path = QPainterPath(QPointF(7, 7))
    path.lineTo(8, 20)
    path.lineTo(16, 20)
    path.lineTo(17, 7)
    p.drawPath(path)


_GLYPHS: dict[str, Callable[[QPainter, QColor], None]] = {
    "open": _photo,
    "folder": _folder,
    "paste": _paste,
    "save": _save,
    "save_all": _save_all,
    "batch": _batch,
    "fit": _fit,
    "zoom100": _zoom100,
    "compare": _compare,
    "cancel": _cancel,
    "help": _help,
    "remove": _remove,
}


def _render(name: str, color: QColor) -> QPixmap:
    pm = QPixmap(_PX, _PX)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(_PX / 24.0, _PX / 24.0)
    _pen(p, color)
    _GLYPHS[name](p, color)
    p.end()
    return pm


@cache
def icon(name: str) -> QIcon:
    """The named toolbar icon with normal, active and disabled variants."""
    ic = QIcon()
    ic.addPixmap(_render(name, theme.TEXT), QIcon.Mode.Normal)
    ic.addPixmap(_render(name, theme.ACCENT), QIcon.Mode.Active)
    ic.addPixmap(_render(name, theme.MUTED.darker(150)), QIcon.Mode.Disabled)
    return ic


def names() -> list[str]:
    return list(_GLYPHS)


def app_pixmap(size: int = 256) -> QPixmap:
    """The app icon: a disc half gray (the scan), half in colour (the result)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r = QRectF(size * 0.06, size * 0.06, size * 0.88, size * 0.88)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#2b2b2e"))
    p.drawRoundedRect(r, size * 0.2, size * 0.2)
    disc = r.adjusted(size * 0.14, size * 0.14, -size * 0.14, -size * 0.14)
    grad = QConicalGradient(disc.center(), 90)
    for stop, col in ((0.0, "#e0a458"), (0.17, "#e06a5a"), (0.34, "#b05ad0"),
                      (0.5, "#5a8ee0"), (0.51, "#9a9a9a"), (1.0, "#e8e8e8")):
        grad.setColorAt(stop, QColor(col))
    p.setBrush(QBrush(grad))
    p.drawEllipse(disc)
    p.setPen(QPen(QColor("#1b1b1c"), size * 0.025))
    p.drawLine(QPointF(disc.center().x(), disc.top()), QPointF(disc.center().x(), disc.bottom()))
    p.end()
    return pm


def arrow_pixmap(up: bool, size: int = 24) -> QPixmap:
    """A small chevron for spin boxes (the stylesheet needs image files)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 24.0, size / 24.0)
    _pen(p, theme.MUTED.lighter(120), 2.6)
    y0, y1 = (15.0, 9.0) if up else (9.0, 15.0)
    path = QPainterPath(QPointF(6, y0))
    path.lineTo(12, y1)
    path.lineTo(18, y0)
    p.drawPath(path)
    p.end()
    return pm


def write_resources() -> None:
    """Regenerate resources/ (app icon, spin box arrows): ``python -m gui.icons``."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPixmap needs it
    RESOURCES.mkdir(exist_ok=True)
    app_pixmap(256).save(str(RESOURCES / "tinct.png"))
    arrow_pixmap(True).save(str(RESOURCES / "arrow_up.png"))
    arrow_pixmap(False).save(str(RESOURCES / "arrow_down.png"))


def app_icon() -> QIcon:
    """The shipped resources/tinct.png when present, else the same icon drawn now."""
    path = RESOURCES / "tinct.png"
    if path.is_file():
        return QIcon(str(path))
    return QIcon(app_pixmap())


if __name__ == "__main__":
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    write_resources()
