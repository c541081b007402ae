"""Repair before colour: how well damage is found and filled, and how fast.

Quality, on held-out clean photos with simulated damage (:mod:`core.oldprint`):
the **odd**-indexed photos of the shared general/ folder (the detector trains on
the even ones), upscaled to 512 px like the training tiles, damaged with one
kind at a time (line, dust, tear, stain) and with all kinds at once, seeds the
training never drew (it draws per round from ``seed * 100003 + round``; these
use 10**9 + photo). The truth is the same print without the damage (the
simulator's same seed with ``damage=False``: faded, grainy, blurred the same).

- detection: precision and recall of damaged pixels, with a 2 px tolerance
  (a 1 px scratch found 1 px off is found): precision = detected pixels
  within 2 px of true damage / detected; recall = damaged pixels within 2 px
  of a detection / damaged. Per detector (the network; the classical fallback).
- fill: PSNR and SSIM of the repaired L against the truth, beside the damaged
  input's, with the detected mask and with the true mask (the fill's own
  ceiling). Tone restoration off (the truth is the faded print).

Speed: ``repair()`` on a 12 MP (4000x3000) simulated scan, detect + fill +
tone, best and median of ``--repeats``.

    python benchmarks/bench_repair.py [--photos 60] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import oldprint, repair  # noqa: E402
from core.training.damage import load_lightness, photo_files  # noqa: E402

KIND_SETS = {"line": {oldprint.LINE}, "dust": {oldprint.DUST}, "tear": {oldprint.TEAR},
             "stain": {oldprint.STAIN}, "all": set(oldprint.KINDS)}
TOL = 2


def _near(mask: np.ndarray, px: int = TOL) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(100.0 ** 2 / max(float(np.mean((a - b) ** 2)), 1e-9)))


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, data_range=100.0))


def quality(files: list[Path], detectors: dict[str, repair.Detector]) -> dict:
    """Per kind of damage and per detector: detection and fill scores, averaged over photos."""
    rows: dict = {}
    for kind, kinds in KIND_SETS.items():
        acc: dict[str, list[float]] = {}

        def add(key: str, v: float, acc: dict[str, list[float]] = acc) -> None:
            acc.setdefault(key, []).append(v)

        for i, path in enumerate(files):
            g = load_lightness(path)
            g = cv2.resize(g, (512, 512), interpolation=cv2.INTER_CUBIC)
            seed = 10**9 + i
            sim = oldprint.simulate(g, np.random.default_rng(seed), damage=kinds)
            truth = oldprint.simulate(g, np.random.default_rng(seed), damage=False).gray
            damaged_L = sim.gray.astype(np.float32) / 2.55
            truth_L = truth.astype(np.float32) / 2.55
            true_mask = sim.mask > 0
            if true_mask.mean() < 1e-4:
                continue
            add("damaged_fraction", float(true_mask.mean()))
            add("psnr_damaged", _psnr(damaged_L, truth_L))
            add("ssim_damaged", _ssim(damaged_L, truth_L))
            oracle = repair.repair(damaged_L, mask=sim.mask, tone=False).L
            add("psnr_true_mask", _psnr(oracle, truth_L))
            add("ssim_true_mask", _ssim(oracle, truth_L))
            for name, det in detectors.items():
                found = det.detect(damaged_L)
                hit = found > 0
                if hit.any():
                    add(f"{name}_precision", float((_near(true_mask) & hit).sum() / hit.sum()))
                add(f"{name}_recall", float((_near(hit) & true_mask).sum() / true_mask.sum()))
                if kind != "all":  # which kind the detected pixels on this damage were given
                    on = hit & true_mask
                    if on.any():
                        add(f"{name}_kind_right", float((found[on] == next(iter(kinds))).mean()))
                fixed = repair.repair(damaged_L, mask=found, tone=False).L
                add(f"psnr_{name}", _psnr(fixed, truth_L))
                add(f"ssim_{name}", _ssim(fixed, truth_L))
        rows[kind] = {k: round(float(np.mean(v)), 4) for k, v in acc.items()}
        rows[kind]["photos"] = len(acc.get("psnr_damaged", []))
        print(kind, json.dumps(rows[kind]), flush=True)
    return rows


def speed(repeats: int, det: repair.Detector) -> dict:
    """Seconds for repair() on a 12 MP simulated scan (detect + fill + tone)."""
    from skimage import data

    g = cv2.resize(data.camera(), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    sim = oldprint.simulate(g, np.random.default_rng(5))
    L = sim.gray.astype(np.float32) / 2.55
    repair.repair(L[:512, :512], detector=det)  # load the model outside the timing
    times, parts = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = repair.repair(L, detector=det)
        times.append(time.perf_counter() - t0)
        parts.append(r.report["seconds"])
    best = int(np.argmin(times))
    return {"megapixels": 12.0, "detector": det.kind, "best_s": round(min(times), 3),
            "median_s": round(float(np.median(times)), 3), "best_parts": parts[best],
            "damaged": r.report["damaged"]}


def sheet(photos: list[Path], out: Path, det: repair.Detector, side: int = 512) -> Path:
    """Before/after rows of real scans: the scan's lightness, what was found (magenta),
    the repaired lightness. For looking at, not for the repository (third-party photos)."""
    from core import lab
    from core.training.figures import write_sheet

    rows = []
    for p in photos:
        rgb = cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        L = lab.luminance(rgb)
        r = repair.repair(L, detector=det)
        gray = np.repeat(repair.to_gray8(L)[..., None], 3, axis=-1)
        marked = gray.copy()
        marked[r.mask > 0] = (230, 0, 230)
        fixed = np.repeat(repair.to_gray8(r.L)[..., None], 3, axis=-1)
        rows.append([gray, marked, fixed])
        print(p.name, json.dumps(r.report), flush=True)
    return write_sheet(out, rows, side)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--photos", type=int, default=60)
    p.add_argument("--general", type=Path, default=Path("/work/shared/photos/general"))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path)
    p.add_argument("--models", type=Path, help="models folder with the detector "
                   "(default: the shipped one)")
    p.add_argument("--no-quality", action="store_true")
    p.add_argument("--sheet", type=Path, nargs="+", metavar="SCAN",
                   help="only write a before/after sheet of these real scans to --sheet-out")
    p.add_argument("--sheet-out", type=Path, default=Path("repair_sheet.jpg"))
    a = p.parse_args()
    if a.sheet:
        print(sheet(a.sheet, a.sheet_out, repair.Detector(a.models)))
        return 0
    out: dict = {"machine": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    network = repair.Detector(a.models)
    if not a.no_quality:
        held_out = photo_files(a.general, 1)
        files = held_out[:: max(1, len(held_out) // a.photos)][: a.photos]
        dets = {"network": network,
                "classical": repair.Detector(Path("/nonexistent"))}
        if dets["network"].kind != "network":
            del dets["network"]
        out["quality"] = quality(files, dets)
    out["speed"] = speed(a.repeats, network)
    out["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out["speed"]))
    if a.json:
        from core.filesafe import atomic_json

        a.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_json(a.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
