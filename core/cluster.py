"""The same colorize batch on a Ray cluster (Ray Data): ``--engine ray``.

The contract is the local engine's (core.batch): the driver plans the run once
with core's output plan (core.outputs: names, collisions, formats, resume) and
each photo goes through core's single-file job (core.job: read_input,
colorize_photo, finish), so an output is the file the local engine writes.
Only *where* each step runs changes:

    driver: plan (done targets are reported as skipped, never sent)
    -> read tasks: decode
    -> actor pool: colorize (models loaded once per actor, on its GPU where it
       has one; one encoder pass per batch of photos)
    -> write tasks: encode + atomic write under the plan's names
    -> driver: report items as they stream back, progress.

Faults: Ray Data restarts a dead actor and retries its batch, and retries a
dead task. A retry is safe: every output is staged and renamed into place, and
core's writer recognises an output that an earlier attempt of the same input
already wrote (the folder's ledger), so it is kept, not written twice, and
reported as written by this run. A photo that fails is reported with the local
engine's error text and the rest go on; what stops the local engine (a full
disk, a broken encoder) stops this batch too.

Ray is an optional dependency (``pip install -e ".[cluster]"``); nothing here
imports it before a Ray batch is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.batch import BatchProgress, BatchReport, plan_batch
from core.export import ExportOptions
from core.filesafe import clean_temp_files
from core.job import (
    ColorizeOptions,
    DiskFullError,
    ItemResult,
    JobError,
    ModelError,
    colorize_photo,
    finish,
    item_for,
    read_input,
    skipped_item,
)
from core.outputs import DONE, OutputPlan, Target
from core.photo import Photo

if TYPE_CHECKING:
    from core.engine import Colorizer

log = logging.getLogger(__name__)

#: Object store of the Ray that ``--engine ray`` starts in-process: photos stream
#: through it a few batches at a time (Ray spills to disk beyond it), so it stays small.
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
#: Photos per actor call: one encoder pass over this many photos.
DEFAULT_BATCH_SIZE = 8
#: CPUs a read (decode) or write (encode) task asks Ray for.
IO_TASK_CPUS = 0.5
#: Stages that may run a job's write: "tasks" (default, see docs/cluster.md) or "actor".
WRITE_STAGES = ("tasks", "actor")


class ClusterError(RuntimeError):
    """The Ray engine cannot run (ray missing, no cluster at the address...)."""


def require_ray() -> Any:
    """Import Ray Data or say how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ClusterError(
            "--engine ray needs Ray Data, which is not installed: "
            "pip install -e \".[cluster]\" (or pip install \"ray[data]\")"
        ) from exc
    return ray


# --------------------------------------------------------------------------- Ray Data stages


@dataclass(frozen=True)
class _Settings:
    """What every task and actor of one batch needs (shipped once, small)."""

    models_dir: str
    architecture: str | None
    options: ColorizeOptions
    export: ExportOptions
    write_in_actor: bool


@dataclass
class _Work:
    """One target on its way through the pipeline. Ray Data carries it as one Python
    object per row: columns of their own would turn None into NaN, strings into Arrow."""

    n: int  # its place in the plan (the report keeps the local engine's order)
    target: Target
    item: ItemResult | None = None  # set once the job has failed or finished
    photo: Photo | None = None
    result: Any = None  # the ColorizeResult, between the actor and the writer
    seconds: float = 0.0  # read + colorize + write, as the local engine counts a job
    stop: bool = False  # a fatal error (full disk, broken encoder): the batch stops
    disk_full: bool = False

    def fail(self, exc: BaseException, options: ColorizeOptions) -> None:
        self.item = item_for(self.target, exc, options)
        self.photo = self.result = None
        self.stop = isinstance(exc, DiskFullError) or (isinstance(exc, ModelError)
                                                       and exc.fatal)
        self.disk_full = isinstance(exc, DiskFullError)


def _works(batch: dict[str, Any]) -> list[_Work]:
    return list(batch["work"])


def _read(batch: dict[str, Any], options: ColorizeOptions) -> dict[str, list[_Work]]:
    """Read task: decode each file (CPU, beside the actors)."""
    works = _works(batch)
    for w in works:
        t0 = time.perf_counter()
        try:
            w.photo = read_input(w.target)
        except JobError as exc:
            w.fail(exc, options)
        w.seconds += time.perf_counter() - t0
    return {"work": works}


class _ColorizeActor:
    """One model load per actor; one encoder pass per batch of photos."""

    def __init__(self, settings: _Settings):
        import ray

        if not ray.get_runtime_context().get_accelerator_ids().get("GPU"):
            # Ray sets CUDA_VISIBLE_DEVICES only for actors given GPUs: a CPU actor on a GPU
            # node would otherwise let TensorFlow take every GPU's memory from the others.
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        from core.engine import Colorizer

        self.settings = settings
        self.colorizer = Colorizer(settings.models_dir, architecture=settings.architecture)
        self.colorizer.load()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[_Work]]:
        s = self.settings
        works = _works(batch)
        todo = [w for w in works if w.photo is not None]
        t0 = time.perf_counter()
        analyses: list[Any] = [None] * len(todo)
        if len(todo) > 1 and not s.options.repair:  # a repaired print is analysed on its own
            try:
                analyses = self.colorizer.analyze_batch([w.photo.rgb for w in todo])
            except Exception:  # noqa: BLE001 - each photo again on its own: its own error
                analyses = [None] * len(todo)
        share = (time.perf_counter() - t0) / max(len(todo), 1)
        for w, analysis in zip(todo, analyses):
            t1 = time.perf_counter()
            try:
                # 8-bit outputs as uint8 (ExportOptions.result_dtype): a quarter of the
                # float result's bytes, also when results travel back to the driver.
                w.result = colorize_photo(self.colorizer, w.photo, s.options, analysis,
                                          s.export.result_dtype(w.photo, w.target.fmt))
            except JobError as exc:
                w.fail(exc, s.options)
            w.seconds += share + time.perf_counter() - t1
        if s.write_in_actor:
            _write_works(works, s)
        return {"work": works}


def _write_works(works: list[_Work], s: _Settings) -> None:
    """Write each colorized photo with core's writer and fill its report item."""
    for w in works:
        if w.result is None or w.photo is None:
            continue
        t0 = time.perf_counter()
        try:
            w.item = finish(w.target, w.photo, w.result, s.options, s.export)
            if w.item.skipped and w.target.state != DONE:
                # Planned as to do, found done by this input: an earlier attempt of this
                # job (a retried task, a restarted actor) wrote it. This run's output.
                w.item.skipped = False
        except JobError as exc:
            w.fail(exc, s.options)
        assert w.item is not None
        w.item.seconds = round(w.seconds + time.perf_counter() - t0, 4)
        w.photo = w.result = None  # only the item goes back to the driver


def _write(batch: dict[str, Any], settings: _Settings) -> dict[str, list[_Work]]:
    """Write task: encode and write each result atomically."""
    works = _works(batch)
    _write_works(works, settings)
    return {"work": works}


# --------------------------------------------------------------------------- the driver


def connect(
    address: str | None = None,
    num_cpus: int | None = None,
    object_store_bytes: int = LOCAL_OBJECT_STORE_BYTES,
) -> bool:
    """Join the cluster at ``address`` or start Ray in-process; True when started here.

    A Ray that is already initialised (a test module, a notebook) is used as it is.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    code_root = str(Path(__file__).resolve().parent.parent)
    common = dict(logging_level=logging.WARNING, log_to_driver=False)
    with _own_signal_handlers():
        _init(ray, address, num_cpus, object_store_bytes, code_root, common)
    return True


@contextlib.contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """ray.init installs its own SIGTERM handler (and leaves it after shutdown); the CLI's
    "stop after the current photo" on Ctrl+C/SIGTERM/SIGHUP must stay the one that runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from core.cli import STOP_SIGNALS

    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _init(ray: Any, address: str | None, num_cpus: int | None, object_store_bytes: int,
          code_root: str, common: dict[str, Any]) -> None:
    try:
        if address:
            # The nodes have Tinct's dependencies (the same image); ship this core so
            # they run the driver's version of the code.
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                     **common)
        else:
            path = os.pathsep.join(p for p in (code_root, os.environ.get("PYTHONPATH")) if p)
            ray.init(num_cpus=num_cpus, object_store_memory=object_store_bytes,
                     include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}},
                     **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot start or reach Ray{f' at {address}' if address else ''}: "
                           f"{exc}") from exc


def _actor_resources(ray: Any, workers: int, gpus_per_worker: float) -> dict[str, float]:
    """CPUs/GPUs per actor, leaving room for at least one read or write task."""
    total = ray.cluster_resources()
    cpus = float(total.get("CPU", 1.0))
    need = 1.0 if workers + IO_TASK_CPUS <= cpus else max((cpus - IO_TASK_CPUS) / workers, 0.01)
    if abs(need - IO_TASK_CPUS) < 1e-3:  # equal requests would fuse decoding into the actor
        need -= 0.01
    if gpus_per_worker > 0 and workers * gpus_per_worker > float(total.get("GPU", 0.0)) + 1e-9:
        raise ClusterError(f"{workers} workers x {gpus_per_worker:g} GPU need more GPUs than "
                           f"the cluster has ({float(total.get('GPU', 0.0)):g})")
    return {"num_cpus": round(need, 3), "num_gpus": gpus_per_worker}


def run_cluster(
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
    *,
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    write_in: str = "tasks",
    address: str | None = None,
) -> BatchReport:
    """:func:`core.batch.run_batch` on Ray: the same arguments, plan and report.

    The actors load ``colorizer``'s models folder themselves, so it must be a path every
    node sees (the shipped models are, on one machine). Uses an initialised Ray as it is,
    else joins ``address`` or starts Ray here (and stops it at the end).
    """
    if write_in not in WRITE_STAGES:
        raise ValueError(f"write_in must be one of {WRITE_STAGES}, not {write_in!r}")
    if workers < 1 or batch_size < 1:
        raise ValueError("workers and batch_size must be at least 1")
    if gpus_per_worker < 0:
        raise ValueError("gpus_per_worker must be 0 or more")
    if plan is None:
        plan = plan_batch(inputs, output_dir, export, recursive, options)
    report = BatchReport([], passed_over=list(plan.passed_over))
    for path, reason in plan.problems:
        report.items.append(ItemResult(str(path), None, error=f"{path}: {reason}"))
    for item in report.items:
        if on_item:
            on_item(item)
    finished = _InOrder(on_item)
    todo: list[_Work] = []
    for n, target in enumerate(plan.targets):
        if target.done:
            finished.add(n, skipped_item(target, options))
        else:
            todo.append(_Work(n, target))
    if todo:
        settings = _Settings(str(Path(colorizer.store.root).resolve()), colorizer.architecture,
                             options, export, write_in == "actor")
        _run(report, finished, todo, len(plan.targets), settings, workers, gpus_per_worker,
             batch_size, address, progress, cancelled)
        if not (report.stopped or report.cancelled):
            # Every worker of this run is done: a temp file left by one that was killed
            # mid-write (and retried) goes now, not at the next run's planning.
            for folder in plan.folders:
                clean_temp_files(folder)
    elif progress:
        progress(BatchProgress(len(plan.targets), len(plan.targets), "", 0.0,
                               len(report.failed)))
    report.items += finished.flush()
    return report


class _InOrder:
    """Items arrive in any order; ``on_item`` (the CLI's report file) gets them in the
    plan's order, as from the local engine, each as soon as all before it are in."""

    def __init__(self, on_item: Callable[[ItemResult], None] | None):
        self.on_item = on_item
        self.items: dict[int, ItemResult] = {}
        self.next = 0

    def add(self, n: int, item: ItemResult) -> None:
        self.items[n] = item
        while self.next in self.items:
            if self.on_item:
                self.on_item(self.items[self.next])
            self.next += 1

    def failed(self) -> int:
        return sum(1 for i in self.items.values() if i.error)

    def flush(self) -> list[ItemResult]:
        """Every item in plan order; those held back (a gap: photos not started) go out."""
        for n in sorted(k for k in self.items if k >= self.next):
            if self.on_item:
                self.on_item(self.items[n])
        return [self.items[n] for n in sorted(self.items)]


def _run(report: BatchReport, finished: _InOrder, todo: list[_Work],
         total: int, settings: _Settings, workers: int, gpus_per_worker: float,
         batch_size: int, address: str | None,
         progress: Callable[[BatchProgress], None] | None,
         cancelled: Callable[[], bool] | None) -> None:
    """Stream ``todo`` through Ray Data; each finished item goes into ``finished``."""
    ray = require_ray()
    started = connect(address)
    try:
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver's own progress line reports
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # we said so
        # Rows are Python objects on purpose (_Work): not a warning worth a user's time.
        logging.getLogger("ray.data._internal.tensor_extensions.arrow").setLevel(logging.ERROR)
        actor = _actor_resources(ray, workers, gpus_per_worker)
        ds = ray.data.from_items([{"work": w} for w in todo],
                                 override_num_blocks=max(1, -(-len(todo) // batch_size)))
        ds = ds.map_batches(_read, fn_kwargs={"options": settings.options},
                            batch_size=batch_size, num_cpus=IO_TASK_CPUS)
        ds = ds.map_batches(
            _ColorizeActor, fn_constructor_args=(settings,), batch_size=batch_size,
            # Ray Data restarts a dead actor and retries its batch: it gives pool actors
            # max_restarts=-1 and max_task_retries=-1 unless told otherwise.
            compute=ray.data.ActorPoolStrategy(size=workers), **actor,
        )
        if not settings.write_in_actor:
            ds = ds.map_batches(_write, fn_kwargs={"settings": settings},
                                batch_size=batch_size, num_cpus=IO_TASK_CPUS)
        t0 = time.perf_counter()
        count = total - len(todo)
        for row in ds.iter_rows():
            w: _Work = row["work"]
            assert w.item is not None
            finished.add(w.n, w.item)
            count += 1
            if progress:
                progress(BatchProgress(count, total, w.item.input, time.perf_counter() - t0,
                                       len(report.failed) + finished.failed()))
            if w.stop:  # what the local engine stops for stops this batch too
                report.stopped = w.item.error
                report.disk_full = w.disk_full
                break
            if cancelled is not None and cancelled():
                report.cancelled = True
                break
        report.not_started = total - count if (report.stopped or report.cancelled) else 0
    finally:
        if started:
            ray.shutdown()
