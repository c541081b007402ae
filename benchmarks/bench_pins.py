"""Colour pins: how much a simulated user's pins help, and how fast an update is.

Quality (ideepcolor's protocol, Zhang et al. 2017): for each photo, N pins
(N = 1, 5, 10, 20) at random points, each the real photo's mean colour in a
5x5 patch (its mean L and ab, as the colour a user would pick); PSNR and ab
error against the real photo, beside the automatic result. With 1 pin, also
what it did outside its own region -- the engine's (``Colorizer.pin_regions``,
where its confidence is above ``core.pins.FLOOR``): how many photos changed
there at all (should be none) and how much of the photo the region is -- and
outside its true region -- the connected area around it whose *real* ab stays
close to the pin's (``true_region``) -- per photo: the change of the ab error
there (mean, and the worst 32 px tile). The first checks the engine keeps its
rule; the second how well L's edges find the real object (a colour boundary
without a change in L is invisible to them).

Photos: the evaluation's own sets, through its loaders
(``core.training.dataset.load_split`` and ``core.training.evaluate.load_general``):
the category test split of a prepared folder (``prepare``) and the general
validation set (the prepared general val pool, spread evenly, else the
evaluation's subset of ``--general-dir``).

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
#: A pin's true region (``true_region``): real ab within this of the pin's (Lab units) ...
REGION_TOL = 10.0
#: ... grown by this many pixels (its blurred boundary).
REGION_MARGIN = 2
#: Tile side for the worst local change outside the region (the photos are 256 px).
BLOCK = 32
#: A pixel outside the region made worse by more than this (ab units^2, 5 units) leaked.
LEAK = 25.0


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


def true_region(truth_lab: np.ndarray, pin: pins.Pin, tol: float = REGION_TOL,
                margin: int = REGION_MARGIN) -> np.ndarray:
    """The pin's region in the *real* photo: what it is right to recolour.

    A pin only sets ab, so its region is where the real ab stays within ``tol``
    of the pin's (Lab units), connected (4-neighbours) to the pin's 5x5 patch:
    its object, not other things of a similar colour elsewhere. ``margin``
    pixels around it are counted in too (its boundary is a blurred edge, and the
    patch mean itself may straddle one), so "outside" is clearly another colour.
    """
    import cv2

    h, w = truth_lab.shape[:2]
    target = pins.pin_ab([pin])[0]
    close = np.linalg.norm(truth_lab[..., 1:] - target, axis=-1) <= tol
    x, y = int(pin.x), int(pin.y)
    close[max(0, y - PATCH) : y + PATCH + 1, max(0, x - PATCH) : x + PATCH + 1] = True
    _, labels = cv2.connectedComponents(close.astype(np.uint8), connectivity=4)
    region = labels == labels[y, x]
    if margin:
        k = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        region = cv2.dilate(region.astype(np.uint8), k).astype(bool)
    return region


def _ab_sq(rgb: np.ndarray, truth_ab: np.ndarray) -> np.ndarray:
    """Per-pixel squared ab error (Lab units^2) of a result against the real photo."""
    return ((lab.rgb_to_lab(rgb)[..., 1:] - truth_ab) ** 2).sum(-1)


def outside_change(auto_sq: np.ndarray, pin_sq: np.ndarray, region: np.ndarray,
                   block: int = BLOCK) -> dict[str, float]:
    """How one pin changed the ab error outside its true region.

    ``mean``: the change of the mean squared error over every pixel outside;
    ``block``: the worst change over any ``block`` x ``block`` tile that is at
    least half outside (a leak into a small neighbour, which a photo-wide mean
    would dilute); ``leak``: the fraction of outside pixels made worse by more
    than LEAK units^2.
    """
    out = ~region
    if not out.any():
        return {"mean": 0.0, "block": 0.0, "leak": 0.0, "outside": 0.0}
    d = pin_sq - auto_sq
    h, w = d.shape
    worst = 0.0
    for y in range(0, h - block // 2, block):
        for x in range(0, w - block // 2, block):
            o = out[y : y + block, x : x + block]
            if o.mean() >= 0.5:
                worst = max(worst, float(d[y : y + block, x : x + block][o].mean()))
    return {"mean": float(d[out].mean()), "block": worst,
            "leak": float((d[out] > LEAK).mean()), "outside": float(out.mean())}


def load_sets(prepared: Path | None, general_dir: Path, per_category: int | None,
              n_general: int | None) -> dict[str, tuple[list[np.ndarray], list[str]]]:
    """The evaluation's own photo sets, through its loaders (the same photos as
    docs/results.md): the category test split and the general validation set."""
    from core.training.dataset import load_split
    from core.training.evaluate import load_general

    sets: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    if prepared is not None:
        test = load_split(prepared, "test", per_category)
        sets["category test split"] = (list(test.images), test.files)
    general = load_general(prepared, n_general, general_dir)
    if len(general):
        sets["general validation"] = (list(general.images), general.files)
    return sets


#: A renderer: (analysis, pins) -> (RGB 0..1, each pin's own region at the photo's size).
Renderer = Callable[[object, list[pins.Pin]], tuple[np.ndarray, np.ndarray]]


def measure(c: Colorizer, images: list[np.ndarray], seed: int,
            renderers: dict[str, Renderer], counts=COUNTS) -> dict[str, dict]:
    """Per renderer: mean PSNR / ab error for each pin count, and with 1 pin what it
    did outside its true region (``true_region``), per photo."""
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
            truth_lab = lab.rgb_to_lab(t)
            truth_ab = truth_lab[..., 1:]
            auto = c.render(a).rgb
            auto_sq = _ab_sq(auto, truth_ab)
            rows["automatic"].setdefault("psnr", []).append(psnr(auto, t))
            rows["automatic"].setdefault("ab", []).append(ab_mse(auto, t))
            for n in counts:
                pin_list = simulated_pins(truth, n, np.random.default_rng((seed, idx, n)))
                region = true_region(truth_lab, pin_list[0]) if n == 1 else None
                for name, render in renderers.items():
                    out, own = render(a, pin_list)
                    r = rows[name]
                    r.setdefault(f"psnr@{n}", []).append(psnr(out, t))
                    r.setdefault(f"ab@{n}", []).append(ab_mse(out, t))
                    if region is not None and own is not None:
                        r.setdefault("own_area", []).append(float(own[0].mean()))
                        rest = ~own.any(axis=0)
                        r.setdefault("own_changed", []).append(
                            float(np.any(out[rest] != auto[rest])))
                        r.setdefault("own_changed_u8", []).append(
                            float(np.any(_u8(out[rest]) != _u8(auto[rest]))))
                        r.setdefault("own_max", []).append(
                            float(np.abs(out[rest] - auto[rest]).max()) if rest.any() else 0.0)
                    if region is not None:
                        ch = outside_change(auto_sq, _ab_sq(out, truth_ab), region)
                        r.setdefault("out_auto", []).append(float(auto_sq[~region].mean())
                                                            if ch["outside"] else 0.0)
                        for k, v in ch.items():
                            r.setdefault(f"out_{k}", []).append(v)
    out: dict[str, dict] = {}
    base = rows["automatic"]
    for name, r in rows.items():
        summary: dict[str, float] = {k: float(np.mean(v)) for k, v in r.items()}
        if name != "automatic":
            for n in counts:
                gain = np.array(r[f"psnr@{n}"]) - np.array(base["psnr"])
                summary[f"gain@{n}"] = float(gain.mean())
            if "own_changed" in r:
                summary.update({
                    "own_changed_photos": float(np.sum(r["own_changed"])),  # should be 0
                    "own_changed_u8_photos": float(np.sum(r["own_changed_u8"])),
                    "own_max_diff": float(np.max(r["own_max"])),
                    "own_area_median": float(np.median(r["own_area"])),
                })
            if "out_mean" in r:
                worse = np.array(r["out_mean"])
                block = np.array(r["out_block"])
                summary.update({
                    "out_worse_photos": float((worse > 1.0).mean()),  # > 1 unit^2
                    "out_better_photos": float((worse < -1.0).mean()),
                    "out_worst": float(worse.max()),
                    "out_median": float(np.median(worse)),
                    "out_block_median": float(np.median(block)),
                    "out_block_p90": float(np.quantile(block, 0.9)),
                    "out_block_worst": float(block.max()),
                    "out_block_worse25_photos": float((block > LEAK).mean()),
                })
        out[name] = summary
    out["automatic"]["photos"] = len(images)
    return out


def _u8(rgb: np.ndarray) -> np.ndarray:
    """RGB 0..1 as an 8-bit file gets it (lab.to_uint8, the writers' rule)."""
    return lab.to_uint8(rgb)


def engine_renderer(c: Colorizer) -> Renderer:
    """Colorizer.render with pins, and the pins' regions as the engine defines them."""

    def render(a, pin_list):
        return c.render(a, pins=pin_list).rgb, c.pin_regions(a, pin_list)

    return render


def fast_renderer(c: Colorizer, **settings) -> Renderer:
    """Colorizer.render's pinned path with other propagation settings (for --sweep)."""
    grid = {k: settings.pop(k) for k in ("grid_side", "edge_sigma", "reach") if k in settings}
    cache: dict[int, pins.Guide] = {}

    def render(a, pin_list):
        key = id(a)
        if key not in cache:
            cache.clear()
            cache[key] = pins.build_guide(a.L, **grid)
            cache[key].auto_ab = _auto_ab(c, a)
        g = cache[key]
        own = pins.pin_spread(g, g.auto_ab, 1.0, pin_list, **settings).regions(
            a.L.shape, c.pin_margin())
        return c.compose_pinned(a, g, 1.0, pin_list, **settings), own

    return render


def exact_renderer(c: Colorizer) -> Renderer:
    """Levin et al.'s exact sparse solve with the prior, on the same grid (the reference),
    composed as the engine composes the pins: automatic colour plus the offset."""

    def render(a, pin_list):
        g = pins.build_guide(a.L)
        auto = pins.grid_ab(g, _auto_ab(c, a))
        offset = pins.propagate_exact(g, pin_list, auto) - auto
        return lab.compose(a.L, c._upsample(a, _auto_ab(c, a)) + c._upsample(a, offset)), None

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
    ap.add_argument("--repeat", type=int, default=5, help="timed renders per case (median)")
    args = ap.parse_args(argv)

    c = Colorizer(args.models)
    c.load()
    sets = load_sets(args.prepared if args.prepared.is_dir() else None, args.general_dir,
                     args.per_category, args.general)
    report: dict[str, object] = {"seed": args.seed, "sets": {}}
    renderers: dict[str, Renderer] = {
        "pins": engine_renderer(c),
    }
    if args.sweep:
        grid: list[dict[str, float | str]] = [
            {"l_range": 0.0}, {"l_range": 10.0}, {"l_range": 20.0},
            {"reach": 0.15}, {"reach": 0.35}, {"gain": 1.5}, {"gain": 2.0},
            {"edge_sigma": 1.5}, {"edge_sigma": 4.0}, {"mode": "offset"},
            {"floor": 0.0}, {"floor": 0.01}, {"floor": 0.05}, {"floor": 0.1},
            {"floor": 0.05, "reach": 0.15},
        ]
        for setting in grid:
            name = ", ".join(f"{k}={v}" for k, v in setting.items())
            renderers[name] = fast_renderer(c, **setting)
    if args.exact:
        renderers["exact Levin et al."] = exact_renderer(c)
    for name, (images, _files) in sets.items():
        if not images:  # --per-category 0 --general 0: the speed part only
            continue
        t0 = time.perf_counter()
        report["sets"][name] = measure(c, images, args.seed, renderers)
        print(f"{name}: {len(images)} photos in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print(json.dumps(report["sets"][name], indent=1))
    if not args.no_speed:
        report["speed_ms"] = speed(c, args.repeat)
        print(json.dumps(report["speed_ms"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
