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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.engine import Colorizer
from core.export import ExportOptions
from core.job import (
    ColorizeOptions,
    DiskFullError,
    ItemResult,
    ModelError,
    item_for,
    run_job,
)
from core.outputs import OutputPlan, PassedOver, Target, is_photo_name, plan_outputs

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
    recursive: bool = False,
) -> OutputPlan:
    """The output plan of a batch with these export options (ValueError: bad pattern/format)."""
    return plan_outputs(inputs, output_dir, fmt=export.fmt, pattern=export.pattern,
                        recursive=recursive, compare=export.side_by_side,
                        overwrite=export.overwrite)


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
        plan = plan_batch(inputs, output_dir, export, recursive)
    report = BatchReport([], passed_over=list(plan.passed_over))

    def add(item: ItemResult) -> None:
        report.items.append(item)
        if on_item:
            on_item(item)

    for path, reason in plan.problems:
        add(ItemResult(str(path), None, error=f"{path}: {reason}"))
    targets: list[Target] = plan.targets
    t0 = time.perf_counter()
    for n, target in enumerate(targets):
        if cancelled is not None and cancelled():
            report.cancelled = True
            report.not_started = len(targets) - n
            break
        if progress:
            progress(BatchProgress(n, len(targets), str(target.input),
                                   time.perf_counter() - t0, len(report.failed)))
        try:
            item = run_job(target, colorizer, options, export)
        except (DiskFullError, ModelError) as e:
            report.stopped = str(e)
            report.disk_full = isinstance(e, DiskFullError)
            report.not_started = len(targets) - n - 1
            add(item_for(target, e, options))
            break
        add(item)
    if progress and not report.cancelled and report.stopped is None:
        progress(BatchProgress(len(targets), len(targets), "", time.perf_counter() - t0,
                               len(report.failed)))
    return report
