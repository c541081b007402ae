"""Batch bookkeeping per photo vs batch size: the output plan and the job's writer.

``python benchmarks/bench_plan.py [--sizes 100 5000] [--write 200]``

For each size N it makes N tiny PNG inputs in a temp folder and times
* planning all N (naming, collisions, ledger, originals set, listing), per photo;
* writing ``--write`` outputs through ``core.job.write_outputs`` (temp file, fsync,
  ledger line, link, folder fsync) with the plan's N originals protected, per photo;
* a re-plan of the finished folder (resume: every output checked against the ledger).
No models run: this is what the batch adds around inference, which must not grow with N
(before, the originals check alone cost O(N) per photo: 0.22 s vs 0.06 s at 5,000).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.job import write_outputs
from core.outputs import plan_outputs
from core.photo import load_photo


def run(n: int, n_write: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tinct-bench-plan-") as tmp:
        src = Path(tmp) / "scans"
        src.mkdir()
        tiny = np.full((4, 4, 3), 90, np.uint8)
        Image.fromarray(tiny).save(src / "p0.png")
        data = (src / "p0.png").read_bytes()
        for i in range(1, n):
            (src / f"p{i}.png").write_bytes(data)
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        plan = plan_outputs([src], out)
        t_plan = time.perf_counter() - t0
        photo = load_photo(src / "p0.png")
        rgb = np.full((4, 4, 3), 0.5, np.float32)
        targets = plan.targets[:n_write]
        t0 = time.perf_counter()
        for t in targets:
            write_outputs(t, photo, rgb)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = plan_outputs([src], out)
        t_replan = time.perf_counter() - t0
        assert sum(t.done for t in again.targets) == len(targets)
    return {"plan_ms": 1000 * t_plan / n, "write_ms": 1000 * t_write / len(targets),
            "replan_ms": 1000 * t_replan / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 5000])
    ap.add_argument("--write", type=int, default=200, help="outputs written per size")
    args = ap.parse_args()
    print("| inputs | plan / photo | write / photo | resume re-plan / photo |")
    print("|---:|---:|---:|---:|")
    for n in args.sizes:
        r = run(n, min(args.write, n))
        print(f"| {n} | {r['plan_ms']:.2f} ms | {r['write_ms']:.2f} ms | "
              f"{r['replan_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
