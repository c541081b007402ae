"""The evaluation report: how good the shipped models are, in numbers and pictures.

On the test split, per category and overall, for gray (no colour), the
universal model, the category model given the true category, hard routing on
the predicted category, soft routing, and a deliberately wrong category (the
paper's Fig. 9): PSNR, ab MSE, colourfulness and its ratio to the truth, and
how often an ImageNet classifier agrees with its verdict on the real colour
photo. Plus the classifier's top-1 / top-3 error per category (Table I).
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
from core.categories import CATEGORIES, UNIVERSAL
from core.engine import Colorizer
from core.filesafe import atomic_json, atomic_text, atomic_write
from core.store import MANIFEST, write_manifest
from core.training.dataset import Split, load_split
from core.training.metrics import ab_mse, colourfulness, psnr, topk_error

#: fn(analysis, true label, uint8 photo) -> RGB
Variant = Callable[[Any, int, np.ndarray], np.ndarray]


def _variants(c: Colorizer) -> dict[str, Variant]:
    """The compared ways of colouring a test photo, by name."""
    models = c.store.colorizers(c.architecture)

    def own(cat: str) -> str:
        return cat if cat in models else UNIVERSAL

    def wrong(a) -> str:  # the category model the classifier finds least likely
        candidates = [m for m in models if m != UNIVERSAL]
        return min(candidates, key=lambda m: a.confidences[m])

    v: dict[str, Variant] = {
        "gray": lambda a, y, im: lab.compose(a.L, np.zeros(a.L.shape + (2,), np.float32)),
        "universal": lambda a, y, im: c.render_with(a, {UNIVERSAL: 1.0}),
        "true category": lambda a, y, im: c.render_with(a, {own(CATEGORIES[y]): 1.0}),
        "hard routing": lambda a, y, im: c.render(a, "auto", routing="hard").rgb,
        "soft routing": lambda a, y, im: c.render(a, "auto", routing="soft").rgb,
        "wrong category": lambda a, y, im: c.render_with(a, {wrong(a): 1.0}),
    }
    return v


def _extra_universal(c: Colorizer) -> Variant:
    return lambda a, y, im: c.render_with(c.analyze(im), {UNIVERSAL: 1.0})


def _extra_soft(c: Colorizer) -> Variant:
    return lambda a, y, im: c.colorize(im).rgb


def _imagenet_model():
    from core.nets.efficientnet_lite import build_efficientnet_lite

    return build_efficientnet_lite("lite0", input_channels=3, include_top=True,
                                   weights="imagenet", image_size=(224, 224))


def _imagenet_top1(model, images: list[np.ndarray]) -> np.ndarray:
    batch = np.stack([cv2.resize(im, (224, 224), interpolation=cv2.INTER_AREA) for im in images])
    return np.argmax(model.predict_on_batch(batch.astype(np.float32)), axis=-1)


def evaluate(
    test: Split,
    models_dir: str | Path | None = None,
    extra_models: dict[str, Path] | None = None,
    sheet_dir: Path | None = None,
    batch: int = 16,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """All measures on ``test``; returns a JSON-able dict (per variant, per category)."""
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
    extras = {name: Colorizer(path) for name, path in (extra_models or {}).items()}
    for name, ec in extras.items():
        variants[f"{name} (universal)"] = _extra_universal(ec)
        variants[f"{name} (soft routing)"] = _extra_soft(ec)
    inet = _imagenet_model()
    names = list(variants)
    rows: dict[str, dict[str, list[float]]] = {
        n: {"psnr": [], "ab_mse": [], "colourfulness": [], "imagenet_agree": []} for n in names
    }
    truth_colour: list[float] = []
    probs = np.zeros((len(test), len(CATEGORIES)))
    sheets: dict[int, list[np.ndarray]] = {}
    sheet_pick = _sheet_indices(test)
    t0 = time.perf_counter()
    for start in range(0, len(test), batch):
        imgs = test.images[start : start + batch]
        analyses = c.analyze_batch(list(imgs))
        outs: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for i, a in enumerate(analyses):
            idx = start + i
            y = int(test.labels[idx])
            probs[idx] = [a.confidences[k] for k in CATEGORIES]
            for n in names:
                outs[n].append(variants[n](a, y, imgs[i]))
        truth = [lab.to_float_rgb(im) for im in imgs]
        truth_colour += [colourfulness(t) for t in truth]
        ref = _imagenet_top1(inet, list(imgs))
        for n in names:
            pred = _imagenet_top1(inet, [(o * 255 + 0.5).astype(np.uint8) for o in outs[n]])
            for o, t, agree in zip(outs[n], truth, pred == ref):
                rows[n]["psnr"].append(psnr(o, t))
                rows[n]["ab_mse"].append(ab_mse(o, t))
                rows[n]["colourfulness"].append(colourfulness(o))
                rows[n]["imagenet_agree"].append(float(agree))
        for i in range(len(imgs)):
            if start + i in sheet_pick:
                sheets[start + i] = [truth[i]] + [outs[n][i] for n in names]
        done = min(start + batch, len(test))
        log(f"evaluated {done}/{len(test)} photos ({time.perf_counter() - t0:.0f} s)")
    result = _summarise(test, names, rows, np.array(truth_colour), probs, sheets, sheet_dir)
    result["baselines"] = {a: c.store.colorizer_info(a).get("note", "")
                           for a in c.store.architectures if a != c.architecture}
    return result


def _sheet_indices(test: Split, per_category: int = 2) -> set[int]:
    pick: set[int] = set()
    for k in range(len(CATEGORIES)):
        pick.update(np.nonzero(test.labels == k)[0][:per_category].tolist())
    return pick


def _summarise(test, names, rows, truth_colour, probs, sheets, sheet_dir) -> dict[str, Any]:
    labels = test.labels
    present = [k for k in range(len(CATEGORIES)) if np.any(labels == k)]
    result: dict[str, Any] = {"photos": len(test), "variants": {}, "classifier": {}}
    for n in names:
        per_cat = {}
        arr = {m: np.array(v) for m, v in rows[n].items()}
        for k in present:
            m = labels == k
            per_cat[CATEGORIES[k]] = {
                "psnr": float(arr["psnr"][m].mean()),
                "ab_mse": float(arr["ab_mse"][m].mean()),
                "colourfulness": float(arr["colourfulness"][m].mean()),
                "colourfulness_ratio": float(arr["colourfulness"][m].mean()
                                             / max(truth_colour[m].mean(), 1e-9)),
                "imagenet_agree": float(arr["imagenet_agree"][m].mean()),
            }
        overall = {key: float(np.mean([pc[key] for pc in per_cat.values()]))
                   for key in next(iter(per_cat.values()))}
        result["variants"][n] = {"overall": overall, "per_category": per_cat}
    top1, top3 = topk_error(probs, labels, 1), topk_error(probs, labels, 3)
    per = {CATEGORIES[k]: {"top1_error": float(top1[labels == k].mean()),
                           "top3_error": float(top3[labels == k].mean()),
                           "photos": int(np.sum(labels == k))} for k in present}
    result["classifier"] = {
        "per_category": per,
        "top1_error": float(np.mean([p["top1_error"] for p in per.values()])),
        "top3_error": float(np.mean([p["top3_error"] for p in per.values()])),
    }
    if sheet_dir is not None and sheets:
        result["sheets"] = _write_sheets(sheets, ["truth", *names], labels, sheet_dir)
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


def render_report(result: dict[str, Any], path: Path, sheet_rel: str = "figures") -> str:
    """Markdown tables of a result (docs/results.md)."""
    v = result["variants"]
    lines = [
        "# Evaluation results",
        "",
        f"Test split: {result['photos']} photos. Means per category, then over categories.",
        "`imagenet agree`: how often EfficientNet-Lite0's ImageNet top-1 on the photo equals "
        "its top-1 on the real colour photo.",
        "",
        "## Overall",
        "",
        "| variant | PSNR dB | ab MSE | colourfulness | ratio to truth | imagenet agree |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n, d in v.items():
        o = d["overall"]
        lines.append(f"| {n} | {o['psnr']:.2f} | {o['ab_mse']:.1f} | {o['colourfulness']:.1f} "
                     f"| {o['colourfulness_ratio']:.2f} | {o['imagenet_agree']:.3f} |")
    if result.get("baselines"):
        lines += ["", "Baselines (not the default): "
                  + "; ".join(f"**{a}**: {note}" for a, note in result["baselines"].items()),
                  ]
    cats = list(next(iter(v.values()))["per_category"])
    for metric, fmt in (("psnr", "{:.2f}"), ("colourfulness_ratio", "{:.2f}"),
                        ("imagenet_agree", "{:.2f}"), ("ab_mse", "{:.0f}")):
        lines += ["", f"## {metric} per category", "",
                  "| category | " + " | ".join(v) + " |",
                  "|---|" + "---:|" * len(v)]
        for cat in cats:
            lines.append(f"| {cat} | " + " | ".join(
                fmt.format(v[n]["per_category"][cat][metric]) for n in v) + " |")
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
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(path, text)
    return text


def run_evaluation(prepared, models_dir, report: Path, runs=(), limit=None,
                   update_manifest: bool = False) -> dict[str, Any]:
    test = load_split(prepared, "test", limit)
    extra = {Path(r).name: Path(r) for r in runs}
    result = evaluate(test, models_dir, extra, sheet_dir=report.parent / "figures")
    atomic_json(report.with_suffix(".json"), result, indent=1)
    render_report(result, report)
    if update_manifest:
        _update_manifest(models_dir, result)
    return result


def _update_manifest(models_dir, result: dict[str, Any]) -> None:
    c = Colorizer(models_dir)
    manifest = dict(c.store.manifest)
    v = result["variants"]
    arch = manifest["colorizers"][manifest["default_architecture"]]
    for name, entry in arch["models"].items():
        key = "universal" if name == UNIVERSAL else "true category"
        scope = v[key]["overall"] if name == UNIVERSAL else v[key]["per_category"].get(name, {})
        entry["metrics"] = {k: round(x, 4) for k, x in scope.items()}
    manifest["classifier"]["metrics"] = {
        "top1_error": round(result["classifier"]["top1_error"], 4),
        "top3_error": round(result["classifier"]["top3_error"], 4),
    }
    manifest["evaluation"] = {n: {k: round(x, 4) for k, x in d["overall"].items()}
                              for n, d in v.items()}
    write_manifest(c.store.root, manifest)
    assert (c.store.root / MANIFEST).is_file()
