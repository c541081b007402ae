"""The single-file job: read one photo, colorize it, write its output(s).

The CLI's batch, the app's batch dialog and its Save / Save All all run this,
so a photo gives the same file and the same error text from each of them.
Every failure is a :class:`JobError` of one type per cause, so a caller can
tell "this photo is bad" (the batch goes on) from "the disk is full" or "the
encoder is missing" (no later photo can succeed: the batch stops, once).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.export import ExportOptions, encode_compare, encode_result
from core.filesafe import Staged, is_disk_full
from core.outputs import DONE, LEDGER_NAME, REDO, Ledger, Target, _family
from core.photo import Photo, PhotoError, load_photo
from core.pins import Pin, PinError

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from core.engine import Analysis, Colorizer, ColorizeResult, Rendering
    from core.hints import Hints


class JobError(Exception):
    """One photo's job failed; str() is '<path>: <reason>'."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # across processes (Ray, workers)
        return (type(self), (self.path, self.reason))


class ReadError(JobError):
    """The input cannot be read or decoded (or holds no usable pixels)."""


class ModelError(JobError):
    """A model could not be loaded. ``fatal``: no photo can be colorized (encoder or
    classifier); otherwise photos routed to other models still can."""

    def __init__(self, path: str | Path, reason: str, fatal: bool = False):
        super().__init__(path, reason)
        self.fatal = fatal

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason, self.fatal))


class WriteError(JobError):
    """The output cannot be written (permissions, encoding, a name nobody can have)."""


class DiskFullError(WriteError):
    """No space left (or quota exceeded): every later write would fail too."""


@dataclass(frozen=True)
class ColorizeOptions:
    """What the colorizer is asked for (the same for every photo of a batch)."""

    category: str = "auto"
    strength: float = 1.0
    routing: str = "soft"
    pins: tuple[Pin, ...] = ()  # this photo's colour pins (the app's Save)
    hints: Hints | None = None  # per-input pins of a batch (the CLI's --hints)
    repair: bool = False  # repair the print's damage and fading first (core.repair)
    repair_strokes: tuple[Any, ...] = ()  # the app's brush strokes on the repair mask

    def pins_for(self, path: Path | None) -> tuple[Pin, ...]:
        """The pins of one input: its own, else the hints file's (PinError when bad)."""
        if self.pins or self.hints is None or path is None:
            return tuple(self.pins)
        return tuple(self.hints.pins_for(path))

    def settings_for(self, path: Path | None,
                     pins: tuple[Pin, ...] | None = None) -> dict[str, Any]:
        """What an output of ``path`` is made with, as the ledger records it (a rerun
        with other settings redoes the photo). Bad pins give a value no record has."""
        if pins is None:
            try:
                pins = self.pins_for(path)
            except PinError as e:
                pins_json: Any = f"unusable: {e}"
            else:
                pins_json = [p.to_json() for p in pins]
        else:
            pins_json = [p.to_json() for p in pins]
        settings: dict[str, Any] = {"category": self.category,
                                    "strength": float(self.strength),
                                    "routing": self.routing, "pins": pins_json}
        if self.repair:  # only when on: records made without repair compare as before
            settings["repair"] = [s.to_json() for s in self.repair_strokes]
        return settings


@dataclass
class ItemResult:
    """The outcome for one input: the JSON report's object."""

    input: str
    output: str | None
    category: str | None = None  # "general": none of the categories (see ``general``)
    confidences: dict[str, float] = field(default_factory=dict)
    general: float | None = None  # the "none of the categories" share (+ confidences = 1)
    models_used: list[str] = field(default_factory=list)
    routing: str | None = None
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False  # a valid output of this input is there already (resume)
    compare: str | None = None  # the side-by-side file, when asked for
    note: str | None = None  # e.g. why the output has a numbered name
    passed_over: str | None = None  # a folder entry not taken as a photo: why
    pins: list[dict[str, Any]] = field(default_factory=list)  # colour pins used, as in --hints
    sidecar: str | None = None  # the edit file written beside the output (when pinned)
    warning: str | None = None  # written, but something beside it was not (its edit file)
    repair: dict[str, Any] | None = None  # what --repair found and did (core.repair's report)

    def to_report(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- the steps


def read_input(target: Target | Path) -> Photo:
    """Load the input photo; ReadError says why it cannot be read."""
    path = target.input if isinstance(target, Target) else Path(target)
    try:
        return load_photo(path)
    except PhotoError as e:
        raise ReadError(e.path, e.reason) from e
    except MemoryError:
        raise ReadError(path, "not enough memory to open it") from None


def colorize_photo(
    colorizer: Colorizer,
    photo: Photo,
    options: ColorizeOptions = ColorizeOptions(),
    analysis: Analysis | None = None,
    dtype: type | np.dtype = np.float32,
    L: np.ndarray | None = None,
    pending: bool = False,
) -> ColorizeResult | Rendering:
    """Analyse (unless given) and render one photo; model failures are ModelErrors.

    ``dtype``: the result's pixels (``Colorizer.render``); uint8 where only an 8-bit
    file is written from it (``ExportOptions.result_dtype``). ``L``: the photo's
    ``engine.lightness``, if already computed. ``pending``: stop before the pixels
    and return the ``Rendering``, for :func:`complete` (a batch's writer thread).

    A category model that cannot be loaded is marked broken in the store and
    the photo is rendered again: its category then falls back to the universal
    model (the result's notes say so).
    """
    from core.store import ModelFileError, ModelStoreError

    path = photo.path or Path("<photo>")
    for attempt in (0, 1):
        try:
            with _colorize_errors(path):  # a bad pin is a ValueError too
                pins = options.pins_for(photo.path)
                if options.repair and L is None:
                    L = lightness_of(photo, repair=True, strokes=options.repair_strokes)
                    analysis = None  # the repaired print is analysed, not the damaged one
                if analysis is None:
                    analysis = colorizer.analyze(photo.rgb, L)
                rendering = colorizer.render_pending(analysis, options.category,
                                                     options.strength, options.routing,
                                                     pins=pins, dtype=dtype)
                return rendering if pending else rendering.result()
        except ModelFileError as e:
            if attempt == 0 and not e.fatal and not e.universal:
                continue  # that category now routes to the universal model
            raise ModelError(path, str(e), fatal=e.fatal) from e
        except ModelStoreError as e:
            raise ModelError(path, str(e)) from e
    raise AssertionError("unreachable")


def lightness_of(photo: Photo, repair: bool = False, strokes: tuple[Any, ...] = ()
                 ) -> np.ndarray:
    """The photo's ``engine.lightness`` (for ``colorize_photo(L=...)``); errors: ReadError.

    ``repair``: the lightness of the repaired print (:func:`core.repair.repair`),
    what the colour then runs on; ``photo.repair`` gets its report.
    """
    from core.engine import lightness

    with _colorize_errors(photo.path or Path("<photo>")):
        L = lightness(photo.rgb)
        if repair:
            from core import repair as rp

            fixed = rp.repair(L, detector=rp.shared_detector(), strokes=tuple(strokes))
            photo.repair = fixed.report
            if rp.faded_colour(photo.rgb):
                photo.repair = {**fixed.report, "colour_print": True}
            L = fixed.L
        return L


def complete(rendering: Rendering, path: Path | None) -> ColorizeResult:
    """The pixels of a :func:`colorize_photo` ``pending`` result (errors: ReadError)."""
    with _colorize_errors(path or Path("<photo>")):
        return rendering.result()


@contextmanager
def _colorize_errors(path: Path) -> Iterator[None]:
    """What colouring a photo can meet besides the models, as the ReadError that names it:
    no memory for its arrays, or pixels the engine refuses (a ValueError that says why)."""
    try:
        yield
    except MemoryError:
        raise ReadError(path, "not enough memory to colorize it") from None
    except ValueError as e:
        raise ReadError(path, str(e)) from e


def write_outputs(
    target: Target, photo: Photo, result: ColorizeResult | np.ndarray,
    export: ExportOptions = ExportOptions(),
) -> tuple[list[Path], bool]:
    """Write the colour photo (and the comparison, when planned) under the plan's names.

    Returns the paths written and whether they are fresh (False: another run wrote this
    input's outputs meanwhile, ours were dropped).
    """
    rgb = result if isinstance(result, np.ndarray) else result.rgb
    jobs: list[tuple[Path, Callable[[BinaryIO], None]]] = []
    try:
        jobs.append((target.output, encode_result(photo, rgb, target.output, export,
                                                  target.fmt)))
        if target.compare is not None:
            jobs.append((target.compare, encode_compare(photo, rgb, target.compare, export,
                                                        target.fmt)))
    except PhotoError as e:
        raise WriteError(e.path, e.reason) from e
    except (ValueError, MemoryError) as e:
        raise WriteError(target.output, f"could not encode the photo ({e})") from e
    written: list[Path] = []
    fresh = True
    for path, write in jobs:
        final, new = _commit(target, path, write)
        written.append(final)
        fresh = fresh and new
    if written:
        target.output = written[0]
        if target.compare is not None:
            target.compare = written[1]
    return written, fresh


def _commit(target: Target, path: Path, write: Callable[[BinaryIO], None]) -> tuple[Path, bool]:
    """Stage, record in the ledger, then link under the first name still free."""
    try:
        with Staged(path) as staged:
            try:
                write(staged.file)
            except PhotoError as e:
                raise WriteError(e.path, e.reason) from e
            st = staged.finish()
            replace = target.state == REDO and _still_ours(target, path)
            current, n = path, 1
            while True:
                _record(path.parent, target.record(current, st))
                if replace and current == path:
                    return staged.commit(current, overwrite=True), True
                try:
                    return staged.commit(current, overwrite=False), True
                except FileExistsError:
                    rec = Ledger(path.parent).owner(current.name)
                    if rec is not None and rec.input == target.input_key:
                        return current, False  # another run did this photo meanwhile
                n += 1
                if n > 10_000:
                    raise WriteError(path, "no free output name") from None
                current = path.with_name(f"{_family_stem(path)}_{n}{path.suffix}")
    except JobError:
        raise
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(path.parent, _os_reason("the disk is full", e)) from e
        raise WriteError(path, _os_reason(f"cannot write in {path.parent}", e)) from e


def _record(folder: Path, record: Any) -> None:
    """Add to the folder's ledger; its failure names the ledger, not the photo's folder."""
    try:
        Ledger.append(folder, record)
    except OSError as e:
        if is_disk_full(e):
            raise
        ledger = folder / LEDGER_NAME
        raise WriteError(ledger, _os_reason("cannot add to Tinct's list of the outputs it "
                                            "wrote (the photo is not saved)", e)) from e


def _family_stem(path: Path) -> str:
    """'x_color' for x_color.jpg and x_color_3.jpg (numbered names count on from the base)."""
    m = _family(path).fullmatch(path.name)
    stem = path.stem
    if m is not None and m.group(1) is not None:
        stem = stem[: -len(m.group(1)) - 1]
    return stem


def _still_ours(target: Target, path: Path) -> bool:
    """The file we plan to replace is still the one Tinct wrote (not swapped since)."""
    expected = target.replaces.get(path.name)
    if expected is None:
        return False
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == expected


def _os_reason(what: str, e: OSError) -> str:
    detail = e.strerror or os.strerror(e.errno or errno.EIO) or type(e).__name__
    return f"{what} ({detail[:1].lower() + detail[1:]})"


# --------------------------------------------------------------------------- the job


def item_for(target: Target | Path, exc: BaseException | None = None,
             options: ColorizeOptions | None = None) -> ItemResult:
    """The report item of a target (skipped when done), or of a failure."""
    t = target if isinstance(target, Target) else None
    path = t.input if t is not None else Path(target)  # type: ignore[arg-type]
    item = ItemResult(str(path), str(t.output) if t is not None else None,
                      routing=options.routing if options else None,
                      compare=str(t.compare) if t is not None and t.compare else None,
                      note=(t.note or None) if t is not None else None)
    if t is not None and t.state == DONE and exc is None:
        item.skipped = True
    if exc is not None:
        item.error = str(exc) if isinstance(exc, JobError) else f"{path}: {exc}"
        item.output = item.compare = None
    return item


def finish(
    target: Target, photo: Photo, result: ColorizeResult,
    options: ColorizeOptions = ColorizeOptions(), export: ExportOptions = ExportOptions(),
    t0: float | None = None,
) -> ItemResult:
    """Write a colorized photo and fill its report item (errors: WriteError/DiskFullError)."""
    t0 = time.perf_counter() if t0 is None else t0
    target.settings = options.settings_for(target.input, tuple(result.pins))
    written, fresh = write_outputs(target, photo, result, export)
    item = item_for(target, options=options)
    item.skipped = not fresh
    item.category = result.category
    item.confidences = {k: round(v, 6) for k, v in result.confidences.items()}
    item.general = round(result.general, 6)
    item.models_used = list(result.models_used)
    notes = [n for n in (target.note, *photo.notes, *result.notes) if n]
    if photo.repair and photo.repair.get("colour_print"):
        notes.append("this looks like a colour print (faded?), not a gray or toned one: "
                     "its own colours were replaced by new ones")
    item.note = "; ".join(dict.fromkeys(notes)) or None
    item.repair = photo.repair
    if result.pins:
        item.pins = [p.to_json() for p in result.pins]
    if result.pins or options.repair:  # how it was made, so the app can reopen the edit
        _add_sidecar(item, target, tuple(result.pins), options)
    item.seconds = round(time.perf_counter() - t0, 4)
    return item


def skipped_item(target: Target, options: ColorizeOptions) -> ItemResult:
    """The report item of a done target; a pinned one whose edit file is missing (its
    write failed last time, or it was deleted) gets it now."""
    item = item_for(target, options=options)
    if target.state != DONE:
        return item
    try:
        pins = options.pins_for(target.input)
    except (PinError, ValueError):
        return item
    if pins:
        item.pins = [p.to_json() for p in pins]
        if os.path.lexists(target.sidecar):
            item.sidecar = str(target.sidecar)
        else:
            _add_sidecar(item, target, pins, options)
    return item


def _add_sidecar(item: ItemResult, target: Target, pins: tuple[Pin, ...],
                 options: ColorizeOptions) -> None:
    """Write the edit file of a pinned output into ``item``; a failure is the item's
    warning, never its error: the colour photo is written (and a rerun writes it)."""
    try:
        item.sidecar = str(_write_sidecar(target, pins, options))
    except WriteError as e:
        item.warning = f"{e}; the colour photo is saved, but not its edit file (pins)"


def _write_sidecar(target: Target, pins: tuple[Pin, ...], options: ColorizeOptions) -> Path:
    """Record how a pinned output was made (what was asked for), so the app can reopen it."""
    from core.hints import EditRecord, write_sidecar

    source = target.input_key or str(Path(target.input).resolve())  # any working folder
    record = EditRecord(source, str(target.output), options.category,
                        options.strength, options.routing, pins,
                        options.repair, tuple(options.repair_strokes))
    path = target.sidecar
    try:
        return write_sidecar(path, record)
    except FileExistsError:
        raise WriteError(path, "exists and is not a Tinct edit file: left as it is") from None
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(path.parent, _os_reason("the disk is full", e)) from e
        raise WriteError(path, _os_reason(f"cannot write in {path.parent}", e)) from e


def run_job(
    target: Target,
    colorizer: Colorizer,
    options: ColorizeOptions = ColorizeOptions(),
    export: ExportOptions = ExportOptions(),
    *,
    photo: Photo | None = None,
    analysis: Analysis | None = None,
) -> ItemResult:
    """Read -> colorize -> write one target; a done target is skipped.

    A bad photo becomes the item's error. Raises only what stops a batch:
    DiskFullError and a fatal ModelError.
    """
    t0 = time.perf_counter()
    if target.state == DONE and photo is None:
        return skipped_item(target, options)
    try:
        if photo is None:
            photo = read_input(target)
        result = colorize_photo(colorizer, photo, options, analysis)
        return finish(target, photo, result, options, export, t0)
    except DiskFullError:
        raise
    except ModelError as e:
        if e.fatal:
            raise
        item = item_for(target, e, options)
    except JobError as e:
        item = item_for(target, e, options)
    item.seconds = round(time.perf_counter() - t0, 4)
    return item
