"""The evaluation report: how good the shipped models are, in numbers and pictures.

On the test split, per category and overall, for gray (no colour), the
universal model, the category model given the true category, hard routing on
the predicted category, soft routing, and a deliberately wrong category (the
paper's Fig. 9): PSNR, ab MSE, colourfulness and its ratio to the truth,
false colour on neutral pixels, blotchiness, and recognition by an ImageNet
classifier that is not our encoder (core.training.recognition). The same on
a held-out general set (photos of none of the categories: what users mostly
bring; the general pool's test part, since ``calibrate`` fits on its val
part), where the category split would flatter us. Plus the
classifier's top-1 / top-3 error per category (Table I).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from core import lab
from core.categories import CATEGORIES, GENERAL, UNIVERSAL, label_of
from core.decoding import Decoding
from core.engine import Colorizer
from core.filesafe import atomic_json, atomic_text, atomic_write
from core.store import MANIFEST, write_manifest
from core.training.dataset import Split, load_split
from core.training.metrics import (
    ab_mse,
    blotchiness,
    colourfulness,
    neutral_false_colour,
    psnr,
    topk_error,
)
from core.training.prepare import INDEX, read_index, square_resize
from core.training.recognition import ImageNetJudge, Judge, Verdicts, recognition, to_uint8

#: fn(analysis, true label, uint8 photo) -> RGB
Variant = Callable[[Any, int, np.ndarray], np.ndarray]
#: Variants that need the photo's true category (not measured on the general set).
NEEDS_LABEL = ("true category",)
#: Per-photo measures, in report order.
MEASURES = ("psnr", "ab_mse", "colourfulness", "neutral_chroma", "blotch",
            "imagenet_agree", "imagenet_logp")
#: Photos of the general set taken when the prepared folder has no general split.
GENERAL_FALLBACK = 300


def _variants(c: Colorizer) -> dict[str, Variant]:
    """The compared ways of colouring a test photo, by name."""
    models = c.store.colorizers(c.architecture)

    def own(cat: str) -> str:
        return cat if cat in models else UNIVERSAL

    def wrong(a) -> str:  # the category model the classifier finds least likely
        candidates = [m for m in models if m != UNIVERSAL]
        return min(candidates, key=lambda m: a.confidences[m]) if candidates else UNIVERSAL

    v: dict[str, Variant] = {
        "gray": lambda a, y, im: lab.compose(a.L, np.zeros(a.L.shape + (2,), np.float32)),
        "universal": lambda a, y, im: c.render_with(a, {UNIVERSAL: 1.0}),
        "true category": lambda a, y, im: c.render_with(a, {own(CATEGORIES[y]): 1.0}),
        "hard routing": lambda a, y, im: c.render(a, "auto", routing="hard").rgb,
        "soft routing": lambda a, y, im: c.render(a, "auto", routing="soft").rgb,
        "wrong category": lambda a, y, im: c.render_with(a, {wrong(a): 1.0}),
    }
    return v


def _extra_soft(c: Colorizer) -> Variant:
    return lambda a, y, im: c.colorize(im).rgb


def plain_decoding(c: Colorizer) -> Decoding:
    """What the models decoded to before core.decoding: the annealed mean, bilinear upsampling.

    At the temperature calibrated before the decoding was (kept in the
    calibration record), else at the decoding's own.
    """
    stored = c.info.get("calibration", {}).get("plain")
    if stored:
        return Decoding(**stored)
    return Decoding(temperature=c.decoding.temperature, upsample_radius=0)


def photo_measures(rgb: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Every per-photo measure but recognition (which runs in batches)."""
    return {
        "psnr": psnr(rgb, truth),
        "ab_mse": ab_mse(rgb, truth),
        "colourfulness": colourfulness(rgb),
        "neutral_chroma": neutral_false_colour(rgb, truth),
        "blotch": blotchiness(rgb, truth),
    }


def load_general(prepared: str | Path | None, limit: int | None = None,
                 general_dir: str | Path | None = None, split: str = "val") -> Split:
    """Held-out photos of none of the categories (the general pool's ``split``).

    From the prepared folder (its ``general`` pool, ``split``) when it has
    one; else a deterministic subset of ``general_dir`` (every k-th photo in
    name order), so the numbers are comparable between runs.
    """
    label = label_of(GENERAL)
    index = Path(prepared) / INDEX if prepared is not None else None
    if index is not None and index.is_file() and any(r.category == GENERAL
                                                     for r in read_index(prepared)):
        found = load_split(prepared, split, pool=GENERAL)
        if limit is not None and limit < len(found):  # spread over every scene class
            found = found.subset(np.linspace(0, len(found) - 1, limit).round().astype(int))
        found.source = f"the prepared general {split} split"  # type: ignore[attr-defined]
        return found
    files: list[Path] = []
    source = "none"
    if general_dir is not None and Path(general_dir).is_dir():
        every = sorted(p for p in Path(general_dir).iterdir()
                       if p.suffix.lower() in (".webp", ".jpg", ".jpeg", ".png"))
        step = max(1, len(every) // GENERAL_FALLBACK)
        files = every[step // 2 :: step][:GENERAL_FALLBACK]
        source = f"every {step}th photo of {general_dir}"
    if limit is not None:
        files = files[:limit]

    def read(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        return square_resize(rgb)

    images = [read(p) for p in files]
    arr = np.stack(images) if images else np.zeros((0, 256, 256, 3), np.uint8)
    general = Split(arr, np.full(len(files), label, np.int32), [p.name for p in files])
    general.source = source  # type: ignore[attr-defined]
    return general


def evaluate(
    test: Split,
    models_dir: str | Path | None = None,
    extra_models: dict[str, Path] | None = None,
    sheet_dir: Path | None = None,
    batch: int = 16,
    log: Callable[[str], None] = print,
    general: Split | None = None,
    judge: Judge | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """All measures on ``test`` (and ``general``); returns a JSON-able dict.

    ``judge``: the ImageNet classifier of the recognition measures (default
    EfficientNet-Lite2's); ``cache_dir``: where its verdicts on the real
    photos are kept between runs.
    """
    c = Colorizer(models_dir)
    variants = _variants(c)
    for arch in c.store.architectures:  # baselines stored beside the default (MSE, paper)
        if arch != c.architecture:
            other = Colorizer(models_dir, architecture=arch)
            other._store = c.store  # same encoder and classifier: reuse the analysis
            theirs = _variants(other)
            kinds = ["universal"]
            if len(c.store.colorizers(arch)) > 1:  # it has category models too
                kinds += ["true category", "soft routing"]
            for kind in kinds:
                variants[f"{arch} ({kind})"] = theirs[kind]
    plain = plain_decoding(c)
    if c.info.get("head", "bins") == "bins" and c.decoding != plain:
        before = Colorizer(models_dir, decoding=plain)
        before._store = c.store
        variants["soft routing, plain decoding"] = _variants(before)["soft routing"]
    extras = {name: Colorizer(path) for name, path in (extra_models or {}).items()}
    for name, ec in extras.items():  # another models folder: its product, as shipped
        variants[f"{name} (soft routing)"] = _extra_soft(ec)
    judge = judge or ImageNetJudge()
    verdicts = Verdicts(judge, cache_dir / f"verdicts-{judge.name}.json" if cache_dir else None)
    names = list(variants)
    measured = _measure(c, test, variants, names, verdicts, batch, log, "test")
    result = _summarise(test, names, measured, sheet_dir)
    result["judge"] = judge.name
    if general is not None and len(general):
        gnames = [n for n in names if not any(n == k or n.endswith(f"({k})")
                                              for k in NEEDS_LABEL)]
        gm = _measure(c, general, variants, gnames, verdicts, batch, log, "general")
        result["general"] = {"photos": len(general),
                             "source": getattr(general, "source", ""),
                             "variants": {n: {"overall": _overall(gm, n)} for n in gnames}}
    result["baselines"] = {a: c.store.colorizer_info(a).get("note", "")
                           for a in c.store.architectures if a != c.architecture}
    return result


def _measure(c: Colorizer, split: Split, variants: dict[str, Variant], names: list[str],
             verdicts: Verdicts, batch: int, log: Callable[[str], None],
             what: str) -> dict[str, Any]:
    """Colour every photo of ``split`` every way; per-photo measures and sheet rows."""
    rows = {n: {m: [] for m in MEASURES} for n in names}
    truth_colour: list[float] = []
    probs = np.zeros((len(split), len(CATEGORIES)))
    sheets: dict[int, list[np.ndarray]] = {}
    sheet_pick = _sheet_indices(split)
    t0 = time.perf_counter()
    for start in range(0, len(split), batch):
        imgs = split.images[start : start + batch]
        analyses = c.analyze_batch(list(imgs))
        outs: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for i, a in enumerate(analyses):
            y = int(split.labels[start + i])
            probs[start + i] = [a.confidences[k] for k in CATEGORIES]
            for n in names:
                outs[n].append(variants[n](a, y, imgs[i]))
        truth = [lab.to_float_rgb(im) for im in imgs]
        truth_colour += [colourfulness(t) for t in truth]
        ref = verdicts.top1(split.files[start : start + batch], list(imgs))
        for n in names:
            agree, logp = recognition(
                verdicts.judge.log_probs([to_uint8(o) for o in outs[n]]), ref)
            for o, t, g, lp in zip(outs[n], truth, agree, logp):
                for m, x in photo_measures(o, t).items():
                    rows[n][m].append(x)
                rows[n]["imagenet_agree"].append(float(g))
                rows[n]["imagenet_logp"].append(float(lp))
        for i in range(len(imgs)):
            if start + i in sheet_pick:
                sheets[start + i] = [truth[i]] + [outs[n][i] for n in names]
        done = min(start + batch, len(split))
        log(f"evaluated {done}/{len(split)} {what} photos ({time.perf_counter() - t0:.0f} s)")
    return {"rows": {n: {m: np.array(v) for m, v in r.items()} for n, r in rows.items()},
            "truth_colour": np.array(truth_colour), "probs": probs, "sheets": sheets}


def _means(arr: dict[str, np.ndarray], truth_colour: np.ndarray,
           mask: np.ndarray | None = None) -> dict[str, float]:
    """Means of the measures over photos (NaN-aware: a photo may lack neutral pixels)."""
    m = slice(None) if mask is None else mask
    out = {}
    for key in MEASURES:
        vals = arr[key][m]
        vals = vals[np.isfinite(vals)]
        out[key] = float(vals.mean()) if vals.size else float("nan")
        if key == "colourfulness":
            out["colourfulness_ratio"] = out[key] / max(float(truth_colour[m].mean()), 1e-9)
    return out


def _overall(measured: dict[str, Any], name: str) -> dict[str, float]:
    return _means(measured["rows"][name], measured["truth_colour"])


def _sheet_indices(test: Split, per_category: int = 2) -> set[int]:
    pick: set[int] = set()
    for k in range(len(CATEGORIES)):
        pick.update(np.nonzero(test.labels == k)[0][:per_category].tolist())
    return pick


def _summarise(test, names, measured, sheet_dir) -> dict[str, Any]:
    labels = test.labels
    rows, truth_colour, probs = measured["rows"], measured["truth_colour"], measured["probs"]
    present = [k for k in range(len(CATEGORIES)) if np.any(labels == k)]
    result: dict[str, Any] = {"photos": len(test), "variants": {}, "classifier": {}}
    for n in names:
        per_cat = {CATEGORIES[k]: _means(rows[n], truth_colour, labels == k) for k in present}
        overall = {key: float(np.nanmean([pc[key] for pc in per_cat.values()]))
                   for key in next(iter(per_cat.values()))}
        result["variants"][n] = {"overall": overall, "per_category": per_cat}
    sets = test.label_sets[:, : len(CATEGORIES)]  # right as any category the photo is filed in
    top1, top3 = topk_error(probs, labels, 1, sets), topk_error(probs, labels, 3, sets)
    per = {CATEGORIES[k]: {"top1_error": float(top1[labels == k].mean()),
                           "top3_error": float(top3[labels == k].mean()),
                           "photos": int(np.sum(labels == k))} for k in present}
    result["classifier"] = {
        "per_category": per,
        "top1_error": float(np.mean([p["top1_error"] for p in per.values()])),
        "top3_error": float(np.mean([p["top3_error"] for p in per.values()])),
    }
    if sheet_dir is not None and measured["sheets"]:
        result["sheets"] = _write_sheets(measured["sheets"], ["truth", *names], labels,
                                         sheet_dir)
    return result


def _write_sheets(sheets, columns, labels, sheet_dir: Path, thumb: int = 128) -> list[str]:
    """One small JPEG per category: rows of photos, columns truth | variants."""
    sheet_dir.mkdir(parents=True, exist_ok=True)
    by_cat: dict[int, list[list[np.ndarray]]] = {}
    for idx in sorted(sheets):
        by_cat.setdefault(int(labels[idx]), []).append(sheets[idx])
    files = []
    for k, rowset in by_cat.items():
        tiles = [np.concatenate([cv2.resize(im, (thumb, thumb), interpolation=cv2.INTER_AREA)
                                 for im in row], axis=1) for row in rowset]
        img = (np.clip(np.concatenate(tiles, axis=0), 0, 1) * 255 + 0.5).astype(np.uint8)
        path = sheet_dir / f"{CATEGORIES[k]}.jpg"
        atomic_write(path, lambda f, im=img: Image.fromarray(im).save(f, "JPEG", quality=85))
        files.append(path.name)
    atomic_text(sheet_dir / "columns.txt", " | ".join(columns) + "\n")
    return files


#: Report columns: (measure, header, format).
COLUMNS = (
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ab_mse", "ab MSE", "{:.1f}"),
    ("colourfulness_ratio", "colourfulness vs truth", "{:.2f}"),
    ("neutral_chroma", "neutral false colour", "{:.1f}"),
    ("blotch", "blotch", "{:.1f}"),
    ("imagenet_agree", "ImageNet agree", "{:.3f}"),
    ("imagenet_logp", "log p(real top-1)", "{:.2f}"),
)


def _table(variants: dict[str, Any]) -> list[str]:
    lines = ["| variant | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for n, d in variants.items():
        o = d["overall"]
        cells = [fmt.format(o[k]) if o.get(k) is not None and np.isfinite(o[k]) else "n/a"
                 for k, _, fmt in COLUMNS]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return lines


def render_report(result: dict[str, Any], path: Path, sheet_rel: str = "figures") -> str:
    """Markdown tables of a result (docs/results.md)."""
    v = result["variants"]
    judge = result.get("judge", "EfficientNet-Lite2")
    lines = [
        "# Evaluation results",
        "",
        f"Test split: {result['photos']} photos. Means per category, then over categories.",
        "",
        f"- `ImageNet agree`: how often {judge}'s ImageNet top-1 on the photo equals its "
        "top-1 on the real colour photo (our encoder is Lite0: the judge is another "
        "network); `log p(real top-1)`: the mean log-probability it gives that class.",
        "- `neutral false colour`: mean Lab chroma of the output on pixels whose real chroma "
        "is below 5 (grey stone, white walls, overcast skies); the truth has < 5.",
        "- `blotch`: within regions that are one colour in the real photo (connected areas "
        "whose real ab stays in one 10x10 ab cell, >= 1/256 of the photo), the spread "
        "(ab standard deviation) of the output's colour beyond the truth's own, weighted by "
        "area. 0 is one colour per region; read it with the colourfulness ratio.",
        "",
        "## Overall: category test split",
        "",
        *_table(v),
    ]
    if result.get("general"):
        g = result["general"]
        lines += ["", "## Overall: general held-out set", "",
                  f"{g['photos']} photos of none of the categories ({g.get('source', '')}); "
                  "means over photos.", "", *_table(g["variants"])]
    for note in result.get("notes", []):
        lines += ["", note]
    if result.get("baselines"):
        lines += ["", "Baselines (not the default): "
                  + "; ".join(f"**{a}**: {note}" for a, note in result["baselines"].items()),
                  ]
    cats = list(next(iter(v.values()))["per_category"])
    for metric, fmt in (("psnr", "{:.2f}"), ("colourfulness_ratio", "{:.2f}"),
                        ("imagenet_agree", "{:.2f}"), ("ab_mse", "{:.0f}"),
                        ("neutral_chroma", "{:.1f}"), ("blotch", "{:.1f}")):
        lines += ["", f"## {metric} per category", "",
                  "| category | " + " | ".join(v) + " |",
                  "|---|" + "---:|" * len(v)]
        for cat in cats:
            lines.append(f"| {cat} | " + " | ".join(
                _cell(fmt, v[n]["per_category"][cat][metric]) for n in v) + " |")
    clf = result["classifier"]
    lines += ["", "## Classifier (the paper's Table I)", "",
              f"Mean over categories: top-1 error {clf['top1_error']:.3f}, "
              f"top-3 error {clf['top3_error']:.3f}.", "",
              "| category | photos | top-1 error | top-3 error |", "|---|---:|---:|---:|"]
    for cat, d in clf["per_category"].items():
        lines.append(f"| {cat} | {d['photos']} | {d['top1_error']:.3f} | {d['top3_error']:.3f} |")
    if result.get("sheets"):
        lines += ["", "## Figure sheets", "",
                  "Columns: " + (path.parent / sheet_rel / "columns.txt").read_text().strip(),
                  ""]
        lines += [f"![{f[:-4]}]({sheet_rel}/{f})" for f in result["sheets"]]
    text = keep_written_blocks("\n".join(lines) + "\n", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(path, text)
    return text


#: Around text written by hand (or by another benchmark) inside a generated report.
KEPT_BEGIN, KEPT_END = "<!-- kept: begin -->", "<!-- kept: end -->"


def keep_written_blocks(text: str, path: Path) -> str:
    """``text`` with the kept blocks of the report already at ``path`` carried over.

    A block between ``KEPT_BEGIN`` and ``KEPT_END`` lines (notes on what was
    measured, the colour-pins benchmark) is put back after the same generated
    heading it followed before, or at the end if that heading is gone, so
    regenerating the report never loses what no generator writes.
    """
    if not path.is_file():
        return text
    blocks: list[tuple[str | None, list[str]]] = []
    heading: str | None = None
    block: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if block is not None:
            block.append(line)
            if line.strip() == KEPT_END:
                blocks.append((heading, block))
                block = None
        elif line.strip() == KEPT_BEGIN:
            block = [line]
        elif line.startswith("#"):
            heading = line.strip()
    if block is not None:
        raise ValueError(f"{path}: a '{KEPT_BEGIN}' block has no '{KEPT_END}' line")
    if not blocks:
        return text
    out = text.rstrip("\n").split("\n")
    headings = [i for i, line in enumerate(out) if line.startswith("#")]
    placed: dict[int, list[str]] = {}
    tail: list[str] = []
    for after, lines in blocks:
        at = next((i for i in headings if out[i].strip() == after), None)
        if at is None:
            tail += ["", *lines]
            continue
        end = next((j for j in headings if j > at), len(out))  # the end of that section
        placed.setdefault(end, []).extend(["", *lines])
    merged: list[str] = []
    for i, line in enumerate(out):
        if i in placed:
            merged += [*placed[i], ""]
        merged.append(line)
    merged += placed.get(len(out), []) + tail
    return "\n".join(merged) + "\n"


def _cell(fmt: str, x: Any) -> str:
    """A table cell: the number formatted, or "n/a" for what is missing or not finite."""
    ok = isinstance(x, int | float | np.floating) and np.isfinite(x)
    return fmt.format(x) if ok else "n/a"


def run_evaluation(prepared, models_dir, report: Path, runs=(), limit=None,
                   update_manifest: bool = False, general_limit: int | None = None,
                   general_dir: Path | None = None,
                   cache_dir: Path | None = None,
                   general_split: str = "test") -> dict[str, Any]:
    """Evaluate, write ``report`` (.md) and its .json, the sheets beside it.

    ``runs``: extra models folders measured beside, as paths or LABEL=PATH.
    ``general_split``: which held-out part of the general pool is reported; "test"
    by default, since ``calibrate`` fits the decoding on the "val" part.
    """
    test = load_split(prepared, "test", limit)
    general = load_general(prepared, general_limit, general_dir, split=general_split)
    if not len(general):
        print("no general held-out set: the prepared folder has none and no --general-dir")
    extra = {}
    for r in runs:
        label, _, path = str(r).rpartition("=")
        extra[label or Path(path).name] = Path(path)
    cache = cache_dir if cache_dir is not None else Path(prepared) / "cache"
    result = evaluate(test, models_dir, extra, sheet_dir=report.parent / "figures",
                      general=general, cache_dir=cache)
    write_json(report.with_suffix(".json"), result)
    render_report(result, report)
    if update_manifest:
        _update_manifest(models_dir, result)
    return result


def write_json(path: Path, data: Any) -> None:
    """JSON with NaN written as null (a photo set without neutral pixels), atomically."""
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not np.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    atomic_json(path, clean(data), indent=1)


def _update_manifest(models_dir, result: dict[str, Any]) -> None:
    c = Colorizer(models_dir)
    manifest = dict(c.store.manifest)
    v = result["variants"]
    arch = manifest["colorizers"][manifest["default_architecture"]]
    for name, entry in arch["models"].items():
        key = "universal" if name == UNIVERSAL else "true category"
        scope = v[key]["overall"] if name == UNIVERSAL else v[key]["per_category"].get(name, {})
        entry["metrics"] = {k: round(x, 4) for k, x in scope.items() if np.isfinite(x)}
    manifest["classifier"]["metrics"] = {
        "top1_error": round(result["classifier"]["top1_error"], 4),
        "top3_error": round(result["classifier"]["top3_error"], 4),
    }
    manifest["evaluation"] = {n: {k: round(x, 4) for k, x in d["overall"].items()
                                  if np.isfinite(x)} for n, d in v.items()}
    write_manifest(c.store.root, manifest)
    assert (c.store.root / MANIFEST).is_file()
