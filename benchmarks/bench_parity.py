#!/usr/bin/env python
"""Keras vs LiteRT parity of a models folder, on real photos, end to end.

    python benchmarks/bench_parity.py [--models DIR] [--reference DIR] [--json OUT]

Every photo (the first, true-colour panel of each ``docs/figures/*.jpg``,
made gray; 256 px) is colorized with the TensorFlow backend (the Keras files)
and with the LiteRT backend (the ``.tflite`` files) of ``--models``; reported
per pair: the largest and mean difference of the 8-bit RGB outputs, their PSNR
against each other, the largest change of a category confidence, and whether
the chosen category agrees. ``--reference`` adds a third colorizer: another
models folder, e.g. the same models with float32 weights before they were
stored as float16, to measure what the float16 storage costs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.photos import source_photo, sources  # noqa: E402


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.repeat(g[..., None], 3, axis=-1)


def compare(a: list, b: list) -> dict:
    """Differences between two colorizers' results on the same photos."""
    diffs, means, psnrs, conf, agree = [], [], [], [], 0
    for x, y in zip(a, b):
        u, v = x.to_uint8().astype(np.int16), y.to_uint8().astype(np.int16)
        d = np.abs(u - v)
        diffs.append(int(d.max()))
        means.append(float(d.mean()))
        mse = float(((u - v) ** 2).mean())
        psnrs.append(99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse))
        conf.append(max(abs(x.confidences[c] - y.confidences[c]) for c in x.confidences))
        agree += x.category == y.category
    return {
        "photos": len(a),
        "max_abs_diff_8bit": max(diffs),
        "mean_abs_diff_8bit": float(np.mean(means)),
        "min_psnr_db": float(min(psnrs)),
        "mean_psnr_db": float(np.mean(psnrs)),
        "max_confidence_diff": float(max(conf)),
        "same_category": f"{agree}/{len(a)}",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=None)
    ap.add_argument("--reference", default=None, help="a float32 copy of the models folder")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from core.engine import Colorizer

    photos = [_gray(source_photo(name)) for name in sources()]
    runs = {"keras": Colorizer(args.models, backend="tf"),
            "litert": Colorizer(args.models, backend="litert")}
    if args.reference:
        runs["reference"] = Colorizer(args.reference, backend="tf")
    results = {name: [cz.colorize(p) for p in photos] for name, cz in runs.items()}
    if runs["litert"].store.notes:
        print("\n".join(runs["litert"].store.notes), file=sys.stderr)
    out = {"keras_vs_litert": compare(results["keras"], results["litert"])}
    if args.reference:
        out["reference_vs_keras"] = compare(results["reference"], results["keras"])
        out["reference_vs_litert"] = compare(results["reference"], results["litert"])
    out["export"] = runs["litert"].store.manifest.get("litert", {})
    print(json.dumps(out, indent=2))
    print("| pair | photos | max diff (8-bit) | mean diff | min PSNR | mean PSNR | "
          "max conf. diff | same category |", file=sys.stderr)
    print("|---|---:|---:|---:|---:|---:|---:|---:|", file=sys.stderr)
    for pair, r in out.items():
        if pair == "export":
            continue
        print(f"| {pair.replace('_', ' ')} | {r['photos']} | {r['max_abs_diff_8bit']} | "
              f"{r['mean_abs_diff_8bit']:.3f} | {r['min_psnr_db']:.1f} dB | "
              f"{r['mean_psnr_db']:.1f} dB | {r['max_confidence_diff']:.2g} | "
              f"{r['same_category']} |", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
