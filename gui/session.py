"""The open photos and their journey: queued -> loaded -> colorized (or failed).

This is the GUI's model, kept apart from the widgets so the window only
displays it. It feeds the I/O and inference workers, keeps a few photos'
pixels in memory (the rest keep only thumbnails and results and are decoded
again when looked at), and ignores results that a newer request replaced.
"""

from __future__ import annotations

import enum
import gc
import logging
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, QThread, Signal
from PySide6.QtGui import QImage

from gui import imaging
from gui.history import Edit
from gui.panels import took
from gui.workers import (
    BACKGROUND,
    NORMAL,
    URGENT,
    ColorizeDone,
    ColorizeJob,
    ExportJob,
    InferenceWorker,
    IoWorker,
    LoadDone,
    LoadJob,
    LoadModels,
    ThumbJob,
    start_thread,
    stop_thread,
)

log = logging.getLogger(__name__)

#: Photos decoded ahead of the colorizer: enough to keep it busy, few enough for memory.
MAX_IN_FLIGHT = 2
#: Photos whose full-resolution pixels stay in memory besides those being decoded,
#: colorized or saved: the one on screen. A 24 MP scan holds ~270 MB (pixels, analysis,
#: display frames): six kept was 1.6 GB, an album of a hundred did not fit (issue 22).
#: The rest keep thumbnails and results; looking at one again decodes it again.
KEEP_IN_MEMORY = 1


class State(enum.Enum):
    """Where a photo is on its way; shown as a badge on its thumbnail."""

    QUEUED = "queued"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"


class Models(enum.Enum):
    """The model loading state shown in the status bar and the empty canvas."""

    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    MISSING = "missing"  # no models installed
    FAILED = "failed"  # installed but unusable


@dataclass(eq=False)
class PhotoItem:
    """One open photo: its per-photo settings, its result and (maybe) its pixels."""

    id: int
    path: Path
    pasted: bool = False
    state: State = State.QUEUED
    error: str = ""
    # per-photo colour settings (what undo covers)
    edit: Edit = field(default_factory=Edit)
    # facts and results that stay when the pixels are dropped
    source_format: str | None = None
    size: tuple[int, int] | None = None
    thumb: QImage | None = None
    colour_thumb: QImage | None = None
    confidences: dict[str, float] = field(default_factory=dict)
    used_category: str | None = None
    models_used: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    saved_to: str | None = None
    # heavy: dropped for photos not looked at lately
    photo: Any | None = None  # core.photo.Photo
    analysis: Any | None = None  # core.engine.Analysis
    original: imaging.Frames | None = None
    colour: imaging.Frames | None = None
    detected: Any | None = None  # the damage the detector found (issue 23), for brush edits
    repair_overlay: QImage | None = None  # the repaired pixels, to paint over the photo
    repair_report: dict[str, Any] | None = None
    # bookkeeping
    generation: int = 0
    loading: bool = False
    analysis_for: tuple[Any, ...] | None = None  # the repair the cached analysis was made with
    pending_for: tuple[Any, ...] | None = None  # ... and the one on its way

    @property
    def repair_key(self) -> tuple[Any, ...]:
        """What the photo's lightness depends on: repaired or not, and the brush strokes."""
        return (True, self.edit.repair_strokes) if self.edit.repair else (False,)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def category(self) -> str:
        return self.edit.category

    @property
    def strength(self) -> float:
        return self.edit.strength

    @property
    def routing(self) -> str:
        return self.edit.routing

    def drop_pixels(self) -> None:
        """Free the full-resolution data; thumbnails and results stay."""
        self.photo = self.analysis = self.original = self.colour = None
        self.detected = self.repair_overlay = self.analysis_for = None


class Session(QObject):
    """The list of open photos and the workers that process them."""

    item_added = Signal(int)
    item_changed = Signal(int)
    item_removed = Signal(int)
    models_changed = Signal()  # models_state / models_message / device / category_status
    message = Signal(str)  # the last action, for the status bar
    exported = Signal(int, str)  # item id, path written
    export_failed = Signal(int, str)  # item id, message naming the file
    export_progress = Signal(int, int)  # photos finished, photos in this save
    export_finished = Signal(object)  # SaveReport of the save that just ended
    queue_changed = Signal()  # stopped_count changed (Esc / Continue)

    def __init__(self, colorizer: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.colorizer = colorizer
        self.items: dict[int, PhotoItem] = {}
        self.order: list[int] = []
        self.selected: int | None = None
        self.models_state = Models.IDLE
        self.models_message = ""
        self.device = ""
        self.category_status: dict[str, str] = {}
        self._next_id = 1
        self._todo: deque[int] = deque()
        self._in_flight: set[int] = set()
        self._recent: list[int] = []
        self._paste_dir: Path | None = None
        self._paste_count = 0
        self.stopped_count = 0  # photos Esc left uncoloured (shown with a Continue button)
        self._save: SaveReport | None = None

        self._inference = InferenceWorker(colorizer)
        self._io = IoWorker()
        self._inference.models_loaded.connect(self._on_models_loaded)
        self._inference.models_failed.connect(self._on_models_failed)
        self._inference.colorized.connect(self._on_colorized)
        self._inference.colorize_failed.connect(self._on_colorize_failed)
        self._inference.exported.connect(self._on_exported)
        self._inference.export_failed.connect(self._on_export_failed)
        self._io.loaded.connect(self._on_loaded)
        self._io.load_failed.connect(self._on_load_failed)
        self._io.thumbnail_ready.connect(self._on_thumbnail)
        self._threads: list[QThread] = [
            start_thread(self._inference, "tinct-inference"),
            start_thread(self._io, "tinct-io"),
        ]

    # -- models ----------------------------------------------------------
    def start_models(self) -> None:
        """Read the manifest now (cheap) and load the models in the worker (slow)."""
        from core.store import ModelStoreError

        if self.models_state in (Models.LOADING, Models.READY):
            return
        try:
            self.category_status = self.colorizer.category_status()
        except ModelStoreError as exc:
            self._set_models(Models.MISSING, str(exc))
            return
        self._set_models(Models.LOADING, "Loading models…")
        self._inference.submit(LoadModels(), URGENT)

    def _set_models(self, state: Models, message: str) -> None:
        self.models_state = state
        self.models_message = message
        self.models_changed.emit()

    def _on_models_loaded(self, device: str) -> None:
        # TensorFlow and the models are hundreds of thousands of objects that live as
        # long as the app; a full garbage collection walking them stalls every thread
        # (the GUI's too) for 100-250 ms. Freezing keeps them out of later collections.
        gc.freeze()
        self.device = device
        self._set_models(Models.READY, "Models ready")
        self.message.emit("Ready to colorize")
        for item_id in [*self._in_flight, *([self.selected] if self.selected else [])]:
            if item_id in self.items:
                self._advance(self.items[item_id])
        self._pump()

    def _on_models_failed(self, message: str) -> None:
        self._set_models(Models.FAILED, message)
        self.message.emit("Models could not be loaded")

    @property
    def models_ready(self) -> bool:
        return self.models_state is Models.READY

    # -- adding and removing photos -------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> list[int]:
        """Open photo files and the photos inside folders (what a drop or File > Open does)."""
        from core.photo import SUPPORTED_SUFFIXES

        files: list[Path] = []
        ignored: list[str] = []
        missing: list[str] = []
        for raw in paths:
            p = Path(raw)
            if not p.exists() and p.suffix.lower() not in SUPPORTED_SUFFIXES:
                missing.append(str(p))  # a typo'd folder: say so instead of "not a photo"
            elif p.is_dir():
                files.extend(
                    sorted(
                        f for f in p.iterdir()
                        if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                        and not f.name.startswith(".")
                    )
                )
            elif p.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(p)  # a missing or broken file fails visibly with its reason
            else:
                ignored.append(p.name)
        known = {self.items[i].path.resolve(): i for i in self.order}
        added: list[int] = []
        for f in files:
            if f.resolve() in known:
                continue
            added.append(self._add(PhotoItem(self._take_id(), f)))
        if missing:
            shown = ", ".join(missing[:3]) + ("…" if len(missing) > 3 else "")
            self.message.emit(f"Not found: {shown}")
        elif ignored:
            shown = ", ".join(ignored[:3]) + ("…" if len(ignored) > 3 else "")
            self.message.emit(f"Not a photo Tinct can open: {shown}")
        elif not files:
            self.message.emit("No photos Tinct can open there")
        elif added:
            self.message.emit(f"Opened {len(added)} photo{'s' if len(added) != 1 else ''}")
        if added:  # opening is showing: the first photo just opened comes on screen
            self.select(added[0])
        elif files and known:
            self.select(known[files[0].resolve()])
        self._pump()
        return added

    def add_image(self, image: QImage) -> int:
        """Open a pasted image (written to a temporary PNG by the I/O worker)."""
        if self._paste_dir is None:
            self._paste_dir = Path(tempfile.mkdtemp(prefix="tinct-paste-"))
        self._paste_count += 1
        path = self._paste_dir / f"pasted-{self._paste_count}.png"
        item = PhotoItem(self._take_id(), path, pasted=True)
        self._add(item)
        item.loading = True
        self._in_flight.add(item.id)
        self._todo.remove(item.id)
        self._io.submit(LoadJob(item.id, path, image.copy()), URGENT, key=("load", item.id))
        self.select(item.id)
        self.message.emit("Pasted an image from the clipboard")
        return item.id

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _add(self, item: PhotoItem) -> int:
        self.items[item.id] = item
        self.order.append(item.id)
        self._todo.append(item.id)
        self.item_added.emit(item.id)
        if not item.pasted:
            self._io.submit(ThumbJob(item.id, item.path), BACKGROUND, key=("thumb", item.id))
        return item.id

    def remove(self, item_id: int) -> tuple[int, PhotoItem] | None:
        """Close a photo: its queued jobs are dropped, a running one is ignored.

        Returns (its place in the list, the item) for :meth:`restore` (undo)."""
        item = self.items.pop(item_id, None)
        if item is None:
            return None
        index = self.order.index(item_id)
        self.order.remove(item_id)
        self._in_flight.discard(item_id)
        if item_id in self._todo:
            self._todo.remove(item_id)
        if item_id in self._recent:
            self._recent.remove(item_id)
        self._io.cancel(lambda job: getattr(job, "item_id", None) == item_id)
        self._inference.cancel(lambda job: getattr(job, "item_id", None) == item_id)
        if self.selected == item_id:
            self.selected = None
        item.generation += 1  # a result still on its way is for the closed photo: ignored
        item.drop_pixels()  # a closed photo keeps only what undo needs: path, edit, thumb
        item.loading = False
        self.item_removed.emit(item_id)
        self._pump()
        return index, item

    def restore(self, index: int, item: PhotoItem) -> None:
        """Open a closed photo again (undo of its removal): same id, place, settings and
        pins; it is coloured again when its turn comes."""
        if item.id in self.items:
            return
        item.state, item.error = State.QUEUED, ""
        self.items[item.id] = item
        self.order.insert(min(index, len(self.order)), item.id)
        self._todo.append(item.id)
        self.item_added.emit(item.id)
        self.item_changed.emit(item.id)  # its thumbnail and state on the strip
        self._pump()

    def stop(self) -> int:
        """Cancel the photos still queued; the one being colorized finishes."""
        dropped = self._inference.cancel(lambda job: isinstance(job, ColorizeJob))
        dropped += self._io.cancel(lambda job: isinstance(job, LoadJob))
        for job in dropped:
            item = self.items.get(job.item_id)
            if item is None:
                continue
            self._in_flight.discard(item.id)
            if isinstance(job, LoadJob):
                item.loading = False
            else:
                item.generation += 1  # nothing is coming for it now
                item.state = State.DONE if item.colour is not None else State.QUEUED
            self.item_changed.emit(item.id)
        waiting = len(self._todo) + len(dropped)
        self._todo.clear()
        if waiting:
            self.message.emit(f"Stopped: {waiting} photo{'s' if waiting != 1 else ''} "
                              "not colorized")
        else:
            self.message.emit("Nothing queued to stop")
        self.stopped_count = len(self.waiting_ids())
        self.queue_changed.emit()
        return waiting

    def waiting_ids(self) -> list[int]:
        """Photos not colorized and not on their way (what Continue would colour)."""
        return [i for i in self.order
                if self.items[i].state is State.QUEUED and i not in self._in_flight
                and i not in self._todo]

    def resume(self) -> int:
        """Colour the photos Esc left in the queue, in strip order."""
        ids = self.waiting_ids()
        self._todo.extend(ids)
        self.stopped_count = 0
        self.queue_changed.emit()
        if ids:
            self.message.emit(f"Colorizing {len(ids)} more photo{'s' if len(ids) != 1 else ''}")
        self._pump()
        return len(ids)

    # -- selection ---------------------------------------------------------
    def select(self, item_id: int | None) -> None:
        """Show this photo: its pixels are decoded (again) and it jumps the queue."""
        self.selected = item_id
        if item_id is None or item_id not in self.items:
            return
        item = self.items[item_id]
        self._touch(item_id)
        self._evict()  # the photo left behind lets go of its pixels
        if item.state is not State.FAILED and (item.photo is None or item.colour is None):
            if item_id in self._todo:
                self._todo.remove(item_id)
            self._in_flight.add(item_id)
            self._io.reprioritize(lambda job: getattr(job, "item_id", None) == item_id, URGENT)
            self._inference.reprioritize(
                lambda job: getattr(job, "item_id", None) == item_id, URGENT
            )
            self._advance(item)
        self.item_changed.emit(item_id)

    def _touch(self, item_id: int) -> None:
        if item_id in self._recent:
            self._recent.remove(item_id)
        self._recent.append(item_id)

    # -- per-photo settings --------------------------------------------
    def edit_of(self, item_id: int) -> Edit | None:
        item = self.items.get(item_id)
        return item.edit if item is not None else None

    def set_options(self, item_id: int, **changes: object) -> None:
        """Change some of a photo's Edit fields (not undoable: the window uses History)."""
        edit = self.edit_of(item_id)
        if edit is not None:
            self.apply_edit(item_id, replace(edit, **changes))

    def apply_edit(self, item_id: int, edit: Edit) -> None:
        """Colour a photo with these settings, re-rendering from its cached analysis."""
        item = self.items.get(item_id)
        if item is None or item.edit == edit:
            return
        item.edit = edit
        if item.photo is not None and self.models_ready and item.state is not State.QUEUED:
            self._colorize(item, URGENT)  # with a cached analysis: decoders only, fast
        elif item.photo is None and item.state is State.DONE:
            item.colour = None  # colour again with the new settings when next shown
            if item_id == self.selected:
                self._in_flight.add(item_id)
                self._advance(item)
        self.item_changed.emit(item_id)

    # -- the pipeline ----------------------------------------------------
    def _pump(self) -> None:
        """Start queued photos while fewer than MAX_IN_FLIGHT are on their way."""
        while len(self._in_flight) < MAX_IN_FLIGHT and self._todo:
            item = self.items.get(self._todo.popleft())
            if item is None or item.state is not State.QUEUED:
                continue
            self._in_flight.add(item.id)
            self._advance(item)

    def _priority(self, item: PhotoItem) -> int:
        return URGENT if item.id == self.selected else NORMAL

    def _advance(self, item: PhotoItem) -> None:
        """Take a photo one step further: decode it, then colour it once models are ready."""
        if item.state is State.FAILED or item.loading:
            return
        if item.photo is None:
            if item.pasted and not item.path.exists():
                return  # its LoadJob carrying the image is still queued
            item.loading = True
            job = LoadJob(item.id, item.path)
            self._io.submit(job, self._priority(item), key=("load", item.id))
            return
        if item.colour is None and item.state is not State.WORKING and self.models_ready:
            self._colorize(item, self._priority(item))

    def _colorize(self, item: PhotoItem, priority: int) -> None:
        item.generation += 1
        item.state = State.WORKING
        key = item.repair_key
        analysis = item.analysis if item.analysis_for == key else None  # L changed: again
        item.pending_for = key
        job = ColorizeJob(
            item.id, item.generation, item.name, item.photo.rgb, analysis,
            item.category, item.strength, item.routing, item.edit.pins,
            item.edit.repair, item.edit.repair_strokes, item.detected,
        )
        self._inference.submit(job, priority, key=("colorize", item.id))
        self.item_changed.emit(item.id)

    def _on_loaded(self, done: LoadDone) -> None:
        item = self.items.get(done.item_id)
        if item is None:
            return
        item.loading = False
        item.photo = done.photo
        item.original = done.frames
        item.size = done.photo.size
        item.source_format = done.photo.format
        if item.thumb is None:
            item.thumb = done.thumb
        self._advance(item)
        self._evict()
        self.item_changed.emit(item.id)

    def _on_load_failed(self, item_id: int, message: str) -> None:
        item = self.items.get(item_id)
        if item is None:
            return
        item.loading = False
        self._fail(item, message)

    def _on_thumbnail(self, item_id: int, image: QImage) -> None:
        item = self.items.get(item_id)
        if item is not None and item.thumb is None:
            item.thumb = image
            self.item_changed.emit(item_id)

    def _on_colorized(self, done: ColorizeDone) -> None:
        item = self.items.get(done.item_id)
        if item is None or done.generation != item.generation:
            return  # removed, or a newer render is on its way
        item.state = State.DONE
        item.error = ""
        item.analysis = done.analysis
        item.analysis_for = item.pending_for
        if done.detected is not None:
            item.detected = done.detected
        if done.repair_overlay is not None or not item.edit.repair:
            item.repair_overlay = done.repair_overlay
            item.repair_report = done.repair_report
        item.colour = done.frames
        item.colour_thumb = done.thumb
        item.confidences = done.confidences
        item.used_category = done.category
        item.models_used = done.models_used
        item.weights = done.weights
        item.notes = [*(item.photo.notes if item.photo is not None else ()), *done.notes]
        item.seconds = done.seconds
        self._in_flight.discard(item.id)
        self._touch(item.id)
        self._evict()
        self.item_changed.emit(item.id)
        self.message.emit(f"Colorized {item.name} in {took(done.seconds)}")
        if self.stopped_count:  # a stopped photo looked at is coloured: one fewer waiting
            self.stopped_count = len(self.waiting_ids())
            self.queue_changed.emit()
        self._pump()

    def _on_colorize_failed(self, item_id: int, generation: int, message: str) -> None:
        item = self.items.get(item_id)
        if item is None or generation != item.generation:
            return
        self._fail(item, message)

    def _fail(self, item: PhotoItem, message: str) -> None:
        item.state = State.FAILED
        item.error = message
        self._in_flight.discard(item.id)
        self.item_changed.emit(item.id)
        self.message.emit(f"Failed: {message}")
        self._pump()

    def _evict(self) -> None:
        """Drop the pixels of photos not looked at lately (thumbnails and results stay)."""
        heavy = [i for i in self._recent if i in self.items and self.items[i].photo is not None]
        extra = len(heavy) - KEEP_IN_MEMORY
        for item_id in heavy:
            if extra <= 0:
                break
            item = self.items[item_id]
            if item_id == self.selected or item_id in self._in_flight or item.loading:
                continue
            if item.state is State.WORKING:
                continue
            item.drop_pixels()
            extra -= 1

    def retry(self, item_id: int) -> None:
        """Try a failed photo again (the file may have been fixed meanwhile)."""
        item = self.items.get(item_id)
        if item is None or item.state is not State.FAILED:
            return
        item.state = State.QUEUED
        item.error = ""
        item.drop_pixels()
        self._in_flight.add(item_id)
        self._advance(item)
        self.item_changed.emit(item_id)

    # -- export ----------------------------------------------------------
    def plan_export(self, ids: Iterable[int], dest: Path | None, options: Any) -> list[
            tuple[int, Any]]:
        """(item, core.outputs.Target) for saving ``ids``: the CLI's output plan, so Save
        gives the same names and collision rule as a batch (ValueError: bad pattern)."""
        from core.outputs import plan_files

        pairs, formats, wanted = [], {}, []
        for item_id in ids:
            item = self.items.get(item_id)
            if item is None:
                continue
            folder = dest or (pictures_dir() if item.pasted else item.path.parent)
            pairs.append((item.path, folder))
            if item.source_format:
                formats[item.path] = item.source_format
            wanted.append(item)
        plan = plan_files(pairs, fmt=options.fmt, pattern=options.pattern,
                          compare=options.side_by_side, source_formats=formats,
                          originals=[self.items[i].path for i in self.order])
        targets = {t.input: t for t in plan.targets}
        return [(item.id, targets[item.path]) for item in wanted if item.path in targets]

    def output_for(self, item: PhotoItem, dest: Path | None, options: Any) -> Path:
        """Where Save writes this photo (ValueError for a bad name pattern)."""
        return self.plan_export([item.id], dest, options)[0][1].output

    def export(
        self, plan: list[tuple[int, Any]], options: Any, skipped: dict[str, str] | None = None
    ) -> int:
        """Queue saving each (item, core.outputs.Target) with the photo's current settings.

        One call is one save (Save or Save All): its progress and its summary
        (``export_finished``) count these photos plus ``skipped`` (name -> why).
        """
        originals = tuple(self.items[i].path for i in self.order)
        count = 0
        report = self._save if self._save is not None and not self._save.finished else None
        if report is None:
            report = SaveReport(skipped=dict(skipped or {}))
        else:
            report.skipped.update(skipped or {})
        for item_id, target in plan:
            item = self.items.get(item_id)
            if item is None:
                continue
            analysis = item.analysis if item.analysis_for == item.repair_key else None
            job = ExportJob(
                item.id, item.path, item.photo, analysis, item.category, item.strength,
                item.routing, target.output, options, originals, target, item.edit.pins,
                item.edit.repair, item.edit.repair_strokes,
            )
            self._inference.submit(job, NORMAL)
            report.total += 1
            count += 1
        if count:
            self._save = report
            self.export_progress.emit(report.done, report.total)
        return count

    @property
    def saving(self) -> SaveReport | None:
        """The save in progress, if any."""
        return self._save if self._save is not None and not self._save.finished else None

    def _on_exported(self, item_id: int, path: str) -> None:
        item = self.items.get(item_id)
        if item is not None:
            item.saved_to = path
        self.message.emit(f"Saved {path}")
        self.exported.emit(item_id, path)
        self._count_saved(path, None)

    def _on_export_failed(self, item_id: int, message: str) -> None:
        self.message.emit(f"Not saved: {message}")
        self.export_failed.emit(item_id, message)
        self._count_saved(None, message)

    def _count_saved(self, path: str | None, error: str | None) -> None:
        report = self.saving
        if report is None:
            return
        if path is not None:
            report.written.append(Path(path))
        if error is not None:
            report.failed.append(error)
        self.export_progress.emit(report.done, report.total)
        if report.finished:
            self.export_finished.emit(report)

    # -- shutdown ---------------------------------------------------------
    def busy(self) -> bool:
        return self._inference.pending() > 0 or self._io.pending() > 0

    def shutdown(self) -> None:
        """Drop queued work, let the running job finish, end the threads."""
        self._inference.cancel()
        self._io.cancel()
        for thread in self._threads:
            stop_thread(thread)
        self._threads.clear()
        if self._paste_dir is not None:
            shutil.rmtree(self._paste_dir, ignore_errors=True)


@dataclass
class SaveReport:
    """One Save / Save All: what was written, what failed, what was not even tried."""

    total: int = 0
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # messages naming the file
    skipped: dict[str, str] = field(default_factory=dict)  # photo name -> why not saved

    @property
    def done(self) -> int:
        return len(self.written) + len(self.failed)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def folder(self) -> Path | None:
        """The folder to show: where the files went (the first one's, if several)."""
        return self.written[0].parent if self.written else None

    def summary(self) -> str:
        """'15 photos saved, 2 failed, 3 skipped (not colorized yet)': the end of a Save All."""
        n = len(self.written)
        parts = [f"{n} photo{'s' if n != 1 else ''} saved"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        reasons: dict[str, int] = {}
        for why in self.skipped.values():
            reasons[why] = reasons.get(why, 0) + 1
        parts += [f"{n} skipped ({why})" for why, n in reasons.items()]
        return ", ".join(parts)


def pictures_dir() -> Path:
    """Where pasted images are saved when no destination folder is set."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(found) if found else Path.home()
