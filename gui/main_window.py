"""The main window: canvas in the middle, side panel on the right, strip below.

It wires widgets to the Session (the photos and their workers) and shows
what the Session reports; it never runs inference itself, so the window
stays responsive whatever the models are doing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gui import actions as action_table
from gui import icons, pin_tool, repair_tool
from gui import status as status_widgets
from gui.batch_dialog import BatchDialog
from gui.canvas import CompareCanvas
from gui.dialogs import ShortcutsDialog, about
from gui.history import History
from gui.panels import (
    CategoryPanel,
    ConfidencePanel,
    ExportPanel,
    separator,
    title,
    took,
)
from gui.session import Models, PhotoItem, SaveReport, Session, State
from gui.settings import Settings
from gui.thumbnails import ThumbnailStrip

log = logging.getLogger(__name__)

NO_MODELS_HELP = (
    "No trained models are installed, so photos cannot be colorized yet. "
    "Restore the models/ folder next to Tinct, point the TINCT_MODELS environment "
    "variable at a models folder, or train them with “python main.py train”. "
    "You can still open and look at photos."
)
SIDE_PANEL_WIDTH = 330


class MainWindow(QMainWindow):
    """Tinct's window; ``add_paths`` is what a drop, File > Open and argv all call."""

    def __init__(
        self,
        settings: Settings | None = None,
        colorizer: Any | None = None,
        models_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else Settings.from_env()
        if colorizer is None:
            from core.engine import Colorizer  # no TensorFlow: models load later, in a worker

            colorizer = Colorizer(models_dir)
        self.session = Session(colorizer, self)
        self.history = History(self.session, self)
        self.last_error = ""
        self._shown: int | None = None
        self._message_box: QMessageBox | None = None
        self._batch: BatchDialog | None = None
        self._closed = False

        self.setWindowTitle("Tinct")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumSize(900, 600)
        self.resize(1440, 900)
        self.commands = action_table.create(self)
        self._build_widgets()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore_layout()
        self._refresh_models()
        self._refresh_selection()

    # -- construction ---------------------------------------------------------
    def _build_widgets(self) -> None:
        self.canvas = CompareCanvas()
        self.strip = ThumbnailStrip()
        self.confidence = ConfidencePanel()
        self.category = CategoryPanel()
        self.export = ExportPanel(self.settings)

        body = QWidget()
        body.setObjectName("sidePanelBody")
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 4, 0, 8)
        column.setSpacing(0)
        column.addWidget(self.confidence)
        column.addWidget(separator())
        column.addWidget(self.category)
        column.addWidget(separator())
        self.pins = pin_tool.install(self)  # colour pins: panel here, tool on the canvas
        column.addWidget(self.pins.panel)
        column.addWidget(separator())
        self.repair = repair_tool.install(self)  # repair before colour: switch, view, brush
        column.addWidget(self.repair.panel)
        column.addWidget(separator())
        column.addWidget(self.export)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("sidePanel")
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side = QWidget()
        self.side.setObjectName("sidePanelBody")
        # Wide enough for the panel's widest row beside the scroll bar: nothing is clipped
        # under the bar when the panel scrolls (900x600).
        bar = scroll.verticalScrollBar().sizeHint().width()
        self.side.setMinimumWidth(max(300, body.minimumSizeHint().width() + bar + 4))
        side_layout = QVBoxLayout(self.side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(0)
        side_layout.addWidget(scroll, 1)
        side_layout.addWidget(separator())
        side_layout.addWidget(self.export.buttons())

        view = QWidget()  # the photo above its strip; the side panel gets the full height
        layout = QVBoxLayout(view)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.strip)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplit")
        self.splitter.addWidget(view)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)
        self.splitter.setHandleWidth(1)
        self.splitter.setSizes([self.width() - SIDE_PANEL_WIDTH, SIDE_PANEL_WIDTH])
        self.setCentralWidget(self.splitter)

        # Keys that only make sense on the photo: elsewhere arrows and space move sliders.
        for key, slot in (
            ("Space", lambda: self.commands["original"].toggle()),
            ("Right", self.next_photo),
            ("Left", self.previous_photo),
        ):
            for widget in (self.canvas, self.strip):
                shortcut = QShortcut(QKeySequence(key), widget)
                shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
                shortcut.activated.connect(slot)

    def _build_menus(self) -> None:
        a = self.commands
        bar = self.menuBar()
        groups = {
            "&File": ["open", "open_folder", "paste", None, "save", "save_all", None, "batch",
                      None, "quit"],
            "&Edit": ["undo", "redo", None, "reset", "auto"],
            "&Photo": ["retry", "stop", "resume", None, "remove"],
            "&View": ["fit", "zoom100", "zoom_in", "zoom_out", None, "split", "original", None,
                      "next", "previous"],
            "&Help": ["shortcuts", "about"],
        }
        for label, names in groups.items():
            menu = bar.addMenu(label)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(a[name])

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setIconSize(bar.iconSize().scaled(20, 20, Qt.AspectRatioMode.KeepAspectRatio))
        a = self.commands
        for name in ("open", "open_folder", "paste", None, "save", "save_all", None, "batch",
                     None, "fit", "zoom100", "split"):
            if name is None:
                bar.addSeparator()
            else:
                bar.addAction(a[name])
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(a["shortcuts"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self._toolbar_words = True
        self._set_toolbar_words(True)

    _ICON_ONLY = ("fit", "zoom100", "split", "shortcuts")

    def _set_toolbar_words(self, words: bool) -> None:
        """Words beside the icons, or icons alone (tooltips say the rest)."""
        self._toolbar_words = words
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if words
                                        else Qt.ToolButtonStyle.ToolButtonIconOnly)
        for name in self._ICON_ONLY:
            self.toolbar.widgetForAction(self.commands[name]).setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonIconOnly)

    def _fit_toolbar(self) -> None:
        """Drop the toolbar's words when they do not fit the window (at 900x600 with a
        larger font the "?" button was cut off), and bring them back when they do."""
        if not self._toolbar_words:
            self._set_toolbar_words(True)
        if self.toolbar.sizeHint().width() > self.width():
            self._set_toolbar_words(False)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_toolbar()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.queue_notice = status_widgets.QueueNotice()
        self.save_status = status_widgets.SaveStatus()
        self.save_status.message.connect(lambda text: self.statusBar().showMessage(text))
        self.models_label = QLabel("")
        self.device_label = QLabel("")
        for widget in (self.queue_notice, self.save_status, self.models_label, self.device_label):
            bar.addPermanentWidget(widget)

    def _connect(self) -> None:
        a, s = self.commands, self.session
        handlers = {
            "open": self.open_files, "open_folder": self.open_folder, "paste": self.paste,
            "save": self.save_current, "save_all": self.save_all, "batch": self.show_batch,
            "remove": self.remove_current, "stop": s.stop, "retry": self.retry_current,
            "quit": self.close, "fit": self.canvas.fit, "zoom100": self.canvas.zoom_100,
            "zoom_in": lambda: self.canvas.zoom_by(1.25),
            "zoom_out": lambda: self.canvas.zoom_by(0.8),
            "next": self.next_photo, "previous": self.previous_photo,
            "auto": lambda: self.category.choose("auto"),
            "undo": self.history.undo, "redo": self.history.redo, "reset": self.reset_current,
            "resume": s.resume,
            "shortcuts": self.show_shortcuts, "about": self.show_about,
        }
        for name, slot in handlers.items():
            a[name].triggered.connect(slot)
        a["split"].setChecked(True)
        a["split"].toggled.connect(self.canvas.set_split_enabled)
        a["original"].toggled.connect(self.canvas.set_show_original)

        self.canvas.files_dropped.connect(self.add_paths)
        self.canvas.image_dropped.connect(self.session.add_image)
        self.strip.files_dropped.connect(self.add_paths)
        self.strip.photo_selected.connect(self.select)
        self.strip.remove_requested.connect(self.remove_photos)
        self.strip.retry_requested.connect(self.session.retry)

        self.category.category_changed.connect(
            lambda c: self._change(f"Scene: {title(c)}", category=c))
        self.category.strength_changed.connect(
            lambda v: self._change(f"Strength {v:.0%}", self.category.gesture, strength=v))
        self.category.routing_changed.connect(
            lambda r: self._change("Similar scenes" if r == "soft" else "This scene only",
                                   routing=r))
        self.category.reset_clicked.connect(self.reset_current)
        self.history.applied.connect(self._on_history_applied)
        stack = self.history.stack
        stack.canUndoChanged.connect(a["undo"].setEnabled)
        stack.canRedoChanged.connect(a["redo"].setEnabled)
        stack.undoTextChanged.connect(
            lambda t: a["undo"].setText(f"&Undo {t}" if t else "&Undo"))
        stack.redoTextChanged.connect(
            lambda t: a["redo"].setText(f"&Redo {t}" if t else "&Redo"))
        a["undo"].setEnabled(False)
        a["redo"].setEnabled(False)
        self.strip.selection_changed.connect(self._refresh_targets)
        self.queue_notice.resume_clicked.connect(s.resume)
        s.queue_changed.connect(self._on_queue_changed)
        s.export_progress.connect(self.save_status.set_progress)
        s.export_finished.connect(self._on_saved)
        self.export.save_clicked.connect(self.save_current)
        self.export.save_all_clicked.connect(self.save_all)

        s.item_added.connect(self._on_item_added)
        s.item_changed.connect(self._on_item_changed)
        s.item_removed.connect(self._on_item_removed)
        s.models_changed.connect(self._refresh_models)
        s.message.connect(self.statusBar().showMessage)
        s.export_failed.connect(lambda _id, msg: self.show_error("Could not save", msg))

    # -- models -------------------------------------------------------------------
    def start_models(self) -> None:
        """Begin loading the models in the background (called once the window shows)."""
        self.session.start_models()

    def _refresh_models(self) -> None:
        s = self.session
        state = s.models_state
        texts = {
            Models.IDLE: ("Models not loaded", "Starting…", False, True),
            Models.LOADING: ("Loading models…", "Loading models… Drop photos now: they wait "
                             "in line and are colorized as soon as the models are ready.",
                             False, True),
            Models.READY: ("Models ready", "", False, False),
            Models.MISSING: ("No models installed", NO_MODELS_HELP, True, False),
            Models.FAILED: ("Models could not be loaded", s.models_message, True, False),
        }
        short, long, warn, busy = texts[state]
        if state is Models.READY:
            own = sum(1 for v in s.category_status.values() if v == "own model")
            shared = any(v == "universal model" for v in s.category_status.values())
            short = f"Ready · knows {own} kinds of scene"
            long = (f"Ready. Tinct knows the colours of {own} kinds of scene (people, "
                    "animals, beaches, streets…) from colour photos of each"
                    + ("; other photos get general colours." if shared else "."))
        self.models_label.setText(short)
        self.models_label.setToolTip(s.models_message or long)
        self.canvas.set_placeholder(long, warn=warn, busy=busy)
        self.device_label.setText(s.device or "")
        self.device_label.setVisible(bool(s.device))
        if s.category_status:
            self.category.set_category_status(s.category_status)
        if state in (Models.MISSING, Models.FAILED):
            self.statusBar().showMessage(short)
        self._refresh_selection()

    # -- opening photos ----------------------------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> list[int]:
        """Open files and folders: what dropping them on the window does."""
        paths, reopened = pin_tool.open_edits(self, [Path(p) for p in paths])  # *.tinct.json
        if not paths:
            return reopened
        if paths[0].exists():
            first = paths[0]
            self.settings.open_dir = str(first if first.is_dir() else first.parent)
        added = self.session.add_paths(paths)
        pin_tool.restore_sidecars(self, added)  # a pinned output's edit file: pins come back
        return reopened + added

    def open_files(self) -> None:
        from core.photo import SUPPORTED_SUFFIXES

        patterns = " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open Photos", self.settings.open_dir, f"Photos ({patterns});;All files (*)"
        )
        if files:
            self.add_paths(files)

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Folder of Photos",
                                                  self.settings.open_dir)
        if folder:
            self.add_paths([folder])

    def paste(self) -> None:
        """Open what the clipboard holds: image data, photo files, or a path as text."""
        mime = QGuiApplication.clipboard().mimeData()
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime else []
        text = mime.text().strip() if mime and mime.hasText() else ""
        if files:
            self.add_paths(files)
        elif mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                self.statusBar().showMessage("The clipboard image could not be read")
                return
            self.session.add_image(image)
        elif text and Path(text).exists():
            self.add_paths([text])
        else:
            self.statusBar().showMessage("The clipboard holds no image or photo file to open")

    # -- selection and display --------------------------------------------------------
    def select(self, item_id: int | None) -> None:
        self.session.select(item_id)
        self._refresh_selection()

    def _step(self, delta: int) -> None:
        order = self.session.order
        if not order:
            return
        current = self.session.selected
        index = order.index(current) if current in order else -1
        self.select(order[max(0, min(len(order) - 1, index + delta))])

    def next_photo(self) -> None:
        self._step(1)

    def previous_photo(self) -> None:
        self._step(-1)

    def current_item(self) -> PhotoItem | None:
        selected = self.session.selected
        return self.session.items.get(selected) if selected is not None else None

    def selected_ids(self) -> list[int]:
        """The photos a change in the Colour panel applies to: the strip's selection
        when the photo on screen is part of it, else just that photo."""
        current = self.session.selected
        if current is None or current not in self.session.items:
            return []
        chosen = [i for i in self.strip.selected_ids() if i in self.session.items]
        return chosen if current in chosen else [current]

    def _refresh_targets(self) -> None:
        self.category.show_targets(len(self.selected_ids()))

    def _change(self, text: str, merge_key: str | None = None, **fields: Any) -> None:
        """A change in the Colour panel: one undo step over every selected photo."""
        ids = self.selected_ids()
        if len(ids) > 1:
            text += f" ({len(ids)} photos)"
        self.history.change(ids, text, merge_key, **fields)

    def _on_queue_changed(self) -> None:
        self.queue_notice.set_count(self.session.stopped_count)
        self.commands["resume"].setEnabled(bool(self.session.stopped_count))

    def reset_current(self) -> None:
        self.history.reset(self.selected_ids())

    def _on_history_applied(self, ids: list[int]) -> None:
        """Undo/redo show the photo they changed, so the change is seen."""
        if ids and self.session.selected not in ids:
            self.select(ids[0])
        elif self.session.selected in ids:
            self._refresh_selection()

    def _on_item_added(self, item_id: int) -> None:
        self.strip.add(item_id, self.session.items[item_id].name,
                       self.session.order.index(item_id))
        self._refresh_actions()

    def _on_item_removed(self, item_id: int) -> None:
        index = self.strip.ids().index(item_id) if item_id in self.strip.ids() else 0
        self.strip.remove(item_id)
        if self.session.selected is None and self.session.order:
            self.select(self.session.order[min(index, len(self.session.order) - 1)])
        else:
            self._refresh_selection()

    def _on_item_changed(self, item_id: int) -> None:
        item = self.session.items.get(item_id)
        if item is None:
            return
        self.strip.update_item(item_id, item.colour_thumb or item.thumb, item.state.value,
                               self._tooltip(item))
        if item_id == self.session.selected:
            self._refresh_selection()
        else:
            self._refresh_actions()

    def _tooltip(self, item: PhotoItem) -> str:
        if item.state is State.FAILED:
            return f"{item.name}\nFailed: {item.error}"
        if item.state is State.DONE:
            used = title(item.used_category) if item.used_category else ""
            return f"{item.name}\nDone: {used} ({took(item.seconds)})"
        if item.state is State.WORKING:
            return f"{item.name}\nColorizing…"
        waiting = "" if self.session.models_ready else " (waiting for the models)"
        return f"{item.name}\nQueued{waiting}"

    def _refresh_selection(self) -> None:
        """Show the selected photo on the canvas and its settings in the side panel."""
        item = self.current_item()
        self.strip.select(item.id if item else None)
        if item is None:
            self._shown = None
            self.canvas.clear()
            self.setWindowTitle("Tinct")
            self.confidence.clear()
            self.category.show_models({}, [], 0.0)
            self.category.show_detected(None)
            self.category.show_targets(0)
            self.category.setEnabled(False)
            self._refresh_actions()
            return
        self.setWindowTitle(f"{item.name} — Tinct")
        if self._shown != item.id:
            self.category.forget_pending()
        self.canvas.set_photo(item.original, item.colour, same_photo=self._shown == item.id)
        self._shown = item.id
        self.canvas.set_error(
            f"Could not colorize {item.name}\n\n{_reason(item)}" if item.state is State.FAILED
            else ""
        )
        self.canvas.set_status(*self._canvas_status(item))
        self.category.setEnabled(item.state is not State.FAILED)  # nothing to colour there
        self._refresh_targets()
        self.category.show_photo(item.category, item.strength, item.routing)
        top = max(item.confidences, key=item.confidences.__getitem__) if item.confidences else None
        self.category.show_detected(top)
        self.category.show_models(item.weights, item.notes, item.seconds)
        if item.confidences:
            self.confidence.show_result(item.confidences, item.used_category,
                                        item.category == "auto")
        else:
            self.confidence.clear("Not colorized yet")
        self._refresh_actions()

    def _canvas_status(self, item: PhotoItem) -> tuple[str, bool]:
        """The pill over the photo: what is happening to it, with a spinner while busy."""
        models = self.session.models_state
        if item.state is State.FAILED:
            return "", False
        if item.colour is not None:
            return ("Updating colours…", True) if item.state is State.WORKING else ("", False)
        if item.original is None:
            return "Opening…", True  # decoding a big scan takes a moment: say so
        if models is Models.MISSING:
            return ("No models installed, so this is the original. To colorize photos, restore "
                    "the models/ folder or set TINCT_MODELS to a models folder.", False)
        if models is Models.FAILED:
            return "The models could not be loaded: showing the original", False
        if models in (Models.IDLE, Models.LOADING):
            return "Waiting for the models to load…", True
        return "Colorizing…", True

    def _refresh_actions(self) -> None:
        item = self.current_item()
        has_result = item is not None and item.state is State.DONE
        any_result = any(i.state is State.DONE for i in self.session.items.values())
        a = self.commands
        a["save"].setEnabled(has_result)
        a["save_all"].setEnabled(any_result)
        a["remove"].setEnabled(item is not None)
        a["retry"].setEnabled(item is not None and item.state is State.FAILED)
        a["auto"].setEnabled(item is not None and item.state is not State.FAILED)
        a["reset"].setEnabled(item is not None and item.state is not State.FAILED)
        a["resume"].setEnabled(bool(self.session.stopped_count))
        for name in ("fit", "zoom100", "zoom_in", "zoom_out"):
            a[name].setEnabled(item is not None)
        self.export.set_photo_available(has_result, any_result)

    def remove_current(self) -> None:
        ids = self.selected_ids()
        item = self.current_item()
        self.remove_photos(ids if item is not None and item.id in ids else
                           [item.id] if item is not None else [])

    def remove_photos(self, ids: list[int]) -> None:
        """Close photos from the list (one undo step: Undo brings them back, pins and all;
        the files on disk are never touched)."""
        ids = [i for i in ids if i in self.session.items]
        if not ids:
            return
        names = [self.session.items[i].name for i in ids]
        self.history.remove(ids, names)
        what = names[0] if len(ids) == 1 else f"{len(ids)} photos"
        self.session.message.emit(f"Closed {what} (the file is not deleted); "
                                  "Undo (Ctrl+Z) opens it again with its settings and pins"
                                  if len(ids) == 1 else
                                  f"Closed {what} (the files are not deleted); "
                                  "Undo (Ctrl+Z) opens them again with their settings and pins")

    def retry_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.session.retry(item.id)

    # -- saving -------------------------------------------------------------------
    def save_current(self) -> int:
        item = self.current_item()
        return self.save_items([item.id] if item else [])

    def save_all(self) -> int:
        return self.save_items(list(self.session.order))

    def save_items(self, ids: list[int]) -> int:
        """Save the colorized photos among ``ids``; asks before replacing earlier outputs.

        The save's progress shows in the status bar and it ends with a summary
        ("15 saved, 2 skipped (failed)") and a "Show in folder" button.
        """
        error = self.export.pattern_error()
        if error:
            self.show_error("Cannot save", error)
            return 0
        options = self.export.options()
        dest = self.export.destination()
        ready: list[int] = []
        skipped: dict[str, str] = {}
        for item_id in ids:
            item = self.session.items.get(item_id)
            if item is None:
                continue
            if item.state is not State.DONE:
                skipped[item.name] = "failed" if item.state is State.FAILED else "not colorized yet"
                continue
            ready.append(item_id)
        from core.outputs import NEW, REDO

        try:  # core's output plan: the batch's names and collision rule
            plan = self.session.plan_export(ready, dest, options)
        except ValueError as exc:
            self.show_error("Cannot save", str(exc))
            return 0
        # Tinct's own earlier outputs of these photos: ask before replacing them. Any
        # other file at a name (an original, the user's own) is never touched: the plan
        # already gave that photo the next free name.
        existing = [t.output for _, t in plan if t.state != NEW]
        if existing:
            if self.confirm_overwrite(existing):
                for _, t in plan:
                    t.state = REDO if t.state != NEW else NEW
            else:
                for item_id, t in plan:
                    if t.state != NEW:
                        skipped[self.session.items[item_id].name] = "kept the file saved before"
                plan = [(i, t) for i, t in plan if t.state == NEW]
        if not plan:
            self.statusBar().showMessage(_nothing_saved(skipped, len(existing)))
            return 0
        count = self.session.export(plan, options, skipped)
        where = dest or "next to the originals"
        self.statusBar().showMessage(f"Saving {count} photo{'s' if count != 1 else ''} to {where}…")
        return count

    def _on_saved(self, report: SaveReport) -> None:
        """The end of a Save / Save All: what happened, and where to look."""
        if report.total == 1 and len(report.written) == 1 and not report.skipped:
            text = f"Saved {report.written[0]}"
        else:
            text = report.summary()[:1].upper() + report.summary()[1:]
        self.statusBar().showMessage(text)
        self.save_status.set_folder(report.folder)

    def confirm_overwrite(self, paths: list[Path]) -> bool:
        """Ask before replacing earlier outputs (tests replace this method)."""
        answer = QMessageBox.question(
            self,
            "Replace saved photos?",
            overwrite_question(paths),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def show_error(self, heading: str, text: str) -> None:
        """Tell the user what went wrong without blocking the window (non-modal box)."""
        self.last_error = text
        self.statusBar().showMessage(f"{heading}: {text}")
        if self._closed:
            return
        box = self._message_box
        if box is not None and box.isVisible():
            box.setText(box.text() + "\n\n" + text)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, heading, text,
                          QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.open()
        self._message_box = box

    # -- dialogs --------------------------------------------------------------------
    def show_batch(self) -> BatchDialog:
        if self._batch is None:
            self._batch = BatchDialog(
                self.session.colorizer, self.settings, self.export.options,
                self.session.category_status, self,
            )
            self._batch.progress_text.connect(self.statusBar().showMessage)
            self._batch.batch_finished.connect(self._on_batch_finished)
        self._batch.refresh_hint()
        self._batch.show()
        self._batch.raise_()
        return self._batch

    def _on_batch_finished(self, report: Any) -> None:
        assert self._batch is not None
        self.statusBar().showMessage("Batch finished: " + self._batch.summary.text())
        self.save_status.set_folder(self._batch.output_folder(report))

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.commands.values(), action_table.VIEW_KEYS, self)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        models = self.models_label.text()
        about(self, self.session.device, models).open()

    # -- layout persistence --------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.layout("state")
        if state is not None:
            self.restoreState(state)
        split = self.settings.layout("main_split")
        if split is not None:
            self.splitter.restoreState(split)

    def save_layout(self) -> None:
        self.settings.set_layout("geometry", self.saveGeometry())
        self.settings.set_layout("state", self.saveState())
        self.settings.set_layout("main_split", self.splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Remember the layout, stop the batch and the workers, then close."""
        if self._closed:
            event.accept()
            return
        self._closed = True
        self.save_layout()
        self.hide()  # feels instant even while a photo finishes in a worker
        if self._batch is not None:
            self._batch.shutdown()
            self._batch.close()
        self.session.shutdown()
        event.accept()


def _reason(item: PhotoItem) -> str:
    """The failure without the repeated file path (the heading names the file)."""
    error = item.error
    for prefix in (f"{item.path}: ", f"{item.name}: "):
        if error.startswith(prefix):
            return error[len(prefix):]
    return error


def overwrite_question(paths: list[Path]) -> str:
    """'1 file already exists: …' / '3 files already exist: …' and what Yes does."""
    n = len(paths)
    names = "\n".join(str(p) for p in paths[:6]) + ("\n…" if n > 6 else "")
    head = "1 file already exists" if n == 1 else f"{n} files already exist"
    them = "it" if n == 1 else "them"
    return f"{head}:\n\n{names}\n\nReplace {them} with the new colour version?"


def _nothing_saved(skipped: dict[str, str], kept: int) -> str:
    """Why a Save wrote nothing (answering No, or no colorized photo)."""
    if kept:
        files = "the file" if kept == 1 else f"the {kept} files"
        return f"Nothing saved: kept {files} saved before"
    if skipped:
        return "Nothing to save yet: no photo is colorized"
    return "Nothing to save"
