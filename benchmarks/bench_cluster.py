#!/usr/bin/env python
"""Photos per second: the local engine vs ``--engine ray`` with 1 and 2 workers.

    python benchmarks/bench_cluster.py [--models DIR] [--count 32] [--json OUT]
                                       [--photos DIR] [--num-cpus 2]

Every configuration colours the same photos (1 MP "old prints" made from scikit-image's
samples, as bench_pipeline.py makes them, or the first ``--count`` files of ``--photos``)
into a fresh output folder, one after the other in one run:

* ``local``: ``core.batch.run_batch`` with a loaded Colorizer (this process);
* ``ray Nw``: ``core.cluster.run_cluster`` on a local Ray started once (``--num-cpus``
  logical CPUs, a 256 MiB object store), N colorizer actors, decoding and writing in Ray
  tasks; ``ray Nw, write in actor``: the same with the writes done in the actor.

Two rates per configuration: **wall** (all photos / the whole call, model loading and actor
start-up included) and **steady** (the second half of the photos / the time they took to
come back, i.e. once every stage is warm): the number to scale from. The start-up of Ray
itself (``ray.init``) is timed once on its own. The machine and its load (load average,
cores busy machine-wide) are printed with the numbers: on a shared machine they matter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_pipeline import (  # noqa: E402
    SIZES,
    SOURCES,
    loadavg,
    machine_info,
    old_photo,
    write_jpeg,
)


def make_photos(folder: Path, count: int, source: Path | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None:
        from core.batch import is_photo_file

        files = sorted(p for p in source.rglob("*") if p.is_file() and is_photo_file(p))
        return files[:count]
    w, h = SIZES["1 MP"]
    out = []
    for i in range(count):
        src = SOURCES[i % len(SOURCES)]
        rgb = old_photo(src, (w, h) if i % 3 else (h, w), seed=100 + i, sepia=i % 4 != 3)
        out.append(write_jpeg(folder / f"{i:03d}_{src}.jpg", rgb))
    return out


class Timeline:
    """When each photo came back (seconds since the call started)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.times: list[float] = []

    def __call__(self, item: Any) -> None:
        self.times.append(time.perf_counter() - self.t0)

    def rates(self, n: int) -> dict[str, Any]:
        """Wall rate, and the steady rate: photos after the first batch came back over the
        time they took (results arrive a batch at a time)."""
        wall = time.perf_counter() - self.t0
        t = self.times
        first = t[0] if t else 0.0
        after = [x for x in t if x > first + 1e-3]
        steady = None
        if after and after[-1] > first:
            steady = len(after) / (after[-1] - first)
        return {"seconds": round(wall, 2), "wall_photos_s": round(n / wall, 3),
                "first_result_s": round(first, 2),
                "steady_photos_s": None if steady is None else round(steady, 3),
                "arrivals_s": [round(x, 3) for x in t]}


def machine_busy() -> tuple[float, float]:
    """CPU seconds all processes have used (Ray's workers are not our children) and now."""
    line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    v = [int(x) for x in line]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), time.perf_counter()


def run_config(name: str, fn: Any, n: int) -> dict[str, Any]:
    print(f"{name} ...", file=sys.stderr, flush=True)
    busy0, t0 = machine_busy()
    load0 = loadavg()
    tl = Timeline()
    report = fn(tl)
    rates = tl.rates(n)
    busy1, t1 = machine_busy()
    failed = [i.error for i in report.items if i.error]
    assert not failed and len(report.written) == n, (name, failed[:3], len(report.written))
    row = {"config": name, **rates, "load_before": load0, "load_after": loadavg(),
           "machine_busy_cores": round((busy1 - busy0) / (t1 - t0), 2)}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def bench_plan(count: int) -> dict[str, Any]:
    """Seconds the driver takes to list and plan ``count`` files (in 100 folders) into a
    fresh output folder, before any photo is read."""
    from core.batch import plan_batch
    from core.export import ExportOptions

    work = Path(tempfile.mkdtemp(prefix="tinct-bench-plan-"))
    src = work / "in"
    for n in range(count):
        folder = src / f"f{n % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:07d}.jpg").write_bytes(b"\xff\xd8\xff")
    out = work / "out"
    t = time.perf_counter()
    plan = plan_batch([src], out, ExportOptions(), recursive=True)
    fresh = time.perf_counter() - t
    assert len(plan.targets) == count and not plan.problems, plan.problems[:3]
    return {"files": count, "folders": 100, "plan_s": round(fresh, 3),
            "files_per_s": round(count / fresh), "load": loadavg()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, help="models folder (default: the shipped one)")
    ap.add_argument("--count", type=int, default=32, help="photos per configuration")
    ap.add_argument("--photos", type=Path, help="take the photos from here instead")
    ap.add_argument("--num-cpus", type=int, default=2, help="logical CPUs of the local Ray")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--json", type=Path, help="write every number here")
    ap.add_argument("--skip-actor-writes", action="store_true")
    ap.add_argument("--plan-files", type=int, default=0,
                    help="also time the driver's planning of this many files (then only that)")
    args = ap.parse_args(argv)
    if args.plan_files:
        print(json.dumps(bench_plan(args.plan_files), indent=2))
        return 0

    from core import cluster
    from core.batch import run_batch
    from core.engine import Colorizer

    work = Path(tempfile.mkdtemp(prefix="tinct-bench-cluster-"))
    photos = make_photos(work / "in", args.count, args.photos)
    n = len(photos)
    colorizer = Colorizer(args.models)
    t = time.perf_counter()
    colorizer.load()
    load_s = time.perf_counter() - t
    result: dict[str, Any] = {"machine": machine_info(), "photos": n,
                              "photo_source": str(args.photos) if args.photos else "1 MP JPEG q90",
                              "batch_size": args.batch_size, "local_model_load_s": round(load_s, 2)}
    rows = []

    def local(tl: Timeline) -> Any:
        return run_batch(photos, work / "out_local", colorizer, on_item=tl)

    rows.append(run_config("local", local, n))

    t = time.perf_counter()
    cluster.connect(num_cpus=args.num_cpus)
    result["ray_init_s"] = round(time.perf_counter() - t, 2)
    import ray

    result["ray"] = ray.__version__
    configs = [(1, "tasks"), (2, "tasks")]
    if not args.skip_actor_writes:
        configs += [(1, "actor"), (2, "actor")]
    for workers, write_in in configs:
        name = f"ray {workers}w" + (", write in actor" if write_in == "actor" else "")

        def ray_run(tl: Timeline, workers: int = workers, write_in: str = write_in) -> Any:
            out = work / f"out_ray{workers}_{write_in}"
            return cluster.run_cluster(photos, out, colorizer, workers=workers,
                                       batch_size=args.batch_size, write_in=write_in,
                                       progress=tl)  # once per photo back, as it arrives

        rows.append(run_config(name, ray_run, n))
    ray.shutdown()
    result["runs"] = rows
    print(f"\n{n} photos ({result['photo_source']}), batch {args.batch_size}; "
          f"ray.init {result['ray_init_s']} s, local model load {result['local_model_load_s']} s")
    print("| engine | seconds | first photo back (s) | photos/s (wall) | photos/s (steady) "
          "| load avg before -> after | busy cores |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for r in rows:
        print(f"| {r['config']} | {r['seconds']} | {r['first_result_s']} | "
              f"{r['wall_photos_s']} | {r['steady_photos_s']} | "
              f"{r['load_before'][0]} -> {r['load_after'][0]} | {r['machine_busy_cores']} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
