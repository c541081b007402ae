"""Evaluation where users are: held-out photo sets by source, not by our category pool.

The category test split flatters the models: its photos come from the same
sources as their training photos. Users bring everyday objects, people,
period photographs and faded, cracked prints. Each set here is held out as a
whole source (never split across train and test, ``scripts/build_world_pool.py``
marks them ``split=test``), plus the prepared general test split and the same
general photos degraded like old prints (``core.oldprint``; the truth stays the
clean colour photo). Every set is measured for gray (the input as it is), and
for one or more models folders side by side ("before" = the shipped models,
"after" = a new folder), with evaluate.py's measures plus the PSNR difference
to gray per photo, the one number that says whether colour helped *this*
photo. Means hide the failures users see, so the worst photos of every model
go on figure sheets.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import lab, oldprint
from core.categories import GENERAL
from core.filesafe import atomic_text
from core.training.dataset import WORLD_MANIFEST, read_square, world_rows
from core.training.evaluate import (
    MEASURES,
    _cell,
    _means,
    keep_written_blocks,
    photo_measures,
    write_json,
)
from core.training.figures import gray_samples, write_sheet
from core.training.metrics import colourfulness
from core.training.prepare import read_index
from core.training.recognition import ImageNetJudge, Judge, Verdicts, recognition, to_uint8

#: Set order in the report: the world pool's kinds first, then ours.
KIND_ORDER = ("objects", "people", "period", "streets")
GENERAL_SET, OLD_PRINTS = "general", "old prints"
#: The gray baseline's name among the variants (the input with no colour).
GRAY = "gray"
#: Photos per worst-case sheet.
WORST_N = 8
#: Sheet tile side: 8 rows x 4 columns stay well under 300 kB as JPEG.
SHEET_SIDE = 160


@dataclass
class HeldOut:
    """One held-out set, Split-like: clean colour truths and what the colorizer is given.

    ``images``: the truths, uint8 (N, 256, 256, 3). ``inputs``: what the
    colorizer sees, or None when it sees the truth's own lightness (the
    colorizer reads nothing else). ``damage``: per photo, the old print's
    local damage ("damaged" / "faded") or "".
    """

    name: str
    images: np.ndarray
    files: list[str]
    source: str
    labels: list[str] = field(default_factory=list)
    inputs: np.ndarray | None = None
    damage: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = self.labels or [""] * len(self.files)
        self.damage = self.damage or [""] * len(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def given(self) -> np.ndarray:
        """The photos the colorizer is handed."""
        return self.images if self.inputs is None else self.inputs


def _spread(n: int, limit: int | None) -> np.ndarray:
    """``limit`` indices spread evenly over ``n`` rows (every class of a sorted source)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _stack(images: list[np.ndarray]) -> np.ndarray:
    return np.stack(images) if images else np.zeros((0, 256, 256, 3), np.uint8)


def world_kind(row: Mapping[str, str]) -> str:
    """A manifest row's set: its kind, but PACS photos by class folder (``person`` = people)."""
    kind = row.get("kind", "")
    if row.get("source", "").lower() == "pacs":
        folders = row.get("path", "").split("/")[:-1]
        kind = "people" if "person" in folders or row.get("label") == "person" else "objects"
    return kind


def load_world(world_dir: str | Path, limit_per_set: int | None = None) -> dict[str, HeldOut]:
    """The world pool's held-out (``split=test``) photos, one set per kind."""
    world_dir = Path(world_dir)
    if not (world_dir / WORLD_MANIFEST).is_file():
        return {}
    by_kind: dict[str, list[dict[str, str]]] = {}
    for r in world_rows(world_dir, "test"):
        by_kind.setdefault(world_kind(r), []).append(r)
    kinds = [k for k in KIND_ORDER if k in by_kind] + sorted(set(by_kind) - set(KIND_ORDER))
    sets = {}
    for kind in kinds:
        mine = sorted(by_kind[kind], key=lambda r: (r["source"], r["file"]))
        picked = [mine[i] for i in _spread(len(mine), limit_per_set)]
        sources = sorted({r["source"] for r in picked})
        sets[kind] = HeldOut(
            kind, _stack([read_square(world_dir / r["file"]) for r in picked]),
            [r["file"] for r in picked], f"{', '.join(sources)} (world pool, held out)",
            [r.get("label", "") for r in picked])
    return sets


def load_general_test(prepared: str | Path, limit: int | None = None) -> HeldOut:
    """The prepared general pool's test split (photos of none of the categories)."""
    prepared = Path(prepared)
    rows = []
    if (prepared / "index.csv").is_file():
        rows = sorted((r for r in read_index(prepared)
                       if r.category == GENERAL and r.split == "test"
                       and (prepared / r.file).is_file()), key=lambda r: r.file)
    picked = [rows[i] for i in _spread(len(rows), limit)]
    return HeldOut(GENERAL_SET, _stack([read_square(prepared / r.file) for r in picked]),
                   [r.file for r in picked], "the prepared general test split")


def print_seed(file: str, seed: int = 0) -> int:
    """A photo's fixed old-print seed: the same print on every run and machine."""
    return zlib.crc32(file.encode("utf-8")) ^ seed


def old_prints(general: HeldOut, seed: int = 0) -> HeldOut:
    """``general`` as scans of old prints: the input's lightness degraded by core.oldprint.

    Every other photo gets local damage (scratches, dust, tears, stains), the
    rest only what the whole print suffers (fading, grain, blur, JPEG). The
    input is neutral gray (a scan as users bring it); the truth stays the
    clean colour photo, so the damage costs PSNR for gray and models alike.
    """
    inputs, damage = [], []
    for i, (im, f) in enumerate(zip(general.images, general.files)):
        g = np.clip(lab.luminance(im) * 2.55 + 0.5, 0, 255).astype(np.uint8)
        damaged = i % 2 == 0
        scan = oldprint.simulate(g, np.random.default_rng(print_seed(f, seed)), damage=damaged)
        gray = lab.gray_rgb(scan.gray.astype(np.float32) / 2.55)
        inputs.append(to_uint8(np.repeat(gray[..., None], 3, axis=-1)))
        damage.append("damaged" if damaged else "faded")
    return HeldOut(OLD_PRINTS, general.images, list(general.files),
                   "the general test photos as simulated old prints (core.oldprint, fixed "
                   "seed per photo; half with local damage, half faded only)",
                   list(general.labels), _stack(inputs), damage)


def held_out_sets(world_dir: str | Path | None, prepared: str | Path | None,
                  limit_per_set: int | None = None, seed: int = 0) -> dict[str, HeldOut]:
    """Every held-out set that has photos: the world pool's kinds, general, old prints."""
    sets = load_world(world_dir, limit_per_set) if world_dir is not None else {}
    if prepared is not None:
        general = load_general_test(prepared, limit_per_set)
        if len(general):
            sets[GENERAL_SET] = general
            sets[OLD_PRINTS] = old_prints(general, seed)
    return sets


# --------------------------------------------------------------------------- measuring


def _colourers(models_dirs: Mapping[str, Path]) -> dict[str, Any]:
    from core.engine import Colorizer

    return {label: Colorizer(path) for label, path in models_dirs.items()}


def evaluate_world(models_dirs: Mapping[str, str | Path], sets: Mapping[str, HeldOut],
                   judge: Judge | None = None, batch: int = 16,
                   log: Callable[[str], None] = print, cache_dir: Path | None = None,
                   sheet_dir: Path | None = None, worst_n: int = WORST_N) -> dict[str, Any]:
    """Gray and every models folder (as shipped: soft routing) on every set; JSON-able.

    Per set and variant: the means (evaluate.py's, plus ``psnr_gain``: PSNR
    minus gray's on the same photo) and the per-photo arrays; per model the
    ``worst_n`` photos with the lowest PSNR gain; with ``sheet_dir``, a sheet
    of them per set and model (truth | input | every model) and one of real
    gray photos.
    """
    colourers = _colourers({k: Path(v) for k, v in models_dirs.items()})
    labels = list(colourers)
    judge = judge or ImageNetJudge()
    verdicts = Verdicts(judge, cache_dir / f"verdicts-world-{judge.name}.json"
                        if cache_dir else None)
    result: dict[str, Any] = {"judge": judge.name, "models": {k: str(v) for k, v in
                                                              models_dirs.items()},
                              "worst_n": worst_n, "sets": {}}
    t0 = time.perf_counter()
    for name, held in sets.items():
        if not len(held):
            continue
        measured, outs = _measure_set(held, colourers, verdicts, batch, log)
        entry = _summarise_set(held, measured, labels, worst_n)
        if sheet_dir is not None:
            entry["sheets"] = _worst_sheets(held, entry, outs, labels, sheet_dir)
        result["sets"][name] = entry
        log(f"{name}: {len(held)} photos done ({time.perf_counter() - t0:.0f} s)")
    if sheet_dir is not None:
        result["real_gray_sheet"] = _real_gray_sheet(colourers, sheet_dir)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _measure_set(held: HeldOut, colourers: Mapping[str, Any], verdicts: Verdicts,
                 batch: int, log: Callable[[str], None]
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Per-photo measures of gray and every model; their outputs as uint8 (for sheets)."""
    names = [GRAY, *colourers]
    rows: dict[str, dict[str, list[float]]] = {n: {m: [] for m in MEASURES} for n in names}
    outs: dict[str, list[np.ndarray]] = {n: [] for n in names}
    truth_colour: list[float] = []
    given = held.given()
    t0 = time.perf_counter()
    for start in range(0, len(held), batch):
        end = min(start + batch, len(held))
        truth_u8 = list(held.images[start:end])
        batch_out: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for label, c in colourers.items():
            analyses = c.analyze_batch(list(given[start:end]))
            batch_out[label] = [c.render(a, "auto", routing="soft").rgb for a in analyses]
            if not batch_out[GRAY]:  # the input as it is: its lightness, no colour
                batch_out[GRAY] = [lab.compose(a.L, np.zeros(a.L.shape + (2,), np.float32))
                                   for a in analyses]
        if not batch_out[GRAY]:
            from core.engine import lightness

            batch_out[GRAY] = [lab.compose(L, np.zeros(L.shape + (2,), np.float32))
                               for L in (lightness(im) for im in given[start:end])]
        truth = [lab.to_float_rgb(im) for im in truth_u8]
        truth_colour += [colourfulness(t) for t in truth]
        keys = [_verdict_key(held, f) for f in held.files[start:end]]
        ref = verdicts.top1(keys, truth_u8)
        for n in names:
            u8 = [to_uint8(o) for o in batch_out[n]]
            agree, logp = recognition(verdicts.judge.log_probs(u8), ref)
            for o, t, g, lp in zip(batch_out[n], truth, agree, logp):
                for m, x in photo_measures(o, t).items():
                    rows[n][m].append(x)
                rows[n]["imagenet_agree"].append(float(g))
                rows[n]["imagenet_logp"].append(float(lp))
            outs[n] += u8
        log(f"  {held.name}: {end}/{len(held)} ({time.perf_counter() - t0:.0f} s)")
    measured = {"rows": {n: {m: np.array(v, np.float64) for m, v in r.items()}
                         for n, r in rows.items()},
                "truth_colour": np.array(truth_colour)}
    return measured, {n: _stack(v) for n, v in outs.items()}


def _verdict_key(held: HeldOut, file: str) -> str:
    """The judge's cache key of a truth: old prints share the general photos' verdicts."""
    where = "prepared" if held.name in (GENERAL_SET, OLD_PRINTS) else "world"
    return f"{where}:{file}"


def worst_cases(gain: np.ndarray, n: int = WORST_N) -> list[int]:
    """Indices of the ``n`` lowest finite PSNR gains over gray, worst first."""
    g = np.where(np.isfinite(gain), gain, np.inf)
    return [int(i) for i in np.argsort(g, kind="stable")[:n] if np.isfinite(g[i])]


def _summarise_set(held: HeldOut, measured: dict[str, Any], labels: list[str],
                   worst_n: int) -> dict[str, Any]:
    rows, truth_colour = measured["rows"], measured["truth_colour"]
    gray_psnr = rows[GRAY]["psnr"]
    variants = {}
    for n, r in rows.items():
        gain = r["psnr"] - gray_psnr
        means = _means(r, truth_colour)
        means["psnr_gain"] = float(np.nanmean(gain))
        means["below_gray"] = float(np.mean(gain < -0.05))  # photos colour made worse
        means["psnr_gain_p10"] = float(np.nanpercentile(gain, 10))
        per_photo = {m: [round(float(x), 4) for x in v] for m, v in r.items()}
        per_photo["psnr_gain"] = [round(float(x), 4) for x in gain]
        variants[n] = {"means": means, "per_photo": per_photo}
    worst = {label: worst_cases(np.array(variants[label]["per_photo"]["psnr_gain"]), worst_n)
             for label in labels}
    return {"photos": len(held), "source": held.source, "files": list(held.files),
            "labels": list(held.labels), "damage": list(held.damage),
            "truth_colourfulness": [round(float(x), 3) for x in truth_colour],
            "variants": variants, "worst": worst}


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_").lower()


def _worst_sheets(held: HeldOut, entry: dict[str, Any], outs: dict[str, np.ndarray],
                  labels: list[str], sheet_dir: Path) -> list[str]:
    """A sheet per model: its worst photos, columns truth | input | every model."""
    files = []
    for label in labels:
        picked = entry["worst"][label]
        if not picked:
            continue
        grid = [[held.images[i], outs[GRAY][i], *(outs[m][i] for m in labels)] for i in picked]
        path = sheet_dir / f"worst_{_slug(held.name)}_{_slug(label)}.jpg"
        files.append(write_sheet(path, grid, side=SHEET_SIDE).name)
    return files


def _real_gray_sheet(colourers: Mapping[str, Any], sheet_dir: Path) -> str | None:
    """Real gray photos (no truth): gray | every model."""
    photos = gray_samples()
    if not photos:
        return None
    grid = [[g, *(c.colorize(g).rgb for c in colourers.values())] for g in photos]
    return write_sheet(sheet_dir / "real_gray.jpg", grid, side=SHEET_SIDE).name


# --------------------------------------------------------------------------- the report

#: Report columns: (key in the means, header, format).
COLUMNS = (
    ("psnr", "PSNR dB", "{:.2f}"),
    ("psnr_gain", "Δ vs gray", "{:+.2f}"),
    ("below_gray", "worse than gray", "{:.0%}"),
    ("psnr_gain_p10", "Δ 10th pct", "{:+.2f}"),
    ("ab_mse", "ab MSE", "{:.1f}"),
    ("colourfulness_ratio", "colourfulness vs truth", "{:.2f}"),
    ("neutral_chroma", "neutral false colour", "{:.1f}"),
    ("blotch", "blotch", "{:.1f}"),
    ("imagenet_agree", "judge agree", "{:.3f}"),
    ("imagenet_logp", "judge log p", "{:.2f}"),
)


def render(result: dict[str, Any], path: Path, sheet_rel: str = "figures/world",
           notes: Sequence[str] = ()) -> str:
    """docs/world.md: a table per set, its worst photos, the sheets; kept blocks survive."""
    judge = result.get("judge", "EfficientNet-Lite2")
    models = result.get("models", {})
    lines = [
        "# Evaluation where users are",
        "",
        "Held-out sets by source (whole sources never trained on), measured for gray (the "
        "input with no colour) and each models folder as shipped (soft routing): "
        + ", ".join(f"**{k}** = `{v}`" for k, v in models.items()) + ".",
        "Made by `python main.py evaluate-world` (core/training/world_eval.py); means over "
        "photos.",
        "",
        "- `Δ vs gray`: PSNR minus gray's PSNR on the same photo (0 for gray by definition); "
        "`worse than gray`: the share of photos whose Δ is below -0.05 dB; `Δ 10th pct`: the "
        "10th percentile of Δ (the bad tail).",
        "- `neutral false colour`: mean Lab chroma of the output where the truth's chroma is "
        "below 5; `blotch`: spread of the output's colour inside regions of one real colour "
        "(see docs/results.md).",
        f"- `judge agree`: how often {judge}'s ImageNet top-1 equals its top-1 on the real "
        "colour photo (not our encoder); `judge log p`: its mean log-probability of that class.",
        "- Old prints: the truth is the clean colour photo, so the print's damage costs gray "
        "and the models alike; `Δ vs gray` is against the old print itself.",
    ]
    for name, s in result["sets"].items():
        lines += ["", f"## {name}", "", f"{s['photos']} photos: {s['source']}.", "",
                  "| variant | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
                  "|---|" + "---:|" * len(COLUMNS)]
        for v, d in s["variants"].items():
            lines.append(f"| {v} | " + " | ".join(_cell(fmt, d["means"].get(k))
                                                  for k, _, fmt in COLUMNS) + " |")
        for label, picked in s["worst"].items():
            gains = s["variants"][label]["per_photo"]["psnr_gain"]
            cases = ", ".join(f"`{s['files'][i]}`"
                              + (f" ({s['labels'][i]})" if s["labels"][i] else "")
                              + (f" [{s['damage'][i]}]" if s["damage"][i] else "")
                              + f" {gains[i]:+.2f} dB" for i in picked)
            lines += ["", f"Worst of **{label}** (lowest Δ vs gray): {cases}."]
        for f in s.get("sheets", []):
            lines += ["", f"![{f[:-4]}]({sheet_rel}/{f})"]
    cols = " | ".join(["truth", "input (gray / old print)", *models])
    lines += ["", "## Figure sheets", "",
              f"Worst-case sheets (`worst_<set>_<model>.jpg`), one row per photo: {cols}. "
              "Real gray photos (`real_gray.jpg`, no truth): gray | " + " | ".join(models) + "."]
    if result.get("real_gray_sheet"):
        lines += ["", f"![real gray photos]({sheet_rel}/{result['real_gray_sheet']})"]
    for note in notes:
        lines += ["", note]
    text = keep_written_blocks("\n".join(lines) + "\n", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(path, text)
    return text


def parse_models(specs: Sequence[str]) -> dict[str, Path]:
    """``LABEL=DIR`` (or a bare DIR, labelled by its name) -> {label: path}, in order."""
    out: dict[str, Path] = {}
    for spec in specs:
        label, _, path = str(spec).rpartition("=")
        out[label or Path(path).name] = Path(path)
    return out


def run_world(world_dir: Path, prepared: Path, models: Sequence[str], report: Path,
              limit: int | None = None, cache_dir: Path | None = None, batch: int = 16,
              seed: int = 0, notes: Sequence[str] = ()) -> dict[str, Any]:
    """Load the sets, evaluate, write ``report`` (.md), its .json and the sheets."""
    t0 = time.perf_counter()
    sets = held_out_sets(world_dir, prepared, limit, seed)
    if not sets:
        raise SystemExit(f"no held-out photos: neither {world_dir / WORLD_MANIFEST} nor "
                         f"{prepared / 'index.csv'} has any")
    print("sets: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items())
          + f" (loaded in {time.perf_counter() - t0:.0f} s)")
    sheet_dir = report.parent / "figures" / "world"
    result = evaluate_world(parse_models(models), sets, batch=batch, cache_dir=cache_dir,
                            sheet_dir=sheet_dir)
    result["limit_per_set"] = limit
    write_json(report.with_suffix(".json"), result)
    render(result, report, sheet_rel=str(sheet_dir.relative_to(report.parent)), notes=notes)
    return result
