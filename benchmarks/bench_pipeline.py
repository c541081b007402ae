#!/usr/bin/env python
"""Per-stage wall time and memory of Tinct's colorization pipeline.

    python benchmarks/bench_pipeline.py [--models DIR] [--repeat N] [--json OUT]

What it measures, in this order, in one process (models are loaded once):

* model load, cold: importing Keras/TensorFlow, then the first
  ``Colorizer.load()`` (reads every model and builds every graph);
* for a 1 MP (1224x816) and a 12 MP (4000x3000) photo, each stage timed
  separately, median of ``--repeat`` runs after one warm-up run:
  decode (``load_photo`` of a JPEG on disk), lightness at full resolution,
  resize to the model's input, encoder + classifier, colorize (decoders +
  annealed mean = ``render`` minus compose), compose (ab upsampled onto the
  full-resolution L, Lab -> RGB), save as JPEG q92 and as PNG
  (``core.export.write_result``), and end to end (``load_photo`` ->
  ``Colorizer.colorize`` -> JPEG q92), the number the 1 s target is about;
* batch throughput: a folder of 1 MP JPEGs through ``core.batch.run_batch``;
* peak memory: a child process per size loads the models, runs the photo end
  to end once, then runs each stage with the kernel's peak-RSS counter
  (VmHWM) reset before it (``/proc/self/clear_refs``), so each stage's own
  peak above the resident set before it is known. (A child's ru_maxrss is
  useless here: Linux carries the parent's high-water mark across fork/exec,
  so it would report the benchmark parent's peak; VmHWM belongs to the new
  address space. The parent's own ru_maxrss, the peak of the whole run, is
  printed as well.)

The test photos are built from the repo's own figures (benchmarks/photos.py;
no download, nothing beyond ``pip install -e .``): cropped to 3:2 or 4:3,
upscaled with cv2.INTER_CUBIC, turned into a faded, slightly sepia, grainy
"old print" and saved as JPEG q90 in a temp folder.

``io_floor`` is what any colorizer of this photo must at least do with the
same libraries: decode it (``load_photo``), the Lab round trip at full size
(RGB -> Lab, Lab -> RGB) and encode the JPEG (``write_result``); the end to end
time is compared with it (#12's target: <= 1.5x).

Other programs on the machine slow every number down: the script prints the
load average and how many cores other processes used while it ran.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.photos import SIZES, make_folder, old_photo, write_jpeg  # noqa: E402

#: The target of the performance issue (#12): a 12 MP photo, models loaded, 2 cores.
TARGET_12MP_E2E_S = 0.25
#: ... and at most this multiple of its I/O floor (decode + Lab round trip + encode).
TARGET_FLOOR_RATIO = 1.5
#: ... a batch of 12 MP JPEGs at least this many photos a minute, 1 MP ones per second.
TARGET_BATCH12_PER_MIN = 150
TARGET_BATCH_PER_S = 20
#: ... and a 12 MP photo's peak memory at most this (MiB).
TARGET_PEAK_MIB = 1024

STAGES = [
    # key, label
    ("decode", "decode JPEG (load_photo)"),
    ("lightness", "lightness L, full res"),
    ("resize", "resize L to model input + gray"),
    ("encode", "encoder + classifier"),
    ("analyze", "= analyze (classify+encode)"),
    ("colorize", "colorize (decoders + decoding) = render - compose"),
    ("colorize_direct", "(colorize timed alone: _predict_ab)"),
    ("compose", "compose (edge-aware ab upsample + Lab->RGB, to uint8 since #12)"),
    ("render", "= render (colorize + compose)"),
    ("save_jpg", "save JPEG q92 (write_result; of uint8 since #12)"),
    ("save_png", "save PNG (reference)"),
    ("e2e", "**end to end** (load -> colorize -> JPEG)"),
    ("io_floor", "I/O floor (decode + Lab round trip + JPEG encode)"),
]


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info(backend: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "backend": backend,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(ram_gib(), 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "keras": "-", "keras_backend": "-", "device": "CPU",
    }
    with contextlib.suppress(ImportError):
        import PIL

        info["pillow"] = PIL.__version__
    if backend == "litert":
        from importlib import metadata

        info["litert"] = metadata.version("ai-edge-litert")
        return info
    return {**info, **_keras_info()}


def _keras_info() -> dict[str, Any]:
    from core.backend import device_name, keras

    k = keras()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(ram_gib(), 1),
        "python": platform.python_version(),
        "keras": k.__version__,
        "keras_backend": k.backend.backend(),
        "device": device_name(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
    }
    if k.backend.backend() == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    with contextlib.suppress(ImportError):
        import PIL

        info["pillow"] = PIL.__version__
    return info


class CpuWatch:
    """How many cores *other* processes kept busy between start and stop (from /proc/stat)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.busy0 = self._busy()
        self.own0 = self._own()

    @staticmethod
    def _busy() -> float | None:
        line = _read("/proc/stat").splitlines()[:1]
        if not line or not line[0].startswith("cpu "):
            return None
        v = [int(x) for x in line[0].split()[1:]]
        busy = sum(v[:8]) - v[3] - v[4]  # all but idle and iowait
        return busy / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def others(self) -> float | None:
        busy = self._busy()
        if busy is None or self.busy0 is None:
            return None
        wall = time.perf_counter() - self.t0
        return max(0.0, (busy - self.busy0) - (self._own() - self.own0)) / max(wall, 1e-9)


def wait_until_quiet(max_wait_s: float, threshold: float = 0.3, window_s: float = 3.0) -> float:
    """Wait (at most ``max_wait_s``) until other processes use < ``threshold`` cores."""
    t0 = time.perf_counter()
    while True:
        w = CpuWatch()
        time.sleep(window_s)
        busy = w.others()
        if busy is None or busy < threshold or time.perf_counter() - t0 >= max_wait_s:
            return busy if busy is not None else float("nan")
        print(f"others busy ({busy:.2f} cores); waiting ...", file=sys.stderr)


# --------------------------------------------------------------------------- photos


def make_photos(workdir: Path, batch_count: int, batch12_count: int = 0) -> dict[str, Any]:
    """The two benchmark photos and the batch folders (benchmarks/photos.py); their paths."""
    out: dict[str, Any] = {}
    for i, (name, size) in enumerate(SIZES.items()):
        out[name] = write_jpeg(workdir / f"photo_{size[0]}x{size[1]}.jpg",
                               old_photo("road", size, seed=i))
    out["batch"] = make_folder(workdir / "batch_in", batch_count, SIZES["1 MP"])
    if batch12_count:
        out["batch12"] = make_folder(workdir / "batch12_in", batch12_count, SIZES["12 MP"])
    return out


# --------------------------------------------------------------------------- timing


def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> dict[str, Any]:
    """Wall and process-CPU seconds of ``fn``: median/min of ``repeat`` after ``warmup``."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "median_s": statistics.median(wall),
        "min_s": min(wall),
        "max_s": max(wall),
        "cpu_median_s": statistics.median(cpu),
        "runs_s": [round(x, 5) for x in wall],
    }


class Outputs:
    """Fresh output paths, so every save really writes a new file."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.n = 0

    def next(self, suffix: str) -> Path:
        self.n += 1
        return self.folder / f"out_{self.n:05d}{suffix}"

    def clean(self) -> None:
        for p in self.folder.glob("out_*"):
            p.unlink()


def stage_functions(colorizer: Any, path: Path, outputs: Outputs) -> dict[str, Callable[[], Any]]:
    """One callable per stage, each repeating exactly what the pipeline does."""
    from core import engine, lab
    from core.export import ExportOptions, write_result
    from core.photo import load_photo

    photo = load_photo(path)
    analysis = colorizer.analyze(photo.rgb)
    _, weights, _ = colorizer.plan(analysis)
    ab = colorizer._predict_ab(analysis, weights)
    jpg = ExportOptions(fmt="jpg", quality=92, overwrite=True)
    png = ExportOptions(fmt="png", overwrite=True)
    # The pixels the batch and the CLI render for an 8-bit output (uint8 since #12;
    # older engines: float, converted by the writer).
    out8 = {"dtype": jpg.result_dtype(photo)} if hasattr(jpg, "result_dtype") else {}
    # Edge-aware upsampling onto L + Lab -> RGB (older engines: lab.compose alone).
    compose = getattr(colorizer, "compose", None)
    compose = (lambda a, x: colorizer.compose(a, x, **out8)) if compose else \
        (lambda a, x: lab.compose(a.L, x))
    rgb = compose(analysis, ab)
    size = colorizer.store.input_size
    lightness = getattr(engine, "_lightness", lab.luminance)
    predict = getattr(engine, "_predict", lambda m, x: m.predict_on_batch(x))  # older engines
    gray = lab.gray_rgb(cv2.resize(analysis.L, (size, size), interpolation=cv2.INTER_AREA))
    batch = gray[None, ..., None].astype(np.float32)

    def encode() -> Any:
        with colorizer._lock:
            feats = predict(colorizer.store.encoder(), batch)
            feats = feats if isinstance(feats, list) else [feats]
            return predict(colorizer.store.classifier(), feats[-1])

    def e2e() -> Any:
        p = load_photo(path)
        r = colorizer.colorize(p.rgb, **out8)
        return write_result(p, r.rgb, outputs.next(".jpg"), jpg)

    def io_floor() -> Any:
        p = load_photo(path)
        rgb = lab.lab_to_rgb(lab.rgb_to_lab(p.rgb))
        return write_result(p, rgb, outputs.next(".jpg"), jpg)

    return {
        "decode": lambda: load_photo(path),
        "lightness": lambda: lightness(photo.rgb),
        "resize": lambda: lab.gray_rgb(
            cv2.resize(analysis.L, (size, size), interpolation=cv2.INTER_AREA)),
        "encode": encode,
        "analyze": lambda: colorizer.analyze(photo.rgb),
        "colorize_direct": lambda: colorizer._predict_ab(analysis, weights),
        "compose": lambda: compose(analysis, ab),
        "render": lambda: colorizer.render(analysis, **out8),
        "save_jpg": lambda: write_result(photo, rgb, outputs.next(".jpg"), jpg),
        "save_png": lambda: write_result(photo, rgb, outputs.next(".png"), png),
        "e2e": e2e,
        "io_floor": io_floor,
    }


def bench_size(colorizer: Any, path: Path, repeat: int, outputs: Outputs) -> dict[str, Any]:
    fns = stage_functions(colorizer, path, outputs)
    res: dict[str, Any] = {}
    for key, fn in fns.items():
        res[key] = measure(fn, repeat)
        outputs.clean()
    # The brief's definition of "colorize": render minus compose (medians).
    res["colorize"] = {
        "median_s": max(0.0, res["render"]["median_s"] - res["compose"]["median_s"]),
        "min_s": max(0.0, res["render"]["min_s"] - res["compose"]["min_s"]),
        "cpu_median_s": max(0.0, res["render"]["cpu_median_s"] - res["compose"]["cpu_median_s"]),
        "derived": "render - compose",
    }
    return res


def bench_batch(colorizer: Any, folder: Path, workdir: Path, repeat: int) -> dict[str, Any]:
    from core.batch import run_batch
    from core.export import ExportOptions

    n = sum(1 for _ in folder.iterdir())
    runs = []
    for i in range(repeat):
        out = workdir / f"batch_out_{folder.name}_{i}"
        t0 = time.perf_counter()
        report = run_batch([folder], out, colorizer, export=ExportOptions(fmt="jpg", quality=92))
        dt = time.perf_counter() - t0
        failed = [it.error for it in report.items if it.error]
        if failed:
            raise RuntimeError(f"batch failed: {failed[:3]}")
        runs.append(dt)
        shutil.rmtree(out, ignore_errors=True)
    med = statistics.median(runs)
    return {"photos": n, "seconds_median": med, "seconds_runs": [round(x, 3) for x in runs],
            "photos_per_s": n / med, "s_per_photo": med / n}


def bench_flat(colorizer: Any, folder: Path, workdir: Path, count: int) -> dict[str, Any]:
    """RSS over a long batch: ``count`` photos (hard links to ``folder``'s files)."""
    from core.batch import run_batch
    from core.export import ExportOptions

    src = sorted(folder.iterdir())
    big = workdir / f"flat_{folder.name}"
    big.mkdir()
    for i in range(count):
        os.link(src[i % len(src)], big / f"{i:05d}{src[i % len(src)].suffix}")
    rss: list[float] = []
    t0 = time.perf_counter()
    report = run_batch([big], workdir / f"flat_out_{folder.name}", colorizer,
                       export=ExportOptions(fmt="jpg", quality=92),
                       on_item=lambda _: rss.append(_status_kib("VmRSS") / 1024))
    dt = time.perf_counter() - t0
    failed = [it.error for it in report.items if it.error]
    if failed:
        raise RuntimeError(f"batch failed: {failed[:3]}")
    shutil.rmtree(workdir / f"flat_out_{folder.name}", ignore_errors=True)
    tenth = max(1, len(rss) // 10)
    return {"photos": len(rss), "seconds": dt, "photos_per_s": len(rss) / dt,
            "rss_mib_first_tenth_max": max(rss[:tenth]),
            "rss_mib_last_tenth_max": max(rss[-tenth:]), "rss_mib_max": max(rss),
            "rss_mib_every_100": [round(x) for x in rss[::100]]}


# --------------------------------------------------------------------------- memory

_CHILD_FLAG = "--_memory-child"


def _status_kib(field: str) -> int | None:
    for line in _read("/proc/self/status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_child(models: str | None, photo: str, backend: str | None = None) -> dict[str, Any]:
    """Run in a fresh process: RSS after load and each stage's peak above its start."""
    from core.engine import Colorizer

    out: dict[str, Any] = {"rss_start_mib": _status_kib("VmRSS") / 1024}
    colorizer = Colorizer(models, backend=backend)
    colorizer.load()
    out["rss_after_load_mib"] = _status_kib("VmRSS") / 1024
    # Model loading's own peak (graph building): VmHWM of this fresh address space.
    out["load_peak_mib"] = _status_kib("VmHWM") / 1024
    highest = out["load_peak_mib"]
    with tempfile.TemporaryDirectory(prefix="tinct-mem-") as tmp:
        outputs = Outputs(Path(tmp))
        can_reset = _reset_peak()
        before = _status_kib("VmRSS") / 1024
        # The first photo, cold: what a user's first photo after start-up costs.
        from core.export import ExportOptions, write_result
        from core.photo import load_photo

        p = load_photo(photo)
        write_result(p, colorizer.colorize(p.rgb).rgb, outputs.next(".jpg"),
                     ExportOptions(fmt="jpg", quality=92, overwrite=True))
        del p
        if can_reset:
            hwm = _status_kib("VmHWM") / 1024
            out["first_e2e_peak_above_loaded_mib"] = hwm - before
            highest = max(highest, hwm)
        outputs.clean()
        fns = stage_functions(colorizer, Path(photo), outputs)
        peaks: dict[str, float] = {}
        out["per_stage_method"] = "VmHWM reset via /proc/self/clear_refs" if can_reset else \
            "ru_maxrss growth only (clear_refs unavailable): lower bounds"
        for key, fn in fns.items():
            if can_reset:
                _reset_peak()
                rss0 = _status_kib("VmRSS")
                fn()
                hwm = _status_kib("VmHWM")
                peaks[key] = (hwm - rss0) / 1024
                highest = max(highest, hwm / 1024)
            else:
                m0 = _maxrss_mib()
                fn()
                peaks[key] = _maxrss_mib() - m0
            outputs.clean()
        out["stage_peak_above_rss_mib"] = peaks
    # The child's peak: the highest VmHWM seen (VmHWM is reset between stages).
    out["process_peak_mib"] = max(highest, _status_kib("VmHWM") / 1024)
    return out


def memory_in_child(models: str | None, photo: Path, backend: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), _CHILD_FLAG, str(photo),
           "--backend", backend]
    if models:
        cmd += ["--models", models]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- profile


def profile_e2e(colorizer: Any, path: Path, outputs: Outputs, top: int = 25) -> str:
    fn = stage_functions(colorizer, path, outputs)["e2e"]
    fn()
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    outputs.clean()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# --------------------------------------------------------------------------- report


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:,.0f}"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m.get('cores_usable')} usable), "
        f"{m['ram_gib']} GiB RAM",
        f"- inference backend **{m['backend']}** (LiteRT {m.get('litert', '-')}); "
        f"Python {m['python']}, TensorFlow {m.get('tensorflow', '-')}, Keras {m['keras']} "
        f"(backend {m['keras_backend']}), device {m['device']}, NumPy {m['numpy']}, "
        f"OpenCV {m['opencv']} ({m['opencv_threads']} threads), Pillow {m.get('pillow', '-')}",
        f"- load average (1/5/15 min) before {result['load_before']}, after "
        f"{result['load_after']}; other processes kept "
        f"{result['other_cores_busy']:.2f} cores busy on average during the run"
        if result.get("other_cores_busy") is not None else
        f"- load average before {result['load_before']}, after {result['load_after']}",
        "",
        "## Model load (cold, once per process)",
        "",
        f"- import the runtime (Keras + TensorFlow, or LiteRT): "
        f"{result['load']['import_s']:.2f} s",
        f"- first `Colorizer.load()` (encoder + classifier, warmed; decoders load lazily): "
        f"{result['load']['load_s']:.2f} s",
        f"- RSS after load: {result['load']['rss_mib']:.0f} MiB; peak while loading "
        f"(ru_maxrss): {result['load']['peak_mib']:.0f} MiB; peak of this whole benchmark "
        f"process (ru_maxrss): {result['run_maxrss_mib']:.0f} MiB",
        "",
        f"## Per stage, models loaded (median of {result['repeat']} after a warm-up; ms)",
        "",
    ]
    names = list(result["sizes"])
    head = "| stage |" + "".join(f" {n} median | {n} min |" for n in names)
    head += f" {names[-1]} CPU |"
    lines += [head, "|---|" + "---:|" * (2 * len(names) + 1)]
    for key, label in STAGES:
        row = f"| {label} |"
        for n in names:
            s = result["sizes"][n][key]
            row += f" {ms(s['median_s'])} | {ms(s['min_s'])} |"
        row += f" {ms(result['sizes'][names[-1]][key]['cpu_median_s'])} |"
        lines.append(row)
    big = result["sizes"][names[-1]]
    e2e, floor = big["e2e"]["median_s"], big["io_floor"]["median_s"]
    verdict = "meets" if e2e <= TARGET_12MP_E2E_S else "misses"
    lines += [
        "",
        f"CPU = process CPU time (all threads); CPU > wall means the stage ran on several "
        f"cores. {names[-1]} end to end: {e2e:.3f} s median ({verdict} the "
        f"{TARGET_12MP_E2E_S} s target), {e2e / floor:.2f}x its I/O floor of {floor:.3f} s "
        f"(target <= {TARGET_FLOOR_RATIO}x).",
        "",
    ]
    b = result.get("batch")
    if b:
        lines += [
            "## Batch (core.batch.run_batch, 1 MP JPEGs -> JPEG q92)",
            "",
            f"- {b['photos']} photos in {b['seconds_median']:.2f} s (median of "
            f"{len(b['seconds_runs'])}): **{b['photos_per_s']:.2f} photos/s**, "
            f"{b['s_per_photo'] * 1000:.0f} ms per photo",
            "",
        ]
    b = result.get("batch12")
    if b:
        lines += [
            "## Batch (core.batch.run_batch, 12 MP JPEGs -> JPEG q92)",
            "",
            f"- {b['photos']} photos in {b['seconds_median']:.2f} s: "
            f"**{b['photos_per_s'] * 60:.0f} photos/min**, "
            f"{b['s_per_photo'] * 1000:.0f} ms per photo",
            "",
        ]
    for key, label in (("flat", "1 MP"), ("flat12", "12 MP")):
        f = result.get(key)
        if f:
            lines += [
                f"## Memory over a long batch ({f['photos']} x {label}, run_batch, RSS)",
                "",
                f"- {f['photos_per_s']:.2f} photos/s; RSS max {f['rss_mib_max']:.0f} MiB; max "
                f"in the first tenth {f['rss_mib_first_tenth_max']:.0f} MiB, in the last tenth "
                f"{f['rss_mib_last_tenth_max']:.0f} MiB; every 100th photo: "
                f"{f['rss_mib_every_100']}",
                "",
            ]
    mem = result.get("memory")
    if mem:
        lines += ["## Peak memory (fresh process per size; MiB)", ""]
        keys = [k for k, _ in STAGES if k != "colorize"]
        labels = dict(STAGES)
        lines += ["| | " + " | ".join(mem) + " |", "|---|" + "---:|" * len(mem)]
        rows = [("RSS after model load", "rss_after_load_mib"),
                ("peak while loading models (VmHWM)", "load_peak_mib"),
                ("process peak, whole child (VmHWM; the harness holds a photo's arrays)",
                 "process_peak_mib"),
                ("first photo end to end: peak above loaded RSS",
                 "first_e2e_peak_above_loaded_mib")]
        for label, k in rows:
            lines.append(f"| {label} | " + " | ".join(
                f"{mem[n].get(k, float('nan')):,.0f}" for n in mem) + " |")
        for k in keys:
            lines.append(f"| stage peak above RSS: {labels[k]} | " + " | ".join(
                f"{mem[n].get('stage_peak_above_rss_mib', {}).get(k, float('nan')):,.0f}"
                for n in mem) + " |")
        lines.append("")
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> str:
    """The issue-12 targets this run measured, one line each, with the load they ran at."""
    lines = ["## Targets (#12; 2 cores)", ""]
    big = result["sizes"].get("12 MP")
    if big:
        e2e, floor = big["e2e"]["median_s"], big["io_floor"]["median_s"]
        lines += [
            f"- 12 MP end to end: **{e2e:.3f} s** median (target <= {TARGET_12MP_E2E_S} s: "
            f"{'met' if e2e <= TARGET_12MP_E2E_S else 'missed'})",
            f"- ... / its I/O floor ({floor:.3f} s): **{e2e / floor:.2f}x** (target <= "
            f"{TARGET_FLOOR_RATIO}x: {'met' if e2e / floor <= TARGET_FLOOR_RATIO else 'missed'})",
        ]
    b = result.get("batch12")
    if b:
        per_min = b["photos_per_s"] * 60
        lines.append(f"- 12 MP batch ({b['photos']} photos): **{per_min:.0f} photos/min** "
                     f"(target >= {TARGET_BATCH12_PER_MIN}: "
                     f"{'met' if per_min >= TARGET_BATCH12_PER_MIN else 'missed'})")
    b = result.get("batch")
    if b:
        lines.append(f"- 1 MP batch ({b['photos']} photos): **{b['photos_per_s']:.1f} "
                     f"photos/s** (target >= {TARGET_BATCH_PER_S}: "
                     f"{'met' if b['photos_per_s'] >= TARGET_BATCH_PER_S else 'missed'})")
    peak = (result.get("memory") or {}).get("12 MP", {}).get("process_peak_mib")
    if peak:
        lines.append(f"- peak RSS, 12 MP photo: **{peak:.0f} MiB** (target <= "
                     f"{TARGET_PEAK_MIB}: {'met' if peak <= TARGET_PEAK_MIB else 'missed'})")
    others = result.get("other_cores_busy")
    lines.append(f"- load average before {result['load_before']}, after {result['load_after']}"
                 + (f"; other processes kept {others:.2f} cores busy" if others is not None
                    else "") + " (targets are for a quiet machine)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=None, help="models folder (default: TINCT_MODELS or "
                    "the shipped models/)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per stage (default 5)")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    ap.add_argument("--batch-count", type=int, default=20, help="1 MP photos in the batch")
    ap.add_argument("--batch-repeat", type=int, default=2, help="timed batch runs")
    ap.add_argument("--batch12-count", type=int, default=12,
                    help="12 MP photos in a batch (default 12; 0: none)")
    ap.add_argument("--backend", choices=("litert", "tf"), default="litert")
    ap.add_argument("--flat", type=int, default=0, metavar="N",
                    help="RSS over a batch of N 1 MP photos (hard links)")
    ap.add_argument("--flat12", type=int, default=0, metavar="N",
                    help="RSS over a batch of N 12 MP photos (hard links)")
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    ap.add_argument("--profile", action="store_true",
                    help="also print a cProfile of one 12 MP end-to-end run")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="first wait up to S seconds until other processes use < 0.3 cores")
    ap.add_argument(_CHILD_FLAG, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._memory_child:
        print(json.dumps(memory_child(args.models, args._memory_child, args.backend)))
        return 0

    if args.wait_quiet > 0:
        wait_until_quiet(args.wait_quiet)
    watch = CpuWatch()
    result: dict[str, Any] = {"load_before": loadavg(), "repeat": args.repeat}
    t0 = time.perf_counter()
    if args.backend == "tf":
        from core.backend import keras

        keras()
    else:
        from core.backend import preload

        preload("litert")
    import_s = time.perf_counter() - t0
    from core.engine import Colorizer

    colorizer = Colorizer(args.models, backend=args.backend)
    t0 = time.perf_counter()
    colorizer.load()
    load_s = time.perf_counter() - t0
    result["load"] = {"import_s": import_s, "load_s": load_s,
                      "models": 2 + len(colorizer.store.colorizers(colorizer.architecture)),
                      "rss_mib": _status_kib("VmRSS") / 1024,
                      "peak_mib": _maxrss_mib()}
    result["machine"] = machine_info(args.backend)
    result["models_dir"] = str(colorizer.store.root)
    print(f"models loaded in {import_s:.1f} s (import) + {load_s:.1f} s (load)", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="tinct-bench-") as tmp:
        work = Path(tmp)
        photos = make_photos(work, args.batch_count, args.batch12_count)
        (work / "out").mkdir()
        outputs = Outputs(work / "out")
        result["sizes"] = {}
        for name in args.sizes:
            print(f"timing {name} ...", file=sys.stderr)
            result["sizes"][name] = bench_size(colorizer, photos[name], args.repeat, outputs)
        if args.batch_count > 0:
            print(f"batch of {args.batch_count} ...", file=sys.stderr)
            result["batch"] = bench_batch(colorizer, photos["batch"], work, args.batch_repeat)
        if args.batch12_count > 0:
            print(f"12 MP batch of {args.batch12_count} ...", file=sys.stderr)
            result["batch12"] = bench_batch(colorizer, photos["batch12"], work, 1)
        if args.flat:
            print(f"RSS over {args.flat} 1 MP photos ...", file=sys.stderr)
            result["flat"] = bench_flat(colorizer, photos["batch"], work, args.flat)
        if args.flat12 and "batch12" in photos:
            print(f"RSS over {args.flat12} 12 MP photos ...", file=sys.stderr)
            result["flat12"] = bench_flat(colorizer, photos["batch12"], work, args.flat12)
        if args.profile:
            result["profile_12mp_e2e"] = profile_e2e(colorizer, photos["12 MP"], outputs)
        if not args.no_memory:
            print("peak memory (child processes) ...", file=sys.stderr)
            result["memory"] = {n: memory_in_child(args.models, photos[n], args.backend)
                                for n in args.sizes}
    result["load_after"] = loadavg()
    result["run_maxrss_mib"] = _maxrss_mib()
    result["other_cores_busy"] = watch.others()

    text = markdown(result) + "\n" + targets(result)
    print(text)
    if args.profile:
        print("## cProfile, one 12 MP end-to-end run (by own time)\n\n```")
        print(result["profile_12mp_e2e"])
        print("```")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
