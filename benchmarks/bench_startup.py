#!/usr/bin/env python
"""Start-up: a fresh ``colorize one.jpg`` process, and the app until "Models ready".

    python benchmarks/bench_startup.py [--models DIR] [--backend litert|tf] [--runs N]

* CLI: wall time of ``python main.py colorize one.jpg -o OUT`` (1 MP JPEG) as a
  fresh process, from exec to exit, median of ``--runs``; and whether the
  process imported TensorFlow (``-X importtime`` of one more run).
* App: a child process builds the window, shows it (offscreen Qt), then starts
  the models as ``python main.py`` does; a 5 ms heartbeat timer in the GUI
  thread records every gap. Reported: seconds from the window shown to
  "Models ready", and the worst heartbeat gap in that span (a GUI-thread
  stall: the window cannot repaint or take input). The same heartbeat without
  any loading (the idle baseline) is measured in the same child first, so
  the load of the machine can be told apart from a real stall.

Prints a JSON object (and a markdown summary on stderr) with ``uptime``'s
load average beside the numbers: other programs on the machine slow all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_APP_CHILD = "--_app-child"


def _env(backend: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    if backend:
        env["TINCT_BACKEND"] = backend
    return env


def cli_runs(photo: Path, models: str | None, backend: str | None, runs: int) -> dict:
    times = []
    with tempfile.TemporaryDirectory(prefix="tinct-start-") as tmp:
        for i in range(runs):
            cmd = [sys.executable, str(ROOT / "main.py"), "colorize", str(photo),
                   "-o", f"{tmp}/out{i}"]
            if models:
                cmd += ["--models", models]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=_env(backend), capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
        cmd = [sys.executable, "-X", "importtime", str(ROOT / "main.py"), "colorize",
               str(photo), "-o", f"{tmp}/imp"] + (["--models", models] if models else [])
        proc = subprocess.run(cmd, env=_env(backend), capture_output=True, text=True)
    imported = sorted({line.split("|")[-1].strip().split(".")[0]
                       for line in proc.stderr.splitlines() if line.startswith("import time")})
    return {"runs_s": [round(t, 3) for t in times], "median_s": statistics.median(times),
            "imports_tensorflow": "tensorflow" in imported, "imports_keras": "keras" in imported}


def app_child(models: str | None) -> dict:
    """In a fresh process: window shown -> 'Models ready', with a GUI-thread heartbeat."""
    t_start = time.perf_counter()
    from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: I001

    from gui.app import build, show

    argv = ["--models", models] if models else []
    app, window, _ = build(argv)
    gaps: list[float] = []
    clock = QElapsedTimer()
    state = {"last": None, "record": False}

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e9
        if state["last"] is not None and state["record"]:
            gaps.append(now - state["last"])
        state["last"] = now

    marks: dict[str, float] = {}
    idle: list[float] = []
    session = window.session

    def start_idle() -> None:  # after the first paint: 1 s of idle heartbeat
        state["record"] = True
        QTimer.singleShot(1000, start_loading)

    def start_loading() -> None:
        idle.extend(gaps)
        gaps.clear()
        marks["shown"] = time.perf_counter()
        window.start_models()

    def check_ready() -> None:
        if "shown" in marks and "ready" not in marks and (
                session.models_ready or session.models_state.name in ("FAILED", "MISSING")):
            marks["ready"] = time.perf_counter()
            app.quit()

    def tick() -> None:
        beat()
        check_ready()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    session.models_changed.connect(check_ready)
    clock.start()
    timer.start()
    show(window)  # as `python main.py` does
    QTimer.singleShot(300, start_idle)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    timer.stop()
    if "ready" not in marks or not session.models_ready:
        raise RuntimeError(f"models not ready: {session.models_message}")
    loading = list(gaps)
    out = {
        "process_to_window_s": round(marks["shown"] - t_start, 3),
        "window_to_models_ready_s": round(marks["ready"] - marks["shown"], 3),
        "worst_gap_loading_ms": round(1000 * max(loading, default=0.0), 1),
        "worst_gap_idle_ms": round(1000 * max(idle, default=0.0), 1),
        "median_gap_idle_ms": round(1000 * statistics.median(idle), 2) if idle else None,
        "beats_loading": len(loading),
        "device": session.device,
        "tensorflow_imported": "tensorflow" in sys.modules,
    }
    window.close()
    return out


def app_runs(models: str | None, backend: str | None, runs: int) -> list[dict]:
    res = []
    for _ in range(runs):
        cmd = [sys.executable, str(Path(__file__).resolve()), _APP_CHILD]
        if models:
            cmd += ["--models", models]
        proc = subprocess.run(cmd, env=_env(backend), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        res.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=None)
    ap.add_argument("--backend", choices=("litert", "tf"), default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", default=None)
    ap.add_argument(_APP_CHILD, action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._app_child:
        os._exit(_print_and_exit(app_child(args.models)))
    from benchmarks.photos import SIZES, old_photo, write_jpeg

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tinct-start-") as tmp:
        photo = write_jpeg(Path(tmp) / "one.jpg", old_photo("road", SIZES["1 MP"]))
        cli = cli_runs(photo, args.models, args.backend, args.runs)
    app = app_runs(args.models, args.backend, args.runs)
    result = {
        "backend": args.backend or "auto",
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "cli_colorize_1mp": cli,
        "app": app,
        "app_ready_median_s": statistics.median(a["window_to_models_ready_s"] for a in app),
        "app_worst_gap_loading_ms": max(a["worst_gap_loading_ms"] for a in app),
        "app_worst_gap_idle_ms": max(a["worst_gap_idle_ms"] for a in app),
    }
    print(json.dumps(result, indent=2))
    print(f"| backend {result['backend']} | CLI 1 MP fresh process {cli['median_s']:.2f} s "
          f"(TF imported: {cli['imports_tensorflow']}) | app ready "
          f"{result['app_ready_median_s']:.2f} s after the window | worst GUI stall while "
          f"loading {result['app_worst_gap_loading_ms']:.0f} ms (idle "
          f"{result['app_worst_gap_idle_ms']:.0f} ms) | load {result['loadavg_before']} |",
          file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _print_and_exit(obj: dict) -> int:
    print(json.dumps(obj), flush=True)
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
