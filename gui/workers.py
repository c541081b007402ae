"""Worker threads: every slow step (decode, inference, encode) runs off the GUI thread.

Each worker is a QObject living in its own QThread. The GUI hands it jobs
with :meth:`JobQueueWorker.submit` (thread-safe) and hears back through
signals only; core never sees a Qt object. Jobs wait in a priority queue so
an interactive re-render overtakes photos still queued, a newer render of
the same photo replaces an older one still waiting, and cancelling drops
whatever has not started (a running photo finishes: "within one photo").
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QImage

from gui import imaging

log = logging.getLogger(__name__)

#: Priorities: lower runs first.
URGENT, NORMAL, BACKGROUND = 0, 10, 20

# What a damaged file can make the decoders raise (kept as narrow as they allow).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error,
                  zlib.error)


@dataclass(order=True)
class _Queued:
    priority: int
    seq: int
    job: Any = field(compare=False)
    key: Hashable | None = field(compare=False, default=None)


class JobQueueWorker(QObject):
    """Runs submitted jobs one at a time in its thread, most urgent first."""

    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._seq = itertools.count()
        self._busy = False
        self._wake.connect(self._run_next, Qt.ConnectionType.QueuedConnection)

    def submit(self, job: Any, priority: int = NORMAL, key: Hashable | None = None) -> None:
        """Queue ``job`` (any thread); a queued job with the same ``key`` is replaced."""
        with self._lock:
            if key is not None:
                self._queue = [q for q in self._queue if q.key != key]
            self._queue.append(_Queued(priority, next(self._seq), job, key))
        self._wake.emit()  # one wake per job; wakes find the queue already drained are no-ops

    def cancel(self, predicate: Callable[[Any], bool] | None = None) -> list[Any]:
        """Drop queued jobs (all, or those ``predicate`` picks); return the dropped jobs."""
        with self._lock:
            dropped = [q.job for q in self._queue if predicate is None or predicate(q.job)]
            self._queue = [q for q in self._queue if predicate is not None and not predicate(q.job)]
        return dropped

    def reprioritize(self, predicate: Callable[[Any], bool], priority: int) -> None:
        """Move queued jobs that ``predicate`` picks to ``priority`` (the photo on screen)."""
        with self._lock:
            for q in self._queue:
                if predicate(q.job):
                    q.priority = priority

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + (1 if self._busy else 0)

    @Slot()
    def _run_next(self) -> None:
        with self._lock:
            if not self._queue:
                return
            best = min(self._queue)
            self._queue.remove(best)
            self._busy = True
        try:
            self.handle(best.job)
        except Exception as exc:  # thread boundary: a bug must not kill the worker silently
            log.exception("job %r failed", best.job)
            self.crashed(best.job, exc)
        finally:
            with self._lock:
                self._busy = False

    def handle(self, job: Any) -> None:
        raise NotImplementedError

    def crashed(self, job: Any, exc: Exception) -> None:
        """Report an unexpected error of ``job`` through the subclass's failure signal."""
        raise NotImplementedError


class WorkerThread(QThread):
    """A QThread whose event loop runs inside a Python frame.

    With the plain QThread.run, PySide makes a fresh Python thread state for
    every slot call and drops it afterwards, which wipes threading.local data;
    TensorFlow keeps its graph/eager context there and crashes (segfault) on
    the next call. Running exec() from Python keeps one thread state alive.
    """

    def run(self) -> None:
        self.exec()


def start_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` into a new running thread (stop it with :func:`stop_thread`)."""
    thread = WorkerThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread | None) -> None:
    """Ask the thread's event loop to end and wait for the current job to finish."""
    if thread is not None and thread.isRunning():
        thread.quit()
        thread.wait()


# --------------------------------------------------------------------------- inference


@dataclass
class LoadModels:
    """Load every model once (slow: imports TensorFlow)."""


@dataclass
class ColorizeJob:
    """Colour one photo; ``analysis`` given = re-render only (category/strength change)."""

    item_id: int
    generation: int
    name: str
    rgb: np.ndarray
    analysis: Any | None
    category: str
    strength: float
    routing: str
    pins: tuple[Any, ...] = ()  # colour pins (issue 10), passed to render when there are any
    repair: bool = False  # repair the print first (issue 23); ``analysis`` is then of the
    repair_strokes: tuple[Any, ...] = ()  # repaired L with these strokes, or None
    detected: np.ndarray | None = None  # the photo's damage labels found before, if any


@dataclass
class ColorizeDone:
    """A colorized photo, ready to paint."""

    item_id: int
    generation: int
    analysis: Any
    category: str
    confidences: dict[str, float]
    models_used: list[str]
    weights: dict[str, float]
    notes: list[str]
    seconds: float
    frames: imaging.Frames
    thumb: QImage
    detected: np.ndarray | None = None  # the detector's labels (kept: a brush edit reuses them)
    repair_overlay: QImage | None = None  # the repaired pixels, tinted, at display size
    repair_report: dict[str, Any] | None = None


@dataclass
class ExportJob:
    """Render with the photo's current settings and write the file."""

    item_id: int
    path: Path
    photo: Any | None  # core.photo.Photo, loaded again when evicted from memory
    analysis: Any | None
    category: str
    strength: float
    routing: str
    output: Path
    options: Any  # core.export.ExportOptions
    protect: tuple[Path, ...] = ()
    target: Any = None  # core.outputs.Target: the output plan's names (Save / Save All)
    pins: tuple[Any, ...] = ()
    repair: bool = False
    repair_strokes: tuple[Any, ...] = ()


class InferenceWorker(JobQueueWorker):
    """Owns the Colorizer's work: model loading, analysis, rendering, export."""

    models_loaded = Signal(str)  # device
    models_failed = Signal(str)  # message for the user
    colorized = Signal(object)  # ColorizeDone
    colorize_failed = Signal(int, int, str)  # item id, generation, message
    exported = Signal(int, str)  # item id, output path
    export_failed = Signal(int, str)  # item id, message

    def __init__(self, colorizer: Any) -> None:
        super().__init__()
        self.colorizer = colorizer

    def handle(self, job: Any) -> None:
        if isinstance(job, LoadModels):
            self._load()
        elif isinstance(job, ColorizeJob):
            self._colorize(job)
        elif isinstance(job, ExportJob):
            self._export(job)
        else:
            raise TypeError(f"unknown job {job!r}")

    def crashed(self, job: Any, exc: Exception) -> None:
        reason = f"unexpected error ({exc.__class__.__name__}: {exc})"
        if isinstance(job, LoadModels):
            self.models_failed.emit(f"Could not load the models: {reason}")
        elif isinstance(job, ColorizeJob):
            self.colorize_failed.emit(job.item_id, job.generation, f"{job.name}: {reason}")
        elif isinstance(job, ExportJob):
            self.export_failed.emit(job.item_id, f"{job.output}: {reason}")

    def _load(self) -> None:
        from core.store import ModelStoreError

        try:
            self.colorizer.load()
        except ModelStoreError as exc:
            self.models_failed.emit(str(exc))
            return
        except (OSError, ValueError) as exc:
            self.models_failed.emit(f"Could not load the models: {exc}")
            return
        self.models_loaded.emit(self.colorizer.device)

    def _colorize(self, job: ColorizeJob) -> None:
        from core.store import ModelStoreError

        t0 = time.perf_counter()
        detected = overlay = report = None
        try:
            analysis = job.analysis
            if job.repair and (analysis is None or job.detected is None):
                detected, overlay, report, L = _repair(job)
                analysis = self.colorizer.analyze(job.rgb, L)
            elif job.repair:
                detected = job.detected
            if analysis is None:
                analysis = self.colorizer.analyze(job.rgb)
            # Rendered straight to 8 bits: no float image (144 MB at 12 MP) is made.
            result = _render(self.colorizer, analysis, job, np.uint8)
            rgb8 = imaging.to_uint8(result.rgb)
            frames, thumb = imaging.frames(rgb8), imaging.thumbnail(rgb8)
            done = ColorizeDone(
                item_id=job.item_id,
                generation=job.generation,
                analysis=analysis,
                category=result.category,
                confidences=result.confidences,
                models_used=result.models_used,
                weights=result.weights,
                notes=result.notes,
                seconds=time.perf_counter() - t0,  # analysis + render + display images
                frames=frames,
                thumb=thumb,
                detected=detected,
                repair_overlay=overlay,
                repair_report=report,
            )
        except ModelStoreError as exc:
            self.colorize_failed.emit(job.item_id, job.generation, f"{job.name}: {exc}")
            return
        except MemoryError:
            self.colorize_failed.emit(
                job.item_id, job.generation, f"{job.name}: not enough memory to colorize it"
            )
            return
        except ValueError as exc:
            self.colorize_failed.emit(job.item_id, job.generation, f"{job.name}: {exc}")
            return
        self.colorized.emit(done)

    def _export(self, job: ExportJob) -> None:
        from core.export import write_result
        from core.job import ColorizeOptions, JobError, finish
        from core.photo import PhotoError, load_photo
        from core.store import ModelStoreError

        try:
            photo = job.photo if job.photo is not None else load_photo(job.path)
            analysis = job.analysis
            if analysis is None and job.repair:  # the repaired print, as shown
                from core.job import lightness_of

                L = lightness_of(photo, repair=True, strokes=job.repair_strokes)
                analysis = self.colorizer.analyze(photo.rgb, L)
            if analysis is None:
                analysis = self.colorizer.analyze(photo.rgb)
            result = _render(self.colorizer, analysis, job, job.options.result_dtype(
                photo, job.target.fmt if job.target is not None else None))
            if job.target is not None:  # the one single-file job's writer (core.job)
                written = finish(job.target, photo, result,
                                 ColorizeOptions(job.category, job.strength, job.routing,
                                                 repair=job.repair,
                                                 repair_strokes=job.repair_strokes),
                                 job.options).output
            else:
                written = write_result(photo, result.rgb, job.output, job.options, job.protect)
        except (PhotoError, JobError) as exc:
            self.export_failed.emit(job.item_id, str(exc))
            return
        except (ModelStoreError, ValueError, OSError) as exc:
            self.export_failed.emit(job.item_id, f"{job.output}: {exc}")
            return
        except MemoryError:
            self.export_failed.emit(job.item_id, f"{job.output}: not enough memory to save it")
            return
        self.exported.emit(job.item_id, str(written))


def _repair(job: ColorizeJob) -> tuple[np.ndarray, QImage, dict[str, Any], np.ndarray]:
    """Repair a photo's lightness (the detection kept from before, when there is one): the
    detector's labels, the display overlay of the final mask, the report, the repaired L."""
    from core import repair as rp
    from core.engine import lightness

    L = lightness(job.rgb)
    detected = job.detected
    if detected is None or detected.shape != L.shape:
        detected = rp.shared_detector().detect(L)
    fixed = rp.repair(L, mask=detected, strokes=tuple(job.repair_strokes))
    return detected, imaging.mask_overlay(fixed.mask), fixed.report, fixed.L


def _render(colorizer: Any, analysis: Any, job: ColorizeJob | ExportJob,
            dtype: type = np.float32) -> Any:
    """Render with the job's settings; colour pins only when the photo has some."""
    extra = {"pins": job.pins} if job.pins else {}
    return colorizer.render(analysis, job.category, job.strength, job.routing, dtype=dtype,
                            **extra)


# --------------------------------------------------------------------------- file I/O


@dataclass
class LoadJob:
    """Decode one photo (a pasted image is first written to ``path``)."""

    item_id: int
    path: Path
    pasted: QImage | None = None


@dataclass
class ThumbJob:
    """A quick thumbnail for a photo still waiting its turn."""

    item_id: int
    path: Path


@dataclass
class LoadDone:
    item_id: int
    photo: Any  # core.photo.Photo
    frames: imaging.Frames
    thumb: QImage


class IoWorker(JobQueueWorker):
    """Decodes photos and makes thumbnails, so dropping 200 scans never stalls the UI."""

    loaded = Signal(object)  # LoadDone
    load_failed = Signal(int, str)  # item id, message naming the file
    thumbnail_ready = Signal(int, QImage)

    def handle(self, job: Any) -> None:
        if isinstance(job, LoadJob):
            self._load(job)
        elif isinstance(job, ThumbJob):
            self._thumb(job)
        else:
            raise TypeError(f"unknown job {job!r}")

    def crashed(self, job: Any, exc: Exception) -> None:
        if isinstance(job, LoadJob):
            self.load_failed.emit(
                job.item_id, f"{job.path}: unexpected error ({exc.__class__.__name__}: {exc})"
            )

    def _load(self, job: LoadJob) -> None:
        from core.photo import PhotoError, load_photo

        if job.pasted is not None and not job.path.exists():
            job.path.parent.mkdir(parents=True, exist_ok=True)
            if not job.pasted.save(str(job.path), "PNG"):
                self.load_failed.emit(job.item_id, f"{job.path}: could not store the pasted image")
                return
        try:
            photo = load_photo(job.path)
        except PhotoError as exc:
            self.load_failed.emit(job.item_id, str(exc))
            return
        except MemoryError:
            self.load_failed.emit(job.item_id, f"{job.path}: not enough memory to open it")
            return
        rgb8 = imaging.to_uint8(photo.rgb)
        self.loaded.emit(
            LoadDone(job.item_id, photo, imaging.frames(rgb8), imaging.thumbnail(rgb8))
        )

    def _thumb(self, job: ThumbJob) -> None:
        from PIL import Image, ImageOps

        side = imaging.THUMB_SIDE
        try:
            with Image.open(job.path) as im:
                im.draft("RGB", (side, side))  # JPEG decodes at 1/2..1/8 size: fast
                im = ImageOps.exif_transpose(im)
                im.thumbnail((side, side))
                rgb = np.asarray(im.convert("RGB"))
        except (*_DECODE_ERRORS, MemoryError):
            # No thumbnail is no loss: the full load reports why the file is unreadable.
            log.debug("no quick thumbnail for %s", job.path, exc_info=True)
            return
        self.thumbnail_ready.emit(job.item_id, imaging.qimage(rgb))


# --------------------------------------------------------------------------- batch


class BatchWorker(QObject):
    """Runs core.batch.run_batch in its thread; cancellable between photos."""

    progress = Signal(object)  # core.batch.BatchProgress
    item_done = Signal(object)  # core.batch.ItemResult
    finished = Signal(object)  # core.batch.BatchReport
    failed = Signal(str)  # the batch could not run at all

    def __init__(
        self,
        colorizer: Any,
        inputs: Sequence[Path],
        output_dir: Path,
        options: Any,
        export: Any,
        recursive: bool,
    ) -> None:
        super().__init__()
        self._args = (colorizer, list(inputs), output_dir, options, export, recursive)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop after the photo being colorized now (any thread)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        from core.batch import run_batch
        from core.store import ModelStoreError

        colorizer, inputs, output_dir, options, export, recursive = self._args
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            report = run_batch(
                inputs,
                output_dir,
                colorizer,
                options,
                export,
                recursive=recursive,
                progress=self.progress.emit,
                cancelled=self._cancel.is_set,
                on_item=self.item_done.emit,
            )
        except ModelStoreError as exc:
            self.failed.emit(str(exc))
            return
        except OSError as exc:
            self.failed.emit(f"{output_dir}: cannot write there ({exc.strerror or exc})")
            return
        except ValueError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # thread boundary: tell the user instead of dying silently
            log.exception("batch failed")
            self.failed.emit(f"The batch stopped: {exc.__class__.__name__}: {exc}")
            return
        self.finished.emit(report)
