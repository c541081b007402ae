"""Batch colorization: files and folders into an output folder that mirrors them.

Every file gets a result, good or bad: a photo that fails is recorded with
its reason and the batch goes on. Outputs that already exist are skipped, so
an interrupted batch resumes where it stopped. Progress is reported through a
callback and a cancel check is polled between photos: no Qt here, the GUI
wraps this in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from core.engine import Colorizer
from core.export import ExportOptions, write_result
from core.photo import OUTPUT_FORMATS, SUPPORTED_SUFFIXES, PhotoError, load_photo, output_path


@dataclass(frozen=True)
class ColorizeOptions:
    """What the colorizer is asked for (the same for every photo of a batch)."""

    category: str = "auto"
    strength: float = 1.0
    routing: str = "soft"


@dataclass
class Job:
    """One input file and where its result goes."""

    input: Path
    output: Path


@dataclass
class ItemResult:
    """The outcome for one input: the JSON report's object."""

    input: str
    output: str | None
    category: str | None = None
    confidences: dict[str, float] = field(default_factory=dict)
    models_used: list[str] = field(default_factory=list)
    routing: str | None = None
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False  # output already there (resume): not redone

    def to_report(self) -> dict[str, Any]:
        return asdict(self)


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

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in self.items if i.error]

    @property
    def written(self) -> list[ItemResult]:
        return [i for i in self.items if not i.error and not i.skipped]

    @property
    def skipped(self) -> list[ItemResult]:
        return [i for i in self.items if i.skipped]


def is_photo_file(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def _nested_output(mirror: Path, src: Path) -> Path | None:
    """``mirror`` (resolved) when it is a sub-folder of the input folder ``src``: it
    holds results of an earlier run, not photos to colour again."""
    mirror, src = mirror.resolve(), src.resolve()
    return mirror if mirror != src and mirror.is_relative_to(src) else None


def plan_jobs(
    inputs: Sequence[str | Path],
    output_dir: str | Path,
    fmt_for: Callable[[Path], str],
    pattern: str = "{name}_color",
    recursive: bool = False,
) -> tuple[list[Job], list[ItemResult]]:
    """Expand files and folders into jobs; a folder's tree is mirrored.

    Returns the jobs and the inputs that could not even be planned (missing).
    ``fmt_for`` gives the output format of an input path.
    """
    out_root = Path(output_dir)
    jobs: list[Job] = []
    problems: list[ItemResult] = []
    taken: set[Path] = set()
    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            walker: Iterable[Path] = src.rglob("*") if recursive else src.iterdir()
            mirror = out_root / src.name
            skip = _nested_output(mirror, src)
            files = sorted(p for p in walker if p.is_file() and is_photo_file(p)
                           and not (skip and p.resolve().is_relative_to(skip)))
            pairs = [(p, mirror / p.parent.relative_to(src)) for p in files]
        elif src.exists():
            pairs = [(src, out_root)]
        else:
            problems.append(ItemResult(str(src), None, error=f"{src}: file not found"))
            continue
        for path, dest_dir in pairs:
            fmt = fmt_for(path)
            dest = output_path(path, dest_dir, fmt, pattern)
            if dest in taken:  # a.jpg and a.png both -> a_color.png
                stem_pattern = pattern.replace("{name}", "{name}_" + path.suffix.lstrip("."))
                dest = output_path(path, dest_dir, fmt, stem_pattern)
            taken.add(dest)
            jobs.append(Job(path, dest))
    return jobs, problems


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
) -> BatchReport:
    """Colorize every photo of ``inputs`` into ``output_dir``; never raises per photo."""
    if export.fmt is not None and export.fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {export.fmt!r}; choose one of {sorted(OUTPUT_FORMATS)}")

    def fmt_for(path: Path) -> str:
        if export.fmt:
            return export.fmt
        from core.photo import default_format_for

        return default_format_for(_format_guess(path))

    jobs, items = plan_jobs(inputs, output_dir, fmt_for, export.pattern, recursive)
    for item in items:
        if on_item:
            on_item(item)
    originals = [j.input for j in jobs]
    t0 = time.perf_counter()
    report = BatchReport(items)
    for n, job in enumerate(jobs):
        if cancelled is not None and cancelled():
            report.cancelled = True
            break
        if progress:
            progress(BatchProgress(n, len(jobs), str(job.input), time.perf_counter() - t0,
                                   len(report.failed)))
        item = colorize_file(job, colorizer, options, export, originals)
        report.items.append(item)
        if on_item:
            on_item(item)
    if progress and not report.cancelled:
        progress(BatchProgress(len(jobs), len(jobs), "", time.perf_counter() - t0,
                               len(report.failed)))
    return report


def colorize_file(
    job: Job,
    colorizer: Colorizer,
    options: ColorizeOptions,
    export: ExportOptions,
    protect: Sequence[Path] = (),
) -> ItemResult:
    """Load, colorize and save one photo; every failure becomes the item's error."""
    t0 = time.perf_counter()
    item = ItemResult(str(job.input), str(job.output), routing=options.routing)
    if job.output.exists() and not export.overwrite:
        item.skipped = True
        return item
    try:
        photo = load_photo(job.input)
        result = colorizer.colorize(photo.rgb, options.category, options.strength, options.routing)
        item.category = result.category
        item.confidences = {k: round(v, 6) for k, v in result.confidences.items()}
        item.models_used = result.models_used
        # Write the format the output is named for: the input's name may lie
        # about its content (a PNG saved as .jpg), and then so would its format.
        fmt = export.fmt or _SUFFIX_FORMATS.get(job.output.suffix.lower())
        write_result(photo, result.rgb, job.output, replace(export, fmt=fmt), protect)
    except PhotoError as exc:
        item.error = str(exc)
        item.output = None
    except (OSError, ValueError, MemoryError) as exc:
        item.error = f"{job.input}: {exc.__class__.__name__}: {exc}"
        item.output = None
    item.seconds = round(time.perf_counter() - t0, 4)
    return item


_SUFFIX_FORMATS = {suffix: fmt for fmt, suffix in OUTPUT_FORMATS.items()}


def _format_guess(path: Path) -> str:
    """Pillow format name from the suffix (enough to pick the output family)."""
    return {
        ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
        ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF", ".heic": "HEIF", ".heif": "HEIF",
    }.get(path.suffix.lower(), "PNG")
