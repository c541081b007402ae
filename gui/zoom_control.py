"""The zoom control in the canvas' corner: [−] [ 57% ▾ ] [+], the percentage a menu.

A photographer reads the zoom where they look, on the photo, and changes it
with the mouse there: the percentage opens Fit / 50% / 100% / 200% / 400%.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

#: Preset zoom levels of the menu (1.0 is one photo pixel per screen pixel).
PRESETS = (0.25, 0.5, 1.0, 2.0, 4.0)


def percent(scale: float) -> str:
    """'57%', or '0.5%' for tiny scales of huge scans."""
    value = scale * 100
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


class ZoomControl(QWidget):
    """Reports what the user asks for; the canvas does the zooming."""

    fit_requested = Signal()
    zoom_requested = Signal(float)  # absolute scale (device pixels per photo pixel)
    step_requested = Signal(float)  # relative factor

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("zoomControl")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 3, 4, 3)
        row.setSpacing(2)
        self.out_button = QToolButton()
        self.out_button.setText("−")
        self.out_button.setToolTip("Zoom out (Ctrl+-)")
        self.out_button.clicked.connect(lambda: self.step_requested.emit(0.8))
        self.readout = QToolButton()
        self.readout.setObjectName("zoomReadout")
        self.readout.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.readout.setToolTip("Zoom: fit the window, or a fixed size")
        self.readout.setMinimumWidth(74)
        menu = QMenu(self.readout)
        fit = QAction("Fit to Window", menu)
        fit.triggered.connect(self.fit_requested)
        menu.addAction(fit)
        menu.addSeparator()
        for scale in PRESETS:
            action = QAction(percent(scale) + ("  (actual pixels)" if scale == 1.0 else ""), menu)
            action.triggered.connect(lambda _=False, s=scale: self.zoom_requested.emit(s))
            menu.addAction(action)
        self.readout.setMenu(menu)
        self.in_button = QToolButton()
        self.in_button.setText("+")
        self.in_button.setToolTip("Zoom in (Ctrl++)")
        self.in_button.clicked.connect(lambda: self.step_requested.emit(1.25))
        for w in (self.out_button, self.readout, self.in_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrow keys stay with the photo
            row.addWidget(w)
        self.set_zoom(1.0, True)

    def set_zoom(self, scale: float, fit: bool) -> None:
        self.readout.setText(f"Fit · {percent(scale)}" if fit else percent(scale))
        self.adjustSize()

    @property
    def text(self) -> str:
        return self.readout.text()

    def menu_actions(self) -> list[QAction]:
        menu = self.readout.menu()
        return [a for a in menu.actions() if not a.isSeparator()] if menu else []
