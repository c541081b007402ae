"""The look: a neutral dark theme, so the photo is the only colour on screen.

Photographers judge colour against neutral gray (Lightroom, Capture One do
the same); a coloured UI would bias how the colorized result is seen. The
one accent colour marks what is chosen or active.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

CANVAS = QColor("#1b1b1c")
WINDOW = QColor("#252527")
PANEL = QColor("#2b2b2e")
BASE = QColor("#1f1f21")
RAISED = QColor("#36363a")
BORDER = QColor("#3c3c41")
TEXT = QColor("#e4e4e6")
MUTED = QColor("#9a9aa1")
ACCENT = QColor("#e0a458")  # warm amber: "tinct"
ACCENT_DIM = QColor("#8a6a44")
OK = QColor("#5fbf77")
WORKING = QColor("#5aa0e6")
FAILED = QColor("#e06060")
WARNING = QColor("#e8c15a")

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW.name()}; }}
QToolBar {{
    background: {WINDOW.name()}; border: none; border-bottom: 1px solid {BORDER.name()};
    spacing: 2px; padding: 3px 6px;
}}
QToolBar QToolButton {{
    color: {TEXT.name()}; padding: 4px 7px; border-radius: 5px; border: 1px solid transparent;
}}
QToolBar QToolButton:hover {{ background: {RAISED.name()}; }}
QToolBar QToolButton:checked {{ background: {RAISED.name()}; border-color: {ACCENT_DIM.name()}; }}
QToolBar QToolButton:disabled {{ color: {MUTED.darker(140).name()}; }}
QStatusBar {{
    background: {WINDOW.name()}; color: {MUTED.name()}; border-top: 1px solid {BORDER.name()};
}}
QStatusBar QLabel {{ color: {MUTED.name()}; padding: 0 6px; }}
QSplitter::handle {{ background: {BORDER.name()}; }}
QScrollArea#sidePanel, QWidget#sidePanelBody, QWidget#saveBar {{
    background: {PANEL.name()}; border: none;
}}
QLabel#sectionTitle {{
    color: {MUTED.name()}; font-weight: 600; letter-spacing: 1px; padding-top: 4px;
}}
QLabel#hint {{ color: {MUTED.name()}; }}
QLabel#heading {{ color: {TEXT.name()}; font-size: 13pt; font-weight: 600; }}
QLabel#note {{ color: {WARNING.name()}; }}
QFrame#separator {{ background: {BORDER.name()}; max-height: 1px; min-height: 1px; }}
QPushButton {{
    background: {RAISED.name()}; color: {TEXT.name()}; border: 1px solid {BORDER.name()};
    border-radius: 5px; padding: 5px 12px;
}}
QPushButton:hover {{ border-color: {MUTED.name()}; }}
QPushButton:disabled {{ color: {MUTED.darker(130).name()}; }}
QPushButton:checked, QToolButton:checked {{
    background: {ACCENT_DIM.name()}; color: #ffffff; border-color: {ACCENT.name()};
}}
QPushButton#primary {{
    background: {ACCENT.name()}; color: #1b1b1c; border-color: {ACCENT.name()}; font-weight: 600;
}}
QPushButton#primary:hover {{ background: {ACCENT.lighter(110).name()}; }}
QPushButton#primary:disabled {{
    background: {RAISED.name()}; color: {MUTED.darker(130).name()}; border-color: {BORDER.name()};
    font-weight: 600;
}}
QPushButton#segmentLeft, QPushButton#segmentRight {{ padding: 4px 8px; }}
QPushButton#segmentLeft {{ border-top-right-radius: 0; border-bottom-right-radius: 0; }}
QPushButton#segmentRight {{
    border-top-left-radius: 0; border-bottom-left-radius: 0; border-left: none;
}}
QPushButton#segmentLeft:checked, QPushButton#segmentRight:checked {{
    background: {ACCENT_DIM.name()}; color: #ffffff; border-color: {ACCENT_DIM.name()};
}}
QComboBox, QLineEdit, QSpinBox {{
    background: {BASE.name()}; color: {TEXT.name()}; border: 1px solid {BORDER.name()};
    border-radius: 4px; padding: 3px 6px; min-height: 20px;
}}
QSpinBox {{ padding: 0 4px; }}
QSpinBox::up-button, QSpinBox::down-button {{
    subcontrol-origin: border; width: 16px; border: none; background: transparent;
}}
QSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-button:hover, QSpinBox::down-button:hover {{ background: {RAISED.name()}; }}
QSpinBox::up-arrow {{ image: url(%ARROW_UP%); width: 10px; height: 10px; }}
QSpinBox::down-arrow {{ image: url(%ARROW_DOWN%); width: 10px; height: 10px; }}
QSpinBox::up-arrow:disabled, QSpinBox::down-arrow:disabled {{ image: none; }}
QSpinBox QLineEdit {{ padding: 0; border: none; background: transparent; min-height: 0; }}
QComboBox:focus, QLineEdit:focus, QSpinBox:focus {{ border-color: {ACCENT_DIM.name()}; }}
QLineEdit[invalid="true"] {{ border-color: {FAILED.name()}; }}
QComboBox::drop-down {{
    subcontrol-origin: padding; subcontrol-position: top right; width: 18px; border: none;
}}
QComboBox::down-arrow {{ image: url(%ARROW_DOWN%); width: 10px; height: 10px; }}
QComboBox QAbstractItemView {{
    background: {BASE.name()}; color: {TEXT.name()}; selection-background-color: {RAISED.name()};
    border: 1px solid {BORDER.name()};
}}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER.name()}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT_DIM.name()}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT.name()}; width: 14px; height: 14px; margin: -5px 0; border-radius: 7px;
}}
QProgressBar {{
    background: {BASE.name()}; border: 1px solid {BORDER.name()}; border-radius: 4px;
    text-align: center; color: {TEXT.name()}; min-height: 18px;
}}
QProgressBar::chunk {{ background: {ACCENT_DIM.name()}; border-radius: 3px; }}
QListView#thumbnails {{
    background: {WINDOW.name()}; border: none; border-top: 1px solid {BORDER.name()};
}}
QTreeWidget, QTableWidget {{
    background: {BASE.name()}; color: {TEXT.name()}; border: 1px solid {BORDER.name()};
    alternate-background-color: {PANEL.name()};
}}
QHeaderView::section {{
    background: {PANEL.name()}; color: {MUTED.name()}; border: none; padding: 4px;
}}
QToolTip {{
    background: {RAISED.name()}; color: {TEXT.name()}; border: 1px solid {BORDER.name()};
    padding: 4px;
}}
QMenu {{ background: {PANEL.name()}; color: {TEXT.name()}; border: 1px solid {BORDER.name()}; }}
QMenu::item:selected {{ background: {RAISED.name()}; }}
QMenu::item:disabled {{ color: {MUTED.darker(130).name()}; }}
QMenuBar {{ background: {WINDOW.name()}; color: {TEXT.name()}; }}
QMenuBar::item:selected {{ background: {RAISED.name()}; }}
QComboBox QAbstractItemView::item:disabled {{ color: {MUTED.darker(150).name()}; }}
QWidget#zoomControl {{
    background: rgba(20, 20, 22, 200); border: 1px solid {BORDER.name()}; border-radius: 13px;
}}
QWidget#zoomControl QToolButton {{
    color: {TEXT.name()}; background: transparent; border: none; border-radius: 10px;
    padding: 2px 7px; min-height: 18px;
}}
QWidget#zoomControl QToolButton:hover {{ background: {RAISED.name()}; }}
QWidget#zoomControl QToolButton::menu-indicator {{ image: none; width: 0; }}
QPushButton#linkButton, QPushButton#statusButton {{
    border: none; background: transparent; color: {ACCENT.name()}; padding: 0 2px;
}}
QPushButton#linkButton:hover, QPushButton#statusButton:hover {{ text-decoration: underline; }}
QStatusBar QProgressBar {{ min-height: 14px; max-height: 14px; font-size: 8pt; }}
"""


def palette() -> QPalette:
    """A neutral dark palette for widgets the stylesheet does not reach."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: RAISED,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: RAISED,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: QColor("#ffffff"),
        QPalette.ColorRole.Highlight: ACCENT_DIM,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: MUTED,
    }
    for role, color in roles.items():
        p.setColor(role, color)
    disabled = MUTED.darker(130)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply(app: QApplication) -> None:
    """Fusion style + the dark palette + the stylesheet, app-wide."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    resources = Path(__file__).resolve().parent.parent / "resources"
    app.setStyleSheet(
        STYLESHEET.replace("%ARROW_UP%", (resources / "arrow_up.png").as_posix()).replace(
            "%ARROW_DOWN%", (resources / "arrow_down.png").as_posix()
        )
    )
    font = app.font()
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    app.setFont(font)
