"""Entry point of the desktop app: ``python main.py [photos...]``.

The window is shown first and the models load afterwards in a worker, so
the user sees Tinct within a second even though TensorFlow takes several
to import; photos opened meanwhile wait in the queue.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from core.backend import BACKEND_ENV, preload
from gui import icons, theme
from gui.main_window import MainWindow
from gui.settings import APPLICATION, ORGANIZATION, Settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tinct", description="Tinct: colorize photos.")
    parser.add_argument("paths", nargs="*", type=Path, help="photos or folders to open")
    parser.add_argument("--models", type=Path, help="models folder (default: the shipped one)")
    parser.add_argument("--backend", choices=("auto", "litert", "tf"),
                        help="litert: LiteRT on the CPU; tf: TensorFlow (GPU); default auto")
    parser.add_argument("--settings", type=Path, help=argparse.SUPPRESS)  # tests, screenshots
    return parser.parse_args(argv)


def application() -> QApplication:
    """The QApplication, created once with Tinct's names, icon and theme."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([sys.argv[0] if sys.argv else "tinct"])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName("Tinct")
    app.setWindowIcon(icons.app_icon())
    theme.apply(app)
    return app


def build(argv: list[str]) -> tuple[QApplication, MainWindow, argparse.Namespace]:
    """Create the app and the window without showing it or loading any model."""
    args = parse_args(argv)
    if args.backend:
        os.environ[BACKEND_ENV] = args.backend
    app = application()
    settings = Settings(args.settings) if args.settings else Settings.from_env()
    window = MainWindow(settings, models_dir=args.models)
    return app, window, args


def show(window: MainWindow) -> None:
    """Show the window, with what holds the GIL done first: the inference runtime's
    import and the encoder's interpreter (~0.1 s on LiteRT), so that loading the models
    after the window shows never stalls it."""
    preload()
    window.session.colorizer.prepare()
    window.show()


def run(argv: list[str]) -> int:
    """Show the window, then load the models and open ``argv``'s photos."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app, window, args = build(argv)
    show(window)
    QTimer.singleShot(0, window.start_models)  # after the first paint
    if args.paths:
        QTimer.singleShot(0, lambda: window.add_paths(args.paths))
    return app.exec()
