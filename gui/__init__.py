"""Tinct's desktop app (PySide6): ``gui.app.run`` opens the window.

Modules: app (entry point), main_window (wiring), session (the open photos and
their pipeline), workers (threads), canvas, thumbnails, panels, batch_dialog,
dialogs, actions (commands and shortcuts), settings (QSettings), theme, icons,
imaging (pixels -> QImage), screenshots (docs). Nothing here imports
TensorFlow: models load through core, in a worker thread.
"""
