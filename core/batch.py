"""Batch colorization: files and folders into an output folder that mirrors them.

The output plan (core.outputs) decides every name and what is already done;
the single-file job (core.job) does each photo. Every input gets a result,
good or bad: a photo that fails is recorded with its reason and the batch goes
on. What no later photo can survive (a full disk, a missing encoder) stops the
batch once, with one message, and the photos not started are listed as such.
Progress is reported through a callback and a cancel check is polled between
photos: no Qt here, the GUI wraps this in a worker thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from core.engine import Colorizer, Rendering
from core.export import ExportOptions
from core.job import (
    ColorizeOptions,
    DiskFullError,
    ItemResult,
    JobError,
    ModelError,
    colorize_photo,
    complete,
    finish,
    item_for,
    lightness_of,
    read_input,
    skipped_item,
)
from core.outputs import DONE, OutputPlan, PassedOver, Target, is_photo_name, plan_outputs
from core.photo import Photo

__all__ = ["BatchProgress", "BatchReport", "ColorizeOptions", "ItemResult", "is_photo_file",
           "plan_batch", "run_batch"]


@dataclass
class BatchProgress:
    done: int
    total: int
    current: str
    elapsed: float
    failed: int

    @property
    def eta(self) -> float | None:
        """Seconds left, from the pace so far (None before the first photo)."""
        if self.done == 0:
            return None
        return self.elapsed / self.done * (self.total - self.done)


@dataclass
class BatchReport:
    items: list[ItemResult]
    cancelled: bool = False
    stopped: str | None = None  # why the batch stopped early (disk full, models broken)
    disk_full: bool = False  # ...and whether it was the disk
    passed_over: list[PassedOver] = field(default_factory=list)
    not_started: int = 0  # photos left when cancelled or stopped
    internal_error: bool = False  # ...and whether it was a fault of Tinct's own (a bug)

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in self.items if i.error]

    @property
    def written(self) -> list[ItemResult]:
        return [i for i in self.items if not i.error and not i.skipped]

    @property
    def skipped(self) -> list[ItemResult]:
        return [i for i in self.items if i.skipped]

    def passed_over_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.passed_over:
            counts[p.reason] = counts.get(p.reason, 0) + 1
        return counts

    def passed_over_items(self) -> list[ItemResult]:
        """The passed-over folder entries as report objects (no output, a reason)."""
        return [ItemResult(str(p.path), None, passed_over=p.reason) for p in self.passed_over]


def is_photo_file(path: Path) -> bool:
    return is_photo_name(path.name)


def plan_batch(
    inputs: Sequence[str | Path], output_dir: str | Path, export: ExportOptions = ExportOptions(),
    recursive: bool = False, options: ColorizeOptions | None = None,
) -> OutputPlan:
    """The output plan of a batch with these export options (ValueError: bad pattern/format).

    ``options``: what the photos are made with; an earlier output made with other
    settings is redone (the ledger records them)."""
    return plan_outputs(inputs, output_dir, fmt=export.fmt, pattern=export.pattern,
                        recursive=recursive, compare=export.side_by_side,
                        overwrite=export.overwrite,
                        settings=None if options is None else options.settings_for)


def run_batch(
    inputs: Sequence[str | Path],
    output_dir: str | Path,
    colorizer: Colorizer,
    options: ColorizeOptions = ColorizeOptions(),
    export: ExportOptions = ExportOptions(),
    recursive: bool = False,
    progress: Callable[[BatchProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    on_item: Callable[[ItemResult], None] | None = None,
    plan: OutputPlan | None = None,
) -> BatchReport:
    """Colorize every photo of ``inputs`` into ``output_dir``; never raises per photo.

    Raises ValueError for a bad format or name pattern (before any photo).
    """
    if plan is None:
        plan = plan_batch(inputs, output_dir, export, recursive, options)
    report = BatchReport([], passed_over=list(plan.passed_over))

    def add(item: ItemResult) -> None:
        report.items.append(item)
        if on_item:
            on_item(item)

    for path, reason in plan.problems:
        add(ItemResult(str(path), None, error=f"{path}: {reason}"))
    targets: list[Target] = plan.targets
    t0 = time.perf_counter()
    pipe = _Pipeline(targets, colorizer, options, export)
    try:
        with pipe:
            for n, read in enumerate(pipe.reads()):
                for item in pipe.finished():
                    add(item)
                if pipe.stopped is not None:  # the writer found the disk full
                    break
                if cancelled is not None and cancelled():
                    report.cancelled = True
                    break
                if progress:
                    progress(BatchProgress(n, len(targets), str(read.target.input),
                                           time.perf_counter() - t0, len(report.failed)))
                try:
                    pipe.colorize(read)
                except ModelError as e:  # fatal: no photo can be coloured
                    pipe.stop(str(e), disk_full=False)
                    pipe.fail(read, e)
                    break
            for item in pipe.close():
                add(item)
    except KeyboardInterrupt:
        # "Stop now" (a second Ctrl+C): nothing more is waited for, but what the writer
        # has finished is handed over, so the report says it was done.
        for item in pipe.finished(raising=False):
            add(item)
        raise
    except Exception as e:
        if not pipe.crashed(e):
            raise
        # A reader or writer thread died (a bug): the batch stops and says so, never hangs.
        for item in pipe.finished(raising=False):
            add(item)
        pipe.stop(f"unexpected error in Tinct ({type(e).__name__}: {e}); the photos "
                  "written so far are complete", disk_full=False)
        report.internal_error = True
    if pipe.stopped is not None:
        report.stopped, report.disk_full = pipe.stopped, pipe.disk_full
    if report.cancelled or report.stopped is not None:
        report.not_started = max(0, len(targets) - len(report.items) + len(plan.problems))
    if progress and not report.cancelled and report.stopped is None:
        progress(BatchProgress(len(targets), len(targets), "", time.perf_counter() - t0,
                               len(report.failed)))
    return report


# --------------------------------------------------------------------------- overlapped


def _single_threaded_opencv(photos: int) -> int | None:
    """Make OpenCV's own ops single-threaded while a batch of several photos runs;
    returns the thread count to restore (None: left as it was).

    With the reader, colouring and writer threads already keeping the cores busy,
    OpenCV's fork-join ops (Lab conversions, resizes) each wait for their slowest
    half, which shares a core with another stage, and its idle workers spin: a 12 MP
    batch ran slower per photo than one photo alone. One thread per op lets the
    three stages overlap instead (measured in benchmarks/README.md). OpenCV's
    setting is per process: the app's previews share it while a batch runs.
    """
    threads = cv2.getNumThreads()
    if photos < 2 or threads <= 1:
        return None
    cv2.setNumThreads(1)
    return threads


#: glibc's mallopt parameters, and what a batch sets them to: freed buffers of up
#: to this size stay with the process instead of going back to the kernel.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_FREED_BYTES = 1 << 30
#: ... and what they go back to after it: glibc's own steady state once a photo
#: has been freed (its dynamic threshold stops at 32 MB, trimming at twice that).
_AFTER_MMAP_THRESHOLD = 32 << 20


def _keep_freed_memory(photos: int) -> Callable[[], None] | None:
    """While a batch of several photos runs, keep freed photo buffers for the next
    photo; returns the call that undoes it (None: nothing changed).

    glibc hands every array over 32 MB (a 12 MP photo's decode, L, ab, RGB) back
    to the kernel when it is freed, so the next photo's same-sized arrays are new
    pages that the kernel zeroes on first touch: ~8-15 % of a 12 MP photo's CPU
    (measured in benchmarks/README.md). Keeping them costs the peak once (~90 MiB
    more at 12 MP, no growth after). Linux with glibc only; elsewhere a no-op.
    """
    if photos < 2 or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if not mallopt(_M_MMAP_THRESHOLD, _KEEP_FREED_BYTES):
        return None  # not glibc (musl's mallopt does nothing)
    mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_BYTES)

    def restore() -> None:
        mallopt(_M_MMAP_THRESHOLD, _AFTER_MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, 2 * _AFTER_MMAP_THRESHOLD)
        malloc_trim(0)  # what the batch kept goes back now

    return restore


#: Photos decoded ahead of the model, and results waiting for the writer: at
#: most READ_AHEAD + WRITE_BEHIND + 3 photos are in memory at once (one being
#: decoded, one coloured, one written).
READ_AHEAD = 2
WRITE_BEHIND = 1
#: ...and at most this many pixels between read and written (a folder of huge
#: scans stays bounded; one photo always passes, whatever its size).
MAX_PIXELS_IN_FLIGHT = 30_000_000

_END = object()


@dataclass
class _Read:
    """One target after the reader: its photo or why it could not be read."""

    target: Target
    photo: Photo | None
    error: JobError | None
    t0: float
    pixels: int
    L: Any = None  # the photo's lightness (engine.lightness), computed by the reader


class _Pipeline:
    """Reading, colouring and writing a batch's photos at once, in three threads.

    Like Real-ESRGAN's CLI: a reader thread decodes the next photos (and their
    lightness) while the models colour this one, and a writer thread composes
    the last one's pixels (the full-size upsample and Lab -> RGB), encodes and
    writes them (decoders, LiteRT, OpenCV and the encoders release the GIL). So
    the calling thread runs only the models, which were the bottleneck when it
    also did the per-pixel work (benchmarks/README.md). Bounded queues and
    a pixel budget keep memory flat however long the batch. Items come back in
    the targets' order (one writer, FIFO queues); :meth:`finished` hands them
    to the calling thread, so every callback runs where it did before.
    """

    def __init__(self, targets: Sequence[Target], colorizer: Colorizer,
                 options: ColorizeOptions, export: ExportOptions):
        self.targets, self.colorizer = targets, colorizer
        self.options, self.export = options, export
        self.started = 0  # targets handed to colorize (or failed before it)
        self.unwritten = 0  # coloured, but the disk was full before their turn
        self.stopped: str | None = None
        self.disk_full = False
        self._halt = threading.Event()
        self._pixels = 0
        self._pixels_cv = threading.Condition()
        self._reads: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        self._writes: queue.Queue = queue.Queue(maxsize=WRITE_BEHIND)
        self._done: queue.Queue = queue.Queue()
        self._errors: list[BaseException] = []
        self._stopping_now = False
        self._cv_threads: int | None = None
        self._restore_malloc: Callable[[], None] | None = None
        self._threads = [threading.Thread(target=self._guard, args=(self._read_all,),
                                          name="tinct-batch-read", daemon=True),
                         threading.Thread(target=self._guard, args=(self._write_all,),
                                          name="tinct-batch-write", daemon=True)]

    def __enter__(self) -> _Pipeline:
        self._cv_threads = _single_threaded_opencv(len(self.targets))
        self._restore_malloc = _keep_freed_memory(len(self.targets))
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._halt.set()
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            # Stop now: not even the photo being written is waited for (a 12 MP PNG
            # takes seconds). Its atomic write leaves it complete or absent.
            self._stopping_now = True
        else:
            self._shutdown()
        if self._cv_threads is not None:
            cv2.setNumThreads(self._cv_threads)
        if self._restore_malloc is not None:
            self._restore_malloc()

    # -- the calling thread ---------------------------------------------
    def reads(self):
        """The targets in order, read (or failed to read), as the reader gets them."""
        while True:
            read = self._reads.get()
            if read is _END:
                return
            yield read

    def colorize(self, read: _Read) -> None:
        """Colour one read target and queue it for the writer (a fatal ModelError raises)."""
        self.started += 1
        result: Any = read.error
        if read.target.state == DONE:
            result = None
        elif read.photo is not None:
            try:
                result = colorize_photo(self.colorizer, read.photo, self.options,
                                        dtype=self.export.result_dtype(read.photo,
                                                                       read.target.fmt),
                                        L=read.L, pending=True)
            except ModelError as e:
                if e.fatal:
                    raise
                result = e
            except JobError as e:
                result = e
        self._put(self._writes, (read, result), force=True)  # the writer takes all

    def fail(self, read: _Read, error: JobError) -> None:
        self._put(self._writes, (read, error), force=True)

    def stop(self, reason: str, disk_full: bool) -> None:
        if self.stopped is None:
            self.stopped, self.disk_full = reason, disk_full
        self._halt.set()

    def finished(self, raising: bool = True) -> list[ItemResult]:
        """Items the writer has finished since the last call (a worker thread's error
        is raised here, in the calling thread)."""
        if self._errors and raising:
            raise self._errors[0]
        items = []
        while True:
            try:
                items.append(self._done.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> list[ItemResult]:
        """Let the writer finish what is queued; the items not yet handed out."""
        self._put(self._writes, _END, force=True)
        self._halt.set()
        self._shutdown()
        if self._errors:
            raise self._errors[0]
        return self.finished()

    def crashed(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a worker thread's own failure (not the caller's)."""
        return any(exc is e for e in self._errors)

    # -- the worker threads ---------------------------------------------
    def _guard(self, body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            self._errors.append(e)
            self._halt.set()

    def _read_all(self) -> None:
        try:
            for target in self.targets:
                if self._halt.is_set():
                    break
                t0 = time.perf_counter()
                photo, error = None, None
                L = None
                if target.state != DONE:
                    try:
                        photo = read_input(target)
                        L = (lightness_of(photo, repair=True) if self.options.repair
                             else lightness_of(photo))
                    except JobError as e:
                        error = e
                pixels = photo.rgb.shape[0] * photo.rgb.shape[1] if photo is not None else 0
                if not self._take(pixels):
                    break
                if not self._put(self._reads, _Read(target, photo, error, t0, pixels, L)):
                    break
        finally:
            self._put(self._reads, _END, force=True)

    def _write_all(self) -> None:
        while True:
            job = self._writes.get()
            if job is _END:
                return
            read, result = job
            try:
                if self._stopping_now:
                    continue  # stopped at once: nothing more is written
                if self.disk_full and not isinstance(result, BaseException):
                    self.unwritten += 1  # not tried: counted as not started
                    continue
                self._done.put(self._write(read, result))
            finally:
                self._give(read.pixels)

    def _write(self, read: _Read, result: Any) -> ItemResult:
        target = read.target
        if result is None:
            return skipped_item(target, self.options)
        if isinstance(result, Rendering):  # composed here, beside the next photo's models
            try:
                result = complete(result, target.input)
            except JobError as e:
                result = e
        if isinstance(result, BaseException):
            item = item_for(target, result, self.options)
        else:
            try:
                return finish(target, read.photo, result, self.options, self.export, read.t0)
            except DiskFullError as e:
                self.stop(str(e), disk_full=True)
                item = item_for(target, e, self.options)
            except JobError as e:
                item = item_for(target, e, self.options)
        item.seconds = round(time.perf_counter() - read.t0, 4)
        return item

    # -- plumbing --------------------------------------------------------
    def _put(self, q: queue.Queue, item: Any, force: bool = False) -> bool:
        """Put unless the pipeline halts first (``force``: always, waiting for room)."""
        while True:
            if self._halt.is_set() and not force:
                return False
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                if q is self._writes and self._errors:
                    raise self._errors[0] from None  # the writer is gone: nobody makes room
                if force and q is self._reads and self._halt.is_set():
                    # halted: nobody reads any more, make room for the end mark
                    with contextlib.suppress(queue.Empty):
                        dropped = q.get_nowait()
                        if isinstance(dropped, _Read):
                            self._give(dropped.pixels)

    def _take(self, pixels: int) -> bool:
        with self._pixels_cv:
            while (self._pixels and self._pixels + pixels > MAX_PIXELS_IN_FLIGHT
                   and not self._halt.is_set()):
                self._pixels_cv.wait(0.05)
            self._pixels += pixels
            return not self._halt.is_set()

    def _give(self, pixels: int) -> None:
        with self._pixels_cv:
            self._pixels -= pixels
            self._pixels_cv.notify_all()

    def _shutdown(self) -> None:
        writer = self._threads[1]
        if writer.is_alive():  # it stops at _END; make sure one is queued
            self._put(self._writes, _END, force=True)
        for t in self._threads:
            t.join()
