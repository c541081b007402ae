"""Colour pins: how much a simulated user's pins help, and how fast an update is.

Quality (ideepcolor's protocol, Zhang et al. 2017): for each photo, N pins
(N = 1, 5, 10, 20) at random points, each the real photo's mean colour in a
5x5 patch (its mean L and ab, as the colour a user would pick); PSNR and ab
error against the real photo, beside the automatic result. With 1 pin, also
the ab error far from it (more than a quarter of the photo's side away), to
check that a pin leaves the rest of the photo alone.

Photos: the category test split of a prepared folder (``prepare``) and the
general validation set: rows ``category == general, split == val`` of the same
index when it has them, else a deterministic subset of the general photo
folder (every k-th file, sorted).

Speed: ``Colorizer.render(pins=...)`` with a cached analysis on a 2 MP and a
12 MP photo: the first pin (builds the propagation grid) and a dragged pin.

    python benchmarks/bench_pins.py --prepared data/prepared [--per-category 20]
        [--general 200] [--json OUT] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import lab, pins  # noqa: E402
from core.engine import Colorizer  # noqa: E402
from core.training.metrics import ab_mse, psnr  # noqa: E402

COUNTS = (1, 5, 10, 20)
PATCH = 2  # half side of the sampled patch: 5x5
FAR = 0.25  # "far from the pin": more than this fraction of the longer side away


def simulated_pins(truth: np.ndarray, n: int, rng: np.random.Generator) -> list[pins.Pin]:
    """n pins at random points, each the photo's mean L and ab over a 5x5 patch."""
    h, w = truth.shape[:2]
    labim = lab.rgb_to_lab(truth)
    out = []
    for _ in range(n):
        x = int(rng.integers(PATCH, w - PATCH))
        y = int(rng.integers(PATCH, h - PATCH))
        mean = labim[y - PATCH : y + PATCH + 1, x - PATCH : x + PATCH + 1].reshape(-1, 3).mean(0)
        rgb = lab.lab_to_rgb(mean.reshape(1, 1, 3).astype(np.float32))[0, 0]
        out.append(pins.Pin(x, y, tuple(int(v) for v in np.round(rgb * 255))))
    return out


def far_mask(shape: tuple[int, int], pin: pins.Pin) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    return np.hypot(xx - pin.x, yy - pin.y) > FAR * max(h, w)


def _ab_err(rgb: np.ndarray, truth_ab: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = ((lab.rgb_to_lab(rgb)[..., 1:] - truth_ab) ** 2).sum(-1)
    return float(d[mask].mean() if mask is not None else d.mean())


def load_sets(prepared: Path | None, general_dir: Path, per_category: int | None,
              n_general: int) -> dict[str, tuple[list[np.ndarray], list[str]]]:
    from PIL import Image

    from core.training.prepare import read_index

    def read(p: Path) -> np.ndarray:
        with Image.open(p) as im:
            return np.asarray(im.convert("RGB"))

    sets: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    general_rows: list[str] = []
    if prepared is not None:
        rows = read_index(prepared)
        counts: dict[str, int] = {}
        test = []
        for r in rows:
            if r.split != "test" or r.category == "general":
                continue
            if per_category is None or counts.get(r.category, 0) < per_category:
                counts[r.category] = counts.get(r.category, 0) + 1
                test.append(r.file)
        sets["category test split"] = ([read(prepared / f) for f in test], test)
        general_rows = [r.file for r in rows if r.category == "general" and r.split == "val"]
    if general_rows:
        step = max(1, len(general_rows) // n_general)
        files = general_rows[::step][:n_general]
        sets["general validation"] = ([read(prepared / f) for f in files], files)
    elif general_dir.is_dir():
        all_files = sorted(p for p in general_dir.iterdir() if p.suffix.lower() == ".webp")
        step = max(1, len(all_files) // n_general)
        files = all_files[::step][:n_general]
        sets["general (folder subset)"] = ([read(p) for p in files], [p.name for p in files])
    return sets


Renderer = Callable[[object, list[pins.Pin]], np.ndarray]


def measure(c: Colorizer, images: list[np.ndarray], seed: int,
            renderers: dict[str, Renderer], counts=COUNTS) -> dict[str, dict]:
    """Per renderer: mean PSNR / ab error for each pin count, and the 1-pin far check."""
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in ["automatic", *renderers]}
    t0 = time.perf_counter()
    for start in range(0, len(images), 16):
        if start:
            print(f"  {start}/{len(images)} photos, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
        batch = images[start : start + 16]
        for i, (truth, a) in enumerate(zip(batch, c.analyze_batch(batch))):
            idx = start + i
            t = lab.to_float_rgb(truth)
            truth_ab = lab.rgb_to_lab(t)[..., 1:]
            auto = c.render(a).rgb
            rows["automatic"].setdefault("psnr", []).append(psnr(auto, t))
            rows["automatic"].setdefault("ab", []).append(ab_mse(auto, t))
            for n in counts:
                pin_list = simulated_pins(truth, n, np.random.default_rng((seed, idx, n)))
                for name, render in renderers.items():
                    out = render(a, pin_list)
                    r = rows[name]
                    r.setdefault(f"psnr@{n}", []).append(psnr(out, t))
                    r.setdefault(f"ab@{n}", []).append(ab_mse(out, t))
                    if n == 1:
                        m = far_mask(t.shape[:2], pin_list[0])
                        r.setdefault("far_auto", []).append(_ab_err(auto, truth_ab, m))
                        r.setdefault("far_pin", []).append(_ab_err(out, truth_ab, m))
    out: dict[str, dict] = {}
    base = rows["automatic"]
    for name, r in rows.items():
        summary: dict[str, float] = {k: float(np.mean(v)) for k, v in r.items()}
        if name != "automatic":
            for n in counts:
                gain = np.array(r[f"psnr@{n}"]) - np.array(base["psnr"])
                summary[f"gain@{n}"] = float(gain.mean())
            worse = np.array(r["far_pin"]) - np.array(r["far_auto"])
            summary["far_worse_photos"] = float((worse > 1.0).mean())
            summary["far_worst"] = float(worse.max())
        out[name] = summary
    out["automatic"]["photos"] = len(images)
    return out


def fast_renderer(c: Colorizer, **settings) -> Renderer:
    """Colorizer.render's pinned path with other propagation settings (for --sweep)."""
    grid = {k: settings.pop(k) for k in ("grid_side", "edge_sigma", "reach") if k in settings}
    cache: dict[int, tuple[pins.Guide, np.ndarray]] = {}

    def render(a, pin_list):
        key = id(a)
        if key not in cache:
            cache.clear()
            cache[key] = pins.build_guide(a.L, **grid), _auto_ab(c, a)
        g, ab = cache[key]
        return lab.compose(a.L, pins.pinned_ab(g, ab, 1.0, pin_list, **settings))

    return render


def exact_renderer(c: Colorizer) -> Renderer:
    """Levin et al.'s exact sparse solve with the prior, on the same grid (the reference)."""

    def render(a, pin_list):
        g = pins.build_guide(a.L)
        auto = pins.grid_ab(g, _auto_ab(c, a))
        return lab.compose(a.L, pins.propagate_exact(g, pin_list, auto))

    return render


def _auto_ab(c: Colorizer, a) -> np.ndarray:
    """The automatic ab of ``render(a)`` (soft routing), cached on the analysis."""
    if getattr(a, "_bench_ab", None) is None:
        _, weights, _ = c.plan(a)
        a._bench_ab = c._predict_ab(a, weights)
    return a._bench_ab


def speed(c: Colorizer, repeat: int = 5) -> dict[str, dict[str, float]]:
    """Milliseconds per pinned render with a cached analysis (median of ``repeat``)."""
    import cv2
    from skimage import data

    base = data.astronaut()
    out = {}
    sizes = {"2 MP (1632x1224)": (1632, 1224), "12 MP (4000x3000)": (4000, 3000)}
    for name, (w, h) in sizes.items():
        rgb = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
        a = c.analyze(rgb)
        rng = np.random.default_rng(0)
        pts = [(float(rng.uniform(0, w - 1)), float(rng.uniform(0, h - 1))) for _ in range(10)]
        t0 = time.perf_counter()
        c.render(a, pins=[pins.Pin(*pts[0], (40, 60, 150))])
        first = time.perf_counter() - t0
        plain, drag, drag10 = [], [], []
        for k in range(repeat):
            t0 = time.perf_counter()
            c.render(a)
            plain.append(time.perf_counter() - t0)
            x, y = pts[0][0] + 3 * (k + 1), pts[0][1] + 2 * (k + 1)
            t0 = time.perf_counter()
            c.render(a, pins=[pins.Pin(x, y, (40, 60, 150))])
            drag.append(time.perf_counter() - t0)
            many = [pins.Pin(px, py, (200, 80, 40)) for px, py in pts[1:]]
            t0 = time.perf_counter()
            c.render(a, pins=[pins.Pin(x, y, (40, 60, 150)), *many])
            drag10.append(time.perf_counter() - t0)
        out[name] = {
            "no pins": 1e3 * float(np.median(plain)),
            "first pin (builds the grid)": 1e3 * first,
            "drag, 1 pin": 1e3 * float(np.median(drag)),
            "drag, 10 pins": 1e3 * float(np.median(drag10)),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    ap.add_argument("--general-dir", type=Path,  # the photo set beside the checkout
                    default=Path(__file__).resolve().parents[2] / "shared/photos/general")
    ap.add_argument("--per-category", type=int, default=20, help="test photos per category")
    ap.add_argument("--general", type=int, default=200, help="general validation photos")
    ap.add_argument("--models", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--sweep", action="store_true", help="compare propagation settings")
    ap.add_argument("--exact", action="store_true", help="also Levin et al.'s exact solve (slow)")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args(argv)

    c = Colorizer(args.models)
    c.load()
    sets = load_sets(args.prepared if args.prepared.is_dir() else None, args.general_dir,
                     args.per_category, args.general)
    report: dict[str, object] = {"seed": args.seed, "sets": {}}
    renderers: dict[str, Renderer] = {
        "pins": lambda a, p: c.render(a, pins=p).rgb,
    }
    if args.sweep:
        grid = [(m, r, g, pins.EDGE_SIGMA) for m in pins.MODES for r in (0.1, 0.25, 0.5)
                for g in (1.0, 4.0)]
        grid += [("replace", pins.REACH, pins.GAIN, s) for s in (1.5, 5.0)]
        for mode, reach, gain, sigma in grid:
            renderers[f"{mode} reach={reach} gain={gain} sigma={sigma}"] = \
                fast_renderer(c, mode=mode, reach=reach, gain=gain, edge_sigma=sigma)
    if args.exact:
        renderers["exact Levin et al."] = exact_renderer(c)
    for name, (images, _files) in sets.items():
        t0 = time.perf_counter()
        report["sets"][name] = measure(c, images, args.seed, renderers)
        print(f"{name}: {len(images)} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print(json.dumps(report["sets"][name], indent=1))
    if not args.no_speed:
        report["speed_ms"] = speed(c)
        print(json.dumps(report["speed_ms"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
