"""Every menu/toolbar command in one table: name, label, keys, icon, tip.

Menus, the toolbar and Help > Keyboard Shortcuts all read this table, so a
shortcut is defined once and documented automatically.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from gui import icons


@dataclass(frozen=True)
class Spec:
    text: str
    keys: tuple[str | QKeySequence.StandardKey, ...] = ()
    icon: str | None = None
    tip: str = ""
    checkable: bool = False


SPECS: dict[str, Spec] = {
    "open": Spec("&Open Photos…", (QKeySequence.StandardKey.Open,), "open",
                 "Open black-and-white photos"),
    "open_folder": Spec("Open &Folder…", ("Ctrl+Shift+O",), "folder",
                        "Open every photo in a folder"),
    "paste": Spec("&Paste Image", (QKeySequence.StandardKey.Paste,), "paste",
                  "Open the image or photo file on the clipboard"),
    "save": Spec("&Save", (QKeySequence.StandardKey.Save,), "save",
                 "Save the colour photo with the Export settings"),
    "save_all": Spec("Save &All", ("Ctrl+Shift+S",), "save_all", "Save every colorized photo"),
    "batch": Spec("&Batch Colorize…", ("Ctrl+B",), "batch",
                  "Colorize a whole folder into an output folder"),
    "undo": Spec("&Undo", (QKeySequence.StandardKey.Undo,), None,
                 "Undo the last change to a photo's colours"),
    "redo": Spec("&Redo", (QKeySequence.StandardKey.Redo,), None, "Redo what was undone"),
    "reset": Spec("R&eset Photo", ("Ctrl+Shift+R",), None,
                  "Back to Auto, 100% strength, similar scenes"),
    "resume": Spec("&Colorize Remaining", ("Ctrl+Shift+C",), None,
                   "Colorize the photos still waiting after Stop"),
    "remove": Spec("&Remove Photo", (QKeySequence.StandardKey.Delete,), "remove",
                   "Close the selected photo (the file is not touched)"),
    "stop": Spec("S&top Queue", ("Esc",), "cancel", "Stop colorizing the photos still queued"),
    "retry": Spec("&Try Again", ("Ctrl+R",), None, "Colorize a failed photo again"),
    "quit": Spec("&Quit", ("Ctrl+Q",)),
    "fit": Spec("&Fit to Window", ("Ctrl+0",), "fit", "Show the whole photo"),
    "zoom100": Spec("&Actual Pixels (100%)", ("Ctrl+1",), "zoom100",
                    "One photo pixel per screen pixel"),
    "zoom_in": Spec("Zoom &In", (QKeySequence.StandardKey.ZoomIn, "Ctrl+=")),
    "zoom_out": Spec("Zoom &Out", (QKeySequence.StandardKey.ZoomOut,)),
    "split": Spec("Before/After &Split", ("S",), "compare",
                  "Compare original and colour with a draggable divider", checkable=True),
    "original": Spec("Show &Original", ("B",), None,
                     "Flip between the original and the colour version", checkable=True),
    "next": Spec("&Next Photo", (QKeySequence.StandardKey.MoveToNextPage,)),
    "previous": Spec("&Previous Photo", (QKeySequence.StandardKey.MoveToPreviousPage,)),
    "auto": Spec("Category: &Auto", ("A",), None, "Let Tinct recognise the scene again"),
    "shortcuts": Spec("&Keyboard Shortcuts", (QKeySequence.StandardKey.HelpContents,
                                               "Ctrl+/"), "help"),
    "about": Spec("&About Tinct"),
}

#: Keys that work only while the photo or the strip has focus (sliders and
#: text fields keep their own arrow keys and space bar).
VIEW_KEYS = (
    ("Show original (photo focused)", "Space"),
    ("Next / previous photo (photo or strip focused)", "Right / Left"),
    ("Zoom around the pointer", "Mouse wheel"),
    ("Pan when zoomed in", "Drag"),
    ("Move the before/after divider", "Drag the divider"),
    ("100% at a point / fit again", "Double-click"),
)


def create(parent: QObject) -> dict[str, QAction]:
    """Build every QAction (not yet connected: the window wires them up)."""
    actions: dict[str, QAction] = {}
    for name, spec in SPECS.items():
        action = QAction(spec.text, parent)
        action.setObjectName(name)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        if spec.icon:
            action.setIcon(icons.icon(spec.icon))
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.keys:
            keys = QKeySequence(spec.keys[0]).toString(QKeySequence.SequenceFormat.NativeText)
            tip += f" ({keys})"
        action.setToolTip(tip)
        action.setStatusTip(spec.tip)
        action.setCheckable(spec.checkable)
        actions[name] = action
    return actions
